package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

// The push-by-digest mode of the build (a CI runner's half of a release):
// each platform is pushed by digest as in every build, then verified by
// that digest on its own (verifyByDigest: there is no index), and the
// publish step writes the digest file instead of tags (publishDigests).
// `xbuild merge` (MergeSteps) assembles, verifies and tags the index.

// byDigestNotice says, once, that the tags of a push-by-digest build are
// not written: only their repository is used. The implicit IMAGE:latest of
// a config without tags is not worth a word.
func byDigestNotice(s *State) {
	if len(s.Config.Tags) == 0 {
		return
	}
	var ignored []string
	for _, r := range s.Config.Refs() {
		if r != s.repo {
			ignored = append(ignored, r)
		}
	}
	if len(ignored) > 0 {
		s.Log.Info("push-by-digest: the platforms go to %s by digest; the tag in %s is ignored here (xbuild merge writes the tags)", s.repo, strings.Join(ignored, ", "))
	}
}

// verifyByDigest verifies each platform's push by its digest (the same
// checks as a build's verify, on that platform alone: platform, config,
// every ELF file, compression, proxy hygiene, size budget). The results are
// one report: its checks carry their platform, its images are keyed by
// platform, as the report step reads them.
func verifyByDigest(ctx context.Context, s *State) error {
	reg, err := s.registry()
	if err != nil {
		return err
	}
	budget := sizeBudget(s.Config.SizeBudget)
	reps := make([]*VerifyReport, len(s.Platforms))
	errs := make([]error, len(s.Platforms))
	var wg sync.WaitGroup
	for i, r := range s.Platforms {
		wg.Go(func() {
			reps[i], errs[i] = verifyOnePlatform(ctx, reg, s, r, budget)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	all := &VerifyReport{Ref: s.repo, Images: map[string]*registry.Image{}}
	s.platformChecks = map[string]int{}
	for i, rep := range reps {
		p := s.Platforms[i].Platform
		for _, c := range rep.Checks {
			if c.Platform == "" {
				c.Platform = p
			}
			all.Checks = append(all.Checks, c)
			if c.OK {
				s.platformChecks[p]++
			}
		}
		for k, img := range rep.Images {
			all.Images[k] = img
		}
		all.Platforms = append(all.Platforms, rep.Platforms...)
	}
	all.OK = len(all.Failed()) == 0
	s.Verify = all
	if all.OK {
		return nil
	}
	var lines []string
	for _, c := range all.Failed() {
		lines = append(lines, fmt.Sprintf("%s %s: %s", c.Platform, c.Name, c.Detail))
	}
	return fmt.Errorf("%d check(s) failed on the platforms pushed by digest to %s:\n  %s\nno digest file was written: a merge cannot pick them up",
		len(lines), s.repo, s.Secrets.String(strings.Join(lines, "\n  ")))
}

// verifyOnePlatform verifies r's push (or, with verify off, reads its
// sizes for the budget).
func verifyOnePlatform(ctx context.Context, reg Registry, s *State, r *PlatformResult, budget int64) (*VerifyReport, error) {
	if r.Pushed == "" {
		return nil, fmt.Errorf("the %s build reported no image digest", r.Platform)
	}
	ref := s.repo + "@" + r.Pushed
	if s.Config.Verify {
		return Verify(ctx, reg, ref, VerifyRequest{
			Platforms:   []string{r.Platform},
			Compression: s.Config.Compression,
			ProxyValues: proxyValues(s.BuildArgs),
			Digest:      r.Pushed,
			SizeBudget:  budget,
		})
	}
	images, err := readImages(ctx, reg, ref)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Ref: ref, Digest: r.Pushed, Images: images}
	if budget > 0 {
		rep.Checks = append(rep.Checks, CheckSizeBudget(budget, images))
	}
	return rep, nil
}

// readPlatformImages reads each platform's pushed image, by platform.
func readPlatformImages(ctx context.Context, s *State) (map[string]*registry.Image, error) {
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	out := map[string]*registry.Image{}
	for _, r := range s.Platforms {
		images, err := readImages(ctx, reg, s.repo+"@"+r.Pushed)
		if err != nil {
			return nil, err
		}
		for k, img := range images {
			out[k] = img
		}
	}
	return out, nil
}

// publishDigests is the publish step of a push-by-digest build: the digest
// file (when asked for) instead of tags.
func publishDigests(ctx context.Context, s *State) error {
	if s.Config.Verify && (s.Verify == nil || !s.Verify.OK) {
		return errors.New("internal error: the platforms were not verified")
	}
	var images map[string]*registry.Image
	if s.Verify != nil {
		images = s.Verify.Images
	} else {
		// verify was skipped: the sizes are still read, for the file
		var err error
		if images, err = readPlatformImages(ctx, s); err != nil {
			return fmt.Errorf("reading the pushed images' sizes: %s", s.Secrets.String(err.Error()))
		}
	}
	f := newDigestFile(s, images)
	s.Digests = f
	if s.Config.DigestFile != "" {
		if err := WriteDigestFile(s.Config.DigestFile, f); err != nil {
			return err
		}
		s.Log.Info("digest file %s written: merge it with the other platforms' files: xbuild merge -t %s:TAG FILE...", s.Config.DigestFile, s.repo)
	}
	s.Resume.forget()
	return nil
}

// byDigestLines are the platforms' references (REPO@DIGEST), in the
// order of the platforms, for stdout.
func byDigestLines(f *DigestFile) []string {
	var out []string
	for _, e := range f.Platforms {
		out = append(out, f.Repository+"@"+e.Digest)
	}
	return out
}

// printByDigestPlan ends a push-by-digest dry run: what happens after the
// builds.
func printByDigestPlan(w io.Writer, s *State) {
	fmt.Fprintf(w, "\nThen: each platform pushed by digest to %s and verified by that digest; no index, no tag (push-by-digest)", s.repo)
	if !s.Config.Verify {
		fmt.Fprint(w, " (verify: false, so not verified)")
	}
	if s.Config.DigestFile != "" {
		fmt.Fprintf(w, "; the digest file written to %s for xbuild merge", s.Config.DigestFile)
	}
	fmt.Fprintln(w)
}

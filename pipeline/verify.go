package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/config"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

// VerifyReport is what the verify step found in the registry.
type VerifyReport struct {
	Ref    string                     `json:"ref"`
	Digest string                     `json:"digest"`
	Checks []Check                    `json:"checks"`
	Images map[string]*registry.Image `json:"-"`
	OK     bool                       `json:"ok"`
}

// Failed lists the failing checks.
func (v *VerifyReport) Failed() []Check {
	var out []Check
	for _, c := range v.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// VerifyStep reads the merged index back from the registry BY DIGEST,
// before any tag points at it, checks it against the request and the size
// budget, and stops the pipeline when a check fails: the publish step then
// never runs, so no tag is created or moved.
type VerifyStep struct{}

// Name implements Step.
func (VerifyStep) Name() string { return "verify" }

// String implements Step.
func (VerifyStep) String() string { return "verifying the pushed index in the registry" }

// Skip implements Skipper.
func (VerifyStep) Skip(s *State) (bool, string) {
	switch {
	case !s.Config.Push || len(s.Options.Outputs) > 0:
		return true, "nothing was pushed"
	case !s.Config.Verify && s.Config.SizeBudget == "":
		return true, "verify: false"
	}
	return false, ""
}

// Run implements Step.
func (VerifyStep) Run(ctx context.Context, s *State) error {
	if s.Build == nil || s.Build.Digest == "" {
		return errors.New("no pushed index to verify")
	}
	ref := s.repo + "@" + s.Build.Digest
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var rep *VerifyReport
	if s.Config.Verify {
		req := VerifyRequest{
			Platforms:   s.Config.Platforms,
			Compression: s.Config.Compression,
			ProxyValues: proxyValues(s.BuildArgs),
			Digest:      s.Build.Digest,
		}
		rep, err = verifyPushed(ctx, reg, []string{ref}, req)
	} else {
		// verify is off, but the budget needs the pushed sizes
		var images map[string]*registry.Image
		images, err = readImages(ctx, reg, ref)
		rep = &VerifyReport{Ref: ref, Digest: s.Build.Digest, Images: images}
	}
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	if c, ok := budgetCheck(s.Config.SizeBudget, rep.Images); ok {
		rep.Checks = append(rep.Checks, c)
	}
	rep.OK = len(rep.Failed()) == 0
	s.Verify = rep
	if rep.OK {
		return nil
	}
	var lines []string
	for _, c := range rep.Failed() {
		lines = append(lines, fmt.Sprintf("%s %s: %s", c.Platform, c.Name, c.Detail))
	}
	return fmt.Errorf("%d check(s) failed on the unverified index %s:\n  %s\nit was pushed by digest only: no tag was created or moved",
		len(lines), ref, s.Secrets.String(strings.Join(lines, "\n  ")))
}

// budgetCheck compares the largest platform's compressed size with the
// budget; ok is false when there is no budget.
func budgetCheck(budget string, images map[string]*registry.Image) (Check, bool) {
	if budget == "" {
		return Check{}, false
	}
	limit, err := config.ParseSize(budget)
	if err != nil || limit <= 0 {
		return Check{}, false
	}
	c := Check{Name: "size-budget"}
	var largest string
	var size int64
	for p, img := range images {
		if n := img.CompressedSize(); n > size || largest == "" {
			largest, size = p, n
		}
	}
	switch {
	case size == 0:
		c.Detail = fmt.Sprintf("size-budget %s cannot be checked: the registry reported no image sizes", config.FormatSize(limit))
	case size > limit:
		c.Platform = largest
		c.Detail = fmt.Sprintf("%s image is %s compressed, over the size budget of %s", largest, config.FormatSize(size), config.FormatSize(limit))
	default:
		c.OK = true
		c.Platform = largest
		c.Detail = fmt.Sprintf("the largest image, %s, is %s compressed, within %s", largest, config.FormatSize(size), config.FormatSize(limit))
	}
	return c, true
}

// verifyPushed checks every tag and the images of the first one.
func verifyPushed(ctx context.Context, reg Registry, refs []string, req VerifyRequest) (*VerifyReport, error) {
	idx, err := reg.Index(ctx, refs[0])
	if err != nil {
		return nil, err
	}
	repo, err := repository(refs[0])
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Ref: refs[0], Digest: idx.Digest, Images: map[string]*registry.Image{}}
	rep.Checks = append(rep.Checks, checkIndex(req, idx)...)

	// every other tag and every manifest is read at the same time (registry
	// round trips dominate this step); results keep the index's order
	type result struct {
		checks []Check
		image  *registry.Image
		err    error
	}
	results := make([]result, len(refs)-1+len(idx.Manifests))
	var wg sync.WaitGroup
	for i, other := range refs[1:] {
		wg.Go(func() {
			oi, err := reg.Index(ctx, other)
			if err != nil {
				results[i].err = err
				return
			}
			results[i].checks = []Check{{Name: "tag", OK: oi.Digest == idx.Digest, Detail: fmt.Sprintf("%s -> %s", other, oi.Digest)}}
		})
	}
	for j, m := range idx.Manifests {
		r := &results[len(refs)-1+j]
		wg.Go(func() {
			if m.Attestation {
				r.checks = []Check{checkAttestation(ctx, reg, repo, m, req.ProxyValues)}
				return
			}
			r.image, r.checks, r.err = verifyImage(ctx, reg, repo, m, req)
		})
	}
	wg.Wait()
	for j, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		rep.Checks = append(rep.Checks, r.checks...)
		if k := j - (len(refs) - 1); k >= 0 && r.image != nil {
			rep.Images[idx.Manifests[k].Platform] = r.image
		}
	}
	rep.OK = len(rep.Failed()) == 0
	return rep, nil
}

// verifyImage reads one platform's image and checks its config, layers and
// entrypoint binary.
func verifyImage(ctx context.Context, reg Registry, repo string, m registry.Manifest, req VerifyRequest) (*registry.Image, []Check, error) {
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return nil, nil, err
	}
	checks := checkImage(req, m.Platform, img)
	p := entrypointPath(img)
	if p == "" {
		return img, checks, nil
	}
	hdr, err := reg.ReadFile(ctx, repo, m.Digest, p, 64)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		checks = append(checks, Check{Name: "entrypoint", Platform: m.Platform, OK: false,
			Detail: p + " (the image's ENTRYPOINT/CMD) does not exist in the image, or is a broken link: the container cannot start"})
	case err != nil:
		return nil, nil, err
	default:
		checks = append(checks, checkELF(m.Platform, p, hdr))
	}
	return img, checks, nil
}

// readImages reads the pushed images of ref by platform, for sizes.
func readImages(ctx context.Context, reg Registry, ref string) (map[string]*registry.Image, error) {
	idx, err := reg.Index(ctx, ref)
	if err != nil {
		return nil, err
	}
	repo, err := repository(ref)
	if err != nil {
		return nil, err
	}
	out := map[string]*registry.Image{}
	for _, m := range idx.Manifests {
		if m.Attestation {
			continue
		}
		img, err := reg.Image(ctx, repo, m.Digest)
		if err != nil {
			return nil, err
		}
		out[m.Platform] = img
	}
	return out, nil
}

// checkAttestation looks for proxy values in an attestation's payloads
// (provenance records build arguments in mode=max).
func checkAttestation(ctx context.Context, reg Registry, repo string, m registry.Manifest, values []string) Check {
	platform := "attestation " + short(m.AttestsTo)
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return Check{Name: "no-proxy-leak", Platform: platform, OK: false, Detail: "cannot read the attestation: " + err.Error()}
	}
	var texts []string
	for _, l := range img.Layers {
		b, err := reg.Blob(ctx, repo, l.Digest, 8<<20)
		if err != nil {
			return Check{Name: "no-proxy-leak", Platform: platform, OK: false, Detail: "cannot read an attestation layer: " + err.Error()}
		}
		texts = append(texts, string(b))
	}
	return leakCheck("no-proxy-leak", platform, "the attestation (provenance)", values, texts)
}

// entrypointPath is the executable the image starts: ENTRYPOINT[0], else
// CMD[0]; relative names are looked up on the image's PATH (first entry
// only would be a guess, so only absolute paths are checked).
func entrypointPath(img *registry.Image) string {
	argv := img.Entrypoint
	if len(argv) == 0 {
		argv = img.Cmd
	}
	if len(argv) == 0 {
		return ""
	}
	p := argv[0]
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return ""
}

func repository(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Context().Name(), nil
}

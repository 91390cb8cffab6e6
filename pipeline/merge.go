package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/platform"
)

// MergeSteps is `xbuild merge`: the build's own steps after its build
// step (verify, publish, report and whatever runs between them, such as
// signing), with MergeStep in place of lint, plan and build. The index is
// assembled from what the runners pushed by digest, then verified as a
// build's index is, and only then tagged.
func MergeSteps() []Step {
	out := []Step{MergeStep{}}
	for _, st := range Steps() {
		switch st.(type) {
		case LintStep, PlanStep, BuildStep:
			continue
		}
		out = append(out, st)
	}
	return out
}

// MergeStep is merge's build step: it reads the digest files
// (Options.DigestFiles), checks that they agree with each other, with the
// tags' repository and with the requested platforms, checks that every
// digest is in the registry, and pushes one index of them by digest. It
// leaves State as a build step does (repo, Platforms, Build), so the
// verify and publish steps run unchanged.
type MergeStep struct{}

// Name implements Step.
func (MergeStep) Name() string { return "merge" }

// String implements Step.
func (MergeStep) String() string { return "merging the platforms pushed by digest" }

// Run implements Step.
func (MergeStep) Run(ctx context.Context, s *State) error {
	repo, err := oneRepository(s.Config.Refs())
	if err != nil {
		return err
	}
	files, err := ReadDigestFiles(s.Options.DigestFiles)
	if err != nil {
		return err
	}
	entries, err := planMerge(files, repo, s.Config.Platforms)
	if err != nil {
		return err
	}
	s.repo = repo
	// verify looks for the proxy values of this environment and config
	s.BuildArgs = MergeBuildArgs(ProxyBuildArgs(s.Config.Proxy, s.Getenv), s.Config.BuildArgs, s.Secrets)
	s.Platforms = nil
	for _, e := range entries {
		s.Platforms = append(s.Platforms, &PlatformResult{Platform: e.Platform, Node: e.Node, Emulated: e.Emulated, Result: e.Result, Pushed: e.Digest})
		s.Log.Info("%s: %s@%s (node %s, from %s)", e.Platform, repo, e.Digest, orUnknown(e.Node), e.path)
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := checkPushed(ctx, reg, repo, entries); err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	sources := make([]string, len(entries))
	for i, e := range entries {
		sources[i] = repo + "@" + e.Digest
	}
	digest, err := reg.PushIndex(ctx, repo, sources)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = &engine.BuildResult{Digest: digest}
	s.Log.Info("index %s@%s pushed by digest, not tagged yet: verifying it first", repo, digest)
	return nil
}

// mergeEntry is one platform to merge and the file it came from.
type mergeEntry struct {
	DigestEntry
	path string
}

// planMerge checks the digest files against each other and the request:
// one repository (the tags'), no platform twice, exactly the platforms
// asked for. It returns the entries in the order of want.
func planMerge(files []DigestSource, repo string, want []string) ([]mergeEntry, error) {
	if len(files) == 0 {
		return nil, errors.New("no digest file given: pass the files (or a directory of them) written by xbuild build --push-by-digest --digest-file")
	}
	var errs []error
	byRepo := map[string][]string{}
	for _, f := range files {
		byRepo[f.File.Repository] = append(byRepo[f.File.Repository], f.Path)
	}
	if len(byRepo) > 1 {
		var parts []string
		for r, paths := range byRepo {
			parts = append(parts, fmt.Sprintf("%s (%s)", r, strings.Join(paths, ", ")))
		}
		sort.Strings(parts)
		return nil, fmt.Errorf("the digest files push to different repositories: %s; an index lists manifests of one repository only: merge each repository's files on their own", strings.Join(parts, "; "))
	}
	if got := files[0].File.Repository; got != repo {
		return nil, fmt.Errorf("the digest files were pushed to %s, but the tags are in %s: an index lists manifests of its own repository only; tag in %s (-t %s:TAG), or build again with -t %s", got, repo, got, got, repo)
	}
	found := map[string]mergeEntry{}
	for _, f := range files {
		for _, e := range f.File.Platforms {
			if prev, ok := found[e.Platform]; ok {
				errs = append(errs, fmt.Errorf("%s is in two digest files: %s (%s) and %s (%s); merge one of them (was a build job run twice?)",
					e.Platform, prev.path, short(prev.Digest), f.Path, short(e.Digest)))
				continue
			}
			found[e.Platform] = mergeEntry{DigestEntry: e, path: f.Path}
		}
	}
	var out []mergeEntry
	for _, p := range want {
		e, ok := found[platform.Loose(p)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s is missing: no digest file has it (the files hold %s); did its build job fail, or its file not reach this job?",
				p, strings.Join(sortedKeys(found), ", ")))
			continue
		}
		out = append(out, e)
	}
	for _, p := range sortedKeys(found) {
		if !platform.Contains(want, p) {
			errs = append(errs, fmt.Errorf("%s (in %s) was not asked for: the platforms are %s (the platforms key of xbuild.yaml, or --platform)",
				p, found[p].path, strings.Join(want, ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// checkPushed checks that the registry holds every entry's digest, all at
// once, and names each one it lacks.
func checkPushed(ctx context.Context, reg Registry, repo string, entries []mergeEntry) error {
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Go(func() {
			ref := repo + "@" + e.Digest
			ok, err := reg.Exists(ctx, ref)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%s: %w", e.Platform, err)
			case !ok:
				errs[i] = fmt.Errorf("%s: %s (from %s) is not in the registry: was it pushed to another registry, or deleted since? run its build job again", e.Platform, ref, e.path)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

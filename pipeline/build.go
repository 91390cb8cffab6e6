package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// BuildStep applies the plan's buildx builder and runs one buildx build
// across its nodes.
type BuildStep struct{}

// Name implements Step.
func (BuildStep) Name() string { return "build" }

// String implements Step.
func (BuildStep) String() string { return "building" }

// Run implements Step.
func (BuildStep) Run(ctx context.Context, s *State) error {
	if s.Plan == nil || len(s.Builder) == 0 {
		return errNoPlan
	}
	eng, err := s.engine()
	if err != nil {
		return err
	}
	if err := applyBuilder(ctx, s, eng); err != nil {
		return err
	}
	// masked output; a terminal stays a terminal so the tty display works
	var out io.WriteCloser = s.Secrets.Writer(s.Err)
	if f, ok := s.Err.(*os.File); ok {
		out = s.Secrets.File(f)
	}
	defer out.Close()
	opts := engine.BuildOptions{Progress: s.Config.Progress, Out: out, StallTimeout: s.Config.StallTimeout}
	var res *engine.BuildResult
	if n := routedNodeCount(s.Plan); needsSplit(s.Spec, n) {
		res, err = buildSplit(ctx, s, eng, n, opts)
	} else {
		res, err = eng.Build(ctx, s.Spec, opts)
	}
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = res
	if !s.Config.Push {
		s.Log.Info("built %s; nothing was pushed (no --push): the result is in the nodes' build cache", strings.Join(s.Config.Platforms, ", "))
	}
	return nil
}

// applyBuilder writes what the builder needs outside buildx (the docker
// context of this machine's Docker engine), then brings the buildx
// builder to the plan the way every builder sync does (nodes.SyncRouted),
// running buildx only where the builder differs from its last sync.
func applyBuilder(ctx context.Context, s *State, eng engine.Engine) error {
	for _, dc := range s.Contexts {
		if s.DockerContexts == nil {
			return errors.New("internal error: no docker context store")
		}
		if err := s.DockerContexts.Ensure(dc); err != nil {
			return err
		}
	}
	st, err := s.store()
	if err != nil {
		return err
	}
	res, err := nodes.SyncRouted(ctx, eng, st, s.Config.Builder, s.Plan, s.RoutedNodes)
	if err != nil {
		return err
	}
	s.Builder = res.Nodes
	if len(res.Changed) == 0 {
		s.Log.Info("buildx builder %s: as the last sync left it, nothing to change", res.Builder)
	} else {
		s.Log.Info("buildx builder %s: %s", res.Builder, strings.Join(res.Changed, ", "))
	}
	return nil
}

// routedNodeCount is how many nodes the plan builds on.
func routedNodeCount(plan *nodes.Plan) int {
	seen := map[string]bool{}
	for _, a := range plan.Assignments {
		seen[a.Node] = true
	}
	return len(seen)
}

// buildSplit builds one bake target per platform, each pushed by digest
// with its own registry cache, then merges them into the tagged list.
func buildSplit(ctx context.Context, s *State, eng engine.Engine, nodeCount int, opts engine.BuildOptions) (*engine.BuildResult, error) {
	repo, err := repository(s.Spec.Tags[0])
	if err != nil {
		return nil, err
	}
	s.Log.Info("registry cache on %d nodes: one build per platform, each with its own cache ref, merged into one manifest list", nodeCount)
	specs := splitSpecs(s.Spec, repo)
	results, err := eng.Bake(ctx, s.Spec.Builder, specs, bakeAllow(s.Spec), opts)
	if err != nil {
		return nil, err
	}
	var sources []string
	for _, p := range s.Spec.Platforms {
		r := results[targetName(p)]
		if r == nil || r.Digest == "" {
			return nil, fmt.Errorf("the %s build reported no image digest", p)
		}
		sources = append(sources, repo+"@"+r.Digest)
	}
	digest, err := eng.ImagetoolsCreate(ctx, s.Spec.Tags, sources)
	if err != nil {
		return nil, err
	}
	return &engine.BuildResult{Digest: digest, Metadata: map[string]any{"platforms": results}}, nil
}

// bakeAllow grants bake read access to the build context and the
// Dockerfile's directory (bake refuses paths outside its working directory).
func bakeAllow(spec engine.BuildSpec) []string {
	var out []string
	for _, p := range []string{spec.ContextDir, filepath.Dir(spec.Dockerfile)} {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil && !slices.Contains(out, "fs.read="+abs) {
			out = append(out, "fs.read="+abs)
		}
	}
	return out
}

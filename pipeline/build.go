package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// BuildStep syncs the plan's buildx builder and runs one buildx build across
// its nodes.
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
	if err := syncBuilder(ctx, s.Engine, s.Builder); err != nil {
		return err
	}
	if s.Plan != nil && len(s.Nodes) > 0 && hasEmulated(s) {
		// a fallback routing of registered nodes is not the normal one: do
		// not leave its builder behind
		defer func() {
			_ = s.Engine.Buildx(context.WithoutCancel(ctx), engine.Invocation{Args: engine.RemoveArgs(s.Builder[0].Builder)})
		}()
	}
	// masked output; a terminal stays a terminal so the tty display works
	var out io.WriteCloser = s.Secrets.Writer(s.Err)
	if f, ok := s.Err.(*os.File); ok {
		out = s.Secrets.File(f)
	}
	defer out.Close()
	opts := engine.BuildOptions{Progress: s.Config.Progress, Out: out, StallTimeout: s.Config.StallTimeout}
	var res *engine.BuildResult
	var err error
	if needsSplit(s.Spec, len(s.Builder)) {
		res, err = buildSplit(ctx, s, opts)
	} else {
		res, err = s.Engine.Build(ctx, s.Spec, opts)
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

// buildSplit builds one bake target per platform, each pushed by digest
// with its own registry cache, then merges them into the tagged list.
func buildSplit(ctx context.Context, s *State, opts engine.BuildOptions) (*engine.BuildResult, error) {
	repo, err := repository(s.Spec.Tags[0])
	if err != nil {
		return nil, err
	}
	s.Log.Info("registry cache on %d nodes: one build per platform, each with its own cache ref, merged into one manifest list", len(s.Builder))
	specs := splitSpecs(s.Spec, repo)
	results, err := s.Engine.Bake(ctx, s.Spec.Builder, specs, bakeAllow(s.Spec), opts)
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
	digest, err := s.Engine.ImagetoolsCreate(ctx, s.Spec.Tags, sources)
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

func hasEmulated(s *State) bool {
	for _, a := range s.Plan.Assignments {
		if a.Emulated {
			return true
		}
	}
	return false
}

// syncBuilder creates or updates the builder node by node; `buildx create
// --node` is idempotent, so this heals a builder someone changed by hand.
func syncBuilder(ctx context.Context, e engine.Engine, bns []engine.BuilderNode) error {
	for i, bn := range bns {
		var stderr bytes.Buffer
		if err := e.Buildx(ctx, engine.Invocation{Args: engine.CreateArgs(bn, i > 0), Stderr: &stderr}); err != nil {
			return fmt.Errorf("setting up buildx builder %s (node %s): %v%s", bn.Builder, bn.Node, err, indentTail(stderr.String()))
		}
	}
	return nil
}

func indentTail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "\n  " + strings.ReplaceAll(s, "\n", "\n  ")
}

package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// BuildStep builds every platform as its own build on its own node (see
// buildPlatforms): pushed by digest, then merged into one index pushed by
// digest, when the build pushes. No tag is written here (see PublishStep).
// An output that holds every platform (an OCI layout, a tar, a
// multi-platform load) is exported by each platform's build on its node
// and merged by xbuild (see mergeExports): buildx cannot export those from
// a build that spans several nodes.
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
	for _, dc := range s.Contexts {
		if s.DockerContexts == nil {
			return errors.New("internal error: no docker context store")
		}
		if err := s.DockerContexts.Ensure(dc); err != nil {
			return err
		}
	}
	if s.calls() {
		return runCall(ctx, s, eng)
	}
	if !s.Config.Push {
		cleanup, err := prepareExports(ctx, s)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	if err := buildPlatforms(ctx, s, eng); err != nil {
		return err
	}
	if !s.Config.Push {
		if err := mergeExports(ctx, s); err != nil {
			return err
		}
		s.logOutputs()
		return nil
	}
	if s.Config.PushByDigest {
		s.Log.Info("pushed by digest to %s: no index and no tag (push-by-digest)", s.repo)
		return nil
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	var sources []string
	for _, r := range s.Platforms {
		if r.Pushed == "" {
			return fmt.Errorf("the %s build reported no image digest", r.Platform)
		}
		sources = append(sources, s.repo+"@"+r.Pushed)
	}
	digest, err := s.pushIndex(ctx, reg, sources)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = &engine.BuildResult{Digest: digest}
	s.Log.Info("index %s@%s pushed by digest, not tagged yet: verifying it first", s.repo, digest)
	return nil
}

// logOutputs says what became of each output of a build that did not
// push, and that it was not verified.
func (s *State) logOutputs() {
	for _, o := range outputsOf(s.Spec.Outputs) {
		s.Log.Info("%s", outputLine(o, s.Config.Platforms))
	}
}

// calls reports a --call build other than build (check, outline,
// targets): the Dockerfile is evaluated, nothing is built or exported.
func (s *State) calls() bool { return s.Options.Run.Call != "" && s.Options.Run.Call != "build" }

// runCall runs a --call build once, for the first platform on its node:
// buildx evaluates the Dockerfile there (BuildKit's checks, the outline
// of its build arguments and secrets, its targets) and prints the result
// on standard output. A failed check fails the step, as buildx exits 1.
func runCall(ctx context.Context, s *State, eng engine.Engine) error {
	a := s.Plan.Assignments[0]
	b := &platformBuilder{s: s, eng: eng}
	builder, err := b.ensureBuilder(ctx, a.Node)
	if err != nil {
		return err
	}
	spec := s.platformSpec(a.Platform, builder)
	spec.Outputs, spec.CacheTo = nil, nil
	errOut := s.maskedErr()
	defer errOut.Close()
	out := s.Secrets.Writer(s.Out)
	defer out.Close()
	s.Log.Info("--call %s: evaluating the Dockerfile for %s on node %s; nothing is built or pushed", s.Options.Run.Call, a.Platform, a.Node)
	_, err = eng.Build(ctx, spec, engine.BuildOptions{Progress: s.Config.Progress, Out: errOut, Stdout: out, StallTimeout: s.Config.StallTimeout})
	if err != nil {
		if s.Options.Run.Call == "check" {
			return fmt.Errorf("the Dockerfile checks failed (--call check on node %s): %s", a.Node, s.Secrets.String(err.Error()))
		}
		return fmt.Errorf("--call %s on node %s: %s", s.Options.Run.Call, a.Node, s.Secrets.String(err.Error()))
	}
	return nil
}

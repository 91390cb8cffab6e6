package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// BuildStep builds every platform as its own build on its own node (see
// buildPlatforms): pushed by digest, then merged into one index pushed by
// digest, when the build pushes. No tag is written here (see PublishStep).
// A build with -o outputs runs as one buildx build across the plan's
// builder instead: the exporter needs every platform at once.
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
	if s.allAtOnce() {
		return buildOnce(ctx, s, eng)
	}
	if err := buildPlatforms(ctx, s, eng); err != nil {
		return err
	}
	if !s.Config.Push {
		s.logOutputs()
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
	digest, err := reg.PushIndex(ctx, s.repo, sources)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = &engine.BuildResult{Digest: digest}
	s.Log.Info("index %s@%s pushed by digest, not tagged yet: verifying it first", s.repo, digest)
	return nil
}

// buildOnce runs the whole build as one buildx build on the plan's
// builder (outputs such as type=oci,dest=image.tar take every platform).
func buildOnce(ctx context.Context, s *State, eng engine.Engine) error {
	if err := applyBuilder(ctx, s, eng); err != nil {
		return err
	}
	out := s.maskedErr()
	defer out.Close()
	res, err := eng.Build(ctx, s.Spec, engine.BuildOptions{Progress: s.Config.Progress, Out: out, StallTimeout: s.Config.StallTimeout})
	if err != nil {
		return fmt.Errorf("%s%s", s.Secrets.String(err.Error()), loadHint(err, s.Config.Platforms))
	}
	s.Build = res
	for _, a := range s.Plan.Assignments {
		s.Platforms = append(s.Platforms, &PlatformResult{Platform: a.Platform, Node: a.Node, Emulated: a.Emulated, Result: ResultBuilt, Attempts: 1})
	}
	s.logOutputs()
	return nil
}

// logOutputs says what became of each output of a build that did not
// push, and that it was not verified.
func (s *State) logOutputs() {
	for _, o := range outputsOf(s.Spec.Outputs) {
		s.Log.Info("%s", outputLine(o, s.Config.Platforms))
	}
}

// loadHint explains buildx's refusal of a multi-platform load into a
// Docker engine that keeps one platform per image (no containerd image
// store), and what to do instead.
func loadHint(err error, platforms []string) string {
	if !strings.Contains(err.Error(), "docker exporter does not currently support exporting manifest lists") {
		return ""
	}
	return fmt.Sprintf("\n  --load of %s: this Docker engine stores one platform per image (it does not use the containerd image store), so it cannot load a multi-platform image: "+
		"load one platform (--platform %s --load), write an OCI tarball (-o type=oci,dest=image.tar), push it (--push), "+
		"or turn on the containerd image store in the engine (daemon.json: \"features\": {\"containerd-snapshotter\": true}, Docker Engine 24 or later)",
		strings.Join(platforms, ", "), platforms[0])
}

// applyBuilder brings the buildx builder to the plan the way every
// builder sync does (nodes.SyncRouted), running buildx only where the
// builder differs from its last sync.
func applyBuilder(ctx context.Context, s *State, eng engine.Engine) error {
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

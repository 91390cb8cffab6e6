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
	if len(s.Options.Outputs) > 0 {
		return buildOnce(ctx, s, eng)
	}
	if err := buildPlatforms(ctx, s, eng); err != nil {
		return err
	}
	if !s.Config.Push {
		s.Log.Info("built %s; nothing was pushed (no --push): the result is in the nodes' build cache", strings.Join(s.Config.Platforms, ", "))
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
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = res
	for _, a := range s.Plan.Assignments {
		s.Platforms = append(s.Platforms, &PlatformResult{Platform: a.Platform, Node: a.Node, Emulated: a.Emulated, Result: ResultBuilt, Attempts: 1})
	}
	return nil
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

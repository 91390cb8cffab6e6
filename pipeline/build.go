package pipeline

import (
	"bytes"
	"context"
	"fmt"
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
	if hasEmulated(s) {
		// a fallback routing is not the normal one: do not leave its builder behind
		defer func() {
			_ = s.Engine.Buildx(context.WithoutCancel(ctx), engine.Invocation{Args: engine.RemoveArgs(s.Builder[0].Builder)})
		}()
	}
	out := s.Secrets.Writer(s.Err)
	defer out.Close()
	res, err := s.Engine.Build(ctx, s.Spec, engine.BuildOptions{
		Progress:     s.Config.Progress,
		Out:          out,
		StallTimeout: s.Config.StallTimeout,
	})
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Build = res
	if !s.Config.Push {
		s.Log.Info("built %s; nothing was pushed (no --push): the result is in the nodes' build cache", strings.Join(s.Config.Platforms, ", "))
	}
	return nil
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

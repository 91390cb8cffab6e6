package pipeline

import (
	"context"
	"fmt"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/lint"
)

// LintStep runs hadolint and the built-in rules before anything is built.
// The nodes are health-checked meanwhile (see startPrefetch): the plan
// step routes on those checks once lint has passed.
type LintStep struct{}

// Name implements Step.
func (LintStep) Name() string { return "lint" }

// String implements Step.
func (LintStep) String() string { return "linting the Dockerfile" }

// Skip implements Skipper.
func (LintStep) Skip(s *State) (bool, string) {
	if !s.Config.Lint.Enabled {
		return true, "lint disabled (--no-lint or lint.enabled: false)"
	}
	return false, ""
}

// Run implements Step.
func (LintStep) Run(ctx context.Context, s *State) error {
	s.startPrefetch(ctx)
	res, err := RunLint(ctx, s.Lint, s.Config)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.LintResult = res
	// findings and notices may quote a build argument (a FROM line
	// resolved with one): printed masked
	for _, n := range res.Notices {
		s.Log.Info("%s", s.Secrets.String(n))
	}
	th, err := lint.ParseThreshold(s.Config.Lint.FailureThreshold)
	if err != nil {
		return err
	}
	if len(res.Findings) > 0 {
		w := s.Secrets.Writer(s.Err)
		err := lint.WriteTTY(w, res, false)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if res.Failed(th) {
		return fmt.Errorf("%s has findings at or above the failure threshold %q; nothing was built (fix them, add `# xbuild ignore=RULE` above the line, or change lint.failure-threshold)",
			s.Config.Dockerfile, s.Config.Lint.FailureThreshold)
	}
	return nil
}

// RunLint lints with the lint settings of c; `xbuild lint` and the build's
// lint step share it. A nil linter means lint.Run.
func RunLint(ctx context.Context, linter Linter, c config.Config) (*lint.Result, error) {
	if linter == nil {
		linter = lint.Run
	}
	return linter(ctx, LintOptions(c))
}

// LintOptions maps the project config to lint options.
func LintOptions(c config.Config) lint.Options {
	return lint.Options{
		Dockerfile:      c.Dockerfile,
		ContextDir:      c.Context,
		BuildArgs:       c.BuildArgs,
		Hadolint:        c.Lint.Hadolint,
		RequireHadolint: c.Lint.RequireHadolint,
		Ignore:          c.Lint.Ignore,
	}
}

package lint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Options configure Run.
type Options struct {
	// Dockerfile is the path to the Dockerfile (required). Findings are
	// labelled with it as given.
	Dockerfile string
	// ContextDir is the build context, where XB008 looks for .dockerignore;
	// "" means the Dockerfile's directory.
	ContextDir string
	// BuildArgs are the --build-arg values of the build (XB003, FROM lines).
	BuildArgs map[string]string
	// Hadolint is the hadolint binary, a path or a name looked up on PATH;
	// "" means "hadolint".
	Hadolint string
	// RequireHadolint makes a missing hadolint an error instead of a notice.
	RequireHadolint bool
	// Ignore lists rule IDs dropped everywhere, whichever tool reports them.
	// Like inline ignores, a rule also drops its equivalents (XB005 drops
	// DL3006 and DL3007, and DL3007 drops XB005).
	Ignore []string
	// Runner runs hadolint; nil means an ExecRunner that also clears
	// HADOLINT_FORMAT, which would otherwise add reports in other formats
	// to hadolint's output. A custom runner should do the same.
	Runner CommandRunner
	// LookPath finds the hadolint binary; nil means exec.LookPath.
	LookPath func(string) (string, error)
}

// Run lints one Dockerfile: the built-in rules, BuildKit's checks and, when
// it is installed, hadolint, started in the Dockerfile's directory so that a
// .hadolint.yaml there applies. Findings are merged (see equivalents),
// filtered by inline ignores and Options.Ignore, and sorted by file, line
// and rule. An error means the lint itself could not be done; findings,
// however severe, are not errors (see Result.Failed).
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Dockerfile == "" {
		return nil, errors.New("lint: no Dockerfile given")
	}
	data, err := os.ReadFile(opts.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("lint: read Dockerfile: %w", err)
	}
	dir := filepath.Dir(opts.Dockerfile)
	contextDir := opts.ContextDir
	if contextDir == "" {
		contextDir = dir
	}
	env := Env{
		DockerignoreExists: dockerignoreExists(contextDir, opts.Dockerfile),
		BuildArgs:          opts.BuildArgs,
	}
	df, findings := check(opts.Dockerfile, data, env)

	hl, err := runHadolint(ctx, opts, dir, filepath.Base(opts.Dockerfile), opts.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", opts.Dockerfile, err)
	}
	res := &Result{
		Findings: finish(df, append(findings, hl.findings...), opts.Ignore),
		Hadolint: hl.status,
		Notices:  hl.notices,
	}
	if res.Notices == nil {
		res.Notices = []string{}
	}
	return res, nil
}

// dockerignoreExists reports whether BuildKit will find an ignore file for
// this build: <Dockerfile>.dockerignore next to the Dockerfile, or
// .dockerignore at the root of the context.
func dockerignoreExists(contextDir, dockerfile string) bool {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(contextDir, ".dockerignore")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

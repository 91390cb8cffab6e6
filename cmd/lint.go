package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/internal/version"
	"github.com/xbuild-dev/xbuild/pipeline"
)

type lintOptions struct {
	format string
}

// lintBindings ties lint flags to config keys (flags > XBUILD_* > file).
var lintBindings = []flagBinding{
	{Key: "dockerfile", Flag: "file"},
	{Key: "lint.failure-threshold", Flag: "failure-threshold"},
	{Key: "lint.hadolint", Flag: "hadolint"},
	{Key: "lint.require-hadolint", Flag: "require-hadolint"},
}

// NewLintCmd builds `xbuild lint`.
func NewLintCmd(f *Factory) *cobra.Command {
	opts := &lintOptions{}
	c := &cobra.Command{
		Use:   "lint [CONTEXT] [-f Dockerfile]",
		Short: "Lint a Dockerfile with hadolint and xbuild's built-in rules",
		Long: `Lint a Dockerfile: hadolint (when installed; its .hadolint.yaml next to the
Dockerfile applies), BuildKit's own checks, and xbuild's rules for
multi-platform images (XB001 proxy in ENV, XB002 secrets, XB003 TARGETARCH
with a default, XB004 emulated Go compile, XB005 untagged/latest base, XB006
root user, XB007 ADD instead of COPY, XB008 no .dockerignore, XB009 cgo binary
in scratch, XB010 ARG HTTP_PROXY declared). The same gate runs at the start of
every xbuild build.

Silence a finding with a comment above the instruction:
  # xbuild ignore=XB005        (or: # hadolint ignore=DL3008)

Exits 1 when a finding is at or above --failure-threshold.`,
		Example: `  xbuild lint
  xbuild lint services/api -f services/api/Dockerfile.prod
  xbuild lint --format sarif > lint.sarif
  xbuild lint --failure-threshold warning`,
		GroupID: "main",
		Args:    rangeArgs(0, 1, "at most one CONTEXT directory"),
		RunE: func(c *cobra.Command, args []string) error {
			return runLint(c, f, opts, args)
		},
	}
	fl := c.Flags()
	fl.StringP("file", "f", "", `Dockerfile to lint (default "CONTEXT/Dockerfile")`)
	fl.StringVar(&opts.format, "format", "tty", "output format: tty, json or sarif")
	fl.String("failure-threshold", "", "lowest severity that fails: error, warning, info, style or none (default from config: error)")
	fl.String("hadolint", "", "hadolint binary (default: hadolint on PATH)")
	fl.Bool("require-hadolint", false, "fail when hadolint is not installed instead of using the built-in rules alone")
	return c
}

func runLint(c *cobra.Command, f *Factory, opts *lintOptions, args []string) error {
	if opts.format != "tty" && opts.format != "json" && opts.format != "sarif" {
		return usageErrorf("--format %q: use tty, json or sarif", opts.format)
	}
	lc, err := f.loadConfig(c.Flags(), lintBindings, withContextArg(args))
	if err != nil {
		return err
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	th, err := lint.ParseThreshold(lc.Lint.FailureThreshold)
	if err != nil {
		return err
	}
	// findings may quote a build argument: secrets are masked in every format
	secrets := pipeline.SecretsOf(lc.Config, f.Getenv)
	res, err := pipeline.RunLint(c.Context(), f.Linter, lc.Config)
	if err != nil {
		return fmt.Errorf("%s", secrets.String(err.Error()))
	}
	out := secrets.Writer(f.IO.Out)
	switch opts.format {
	case "json":
		err = lint.WriteJSON(out, res)
	case "sarif":
		err = lint.WriteSARIF(out, res, version.Get().Version)
	default:
		err = lint.WriteTTY(out, res, f.IO.IsStdoutTTY())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if res.Failed(th) {
		if opts.format == "tty" {
			n := 0
			for _, fd := range res.Findings {
				if th.Fails(fd.Severity) {
					n++
				}
			}
			return fmt.Errorf("lint failed: %s has %d finding(s) at or above %q", lc.Dockerfile, n, th.String())
		}
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

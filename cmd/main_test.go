package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/pipeline"
)

func TestHandleErrorExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		code   int
		stderr string
	}{
		{"success", context.Background(), nil, ExitOK, ""},
		{"failure", context.Background(), errors.New("node arm1 is unreachable"), ExitFailure, "Error: node arm1 is unreachable\n"},
		{"usage", context.Background(), usageErrorf("--format %q: use text or json", "yaml"), ExitUsage, "Error: --format \"yaml\": use text or json\nRun 'xbuild --help'"},
		{"cobra usage", context.Background(), errors.New(`unknown command "x" for "xbuild"`), ExitUsage, "Error: unknown command \"x\" for \"xbuild\"\nRun 'xbuild --help'"},
		{"silent", context.Background(), &SilentError{Code: ExitFailure}, ExitFailure, ""},
		{"wrapped silent", context.Background(), fmt.Errorf("x: %w", &SilentError{Code: 3}), 3, ""},
		{"interrupted", cancelled, context.Canceled, ExitInterrupted, "xbuild: interrupted\n"},
		{"interrupted, any error", cancelled, errors.New("buildx: context canceled"), ExitInterrupted, "xbuild: interrupted\n"},
		{"interrupted pipeline", cancelled, &pipeline.Interrupted{Step: "build", Left: "no tag was created or moved", Err: context.Canceled}, ExitInterrupted,
			"xbuild: interrupted in the build step: no tag was created or moved\n"},
		// nodes check after Ctrl-C: its cancelled checks are no verdict
		{"interrupted, silent", cancelled, &SilentError{Code: ExitFailure}, ExitInterrupted, "xbuild: interrupted\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			io, _, errOut := iostreams.Test()
			if got := handleError(io, tc.err, tc.ctx); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
			if tc.stderr == "" && errOut.Len() != 0 || !strings.HasPrefix(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q, want prefix %q", errOut, tc.stderr)
			}
		})
	}
}

// Main runs the real command tree: errors are printed once, results go to
// stdout, the code comes from the error.
func TestMainPrintsErrorsOnce(t *testing.T) {
	io, out, errOut := iostreams.Test()
	code := Main(context.Background(), []string{"version", "--format", "yaml"}, io, func(string) string { return "" })
	if code != ExitUsage {
		t.Errorf("code %d", code)
	}
	if strings.Count(errOut.String(), "--format \"yaml\"") != 1 || out.Len() != 0 {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	io, out, errOut = iostreams.Test()
	if code := Main(context.Background(), []string{"version"}, io, func(string) string { return "" }); code != ExitOK || !strings.HasPrefix(out.String(), "xbuild ") || errOut.Len() != 0 {
		t.Errorf("version: code %d stdout %q stderr %q", code, out, errOut)
	}
}

package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/internal/lint"
)

// `xbuild lint` masks secrets its findings quote, in every format
// (issue 18: build-arg values were printed raw by lint).
func TestLintMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"XBUILD_BUILD_ARGS": "NPM_TOKEN=npm_s3cret_value",
		"HTTPS_PROXY":       "http://proxyuser:pr0xy-pa55@proxy.example:3128",
	}
	for _, format := range []string{"tty", "json", "sarif"} {
		io, out, errOut := iostreams.Test()
		f := NewFactory(io, func(k string) string { return env[k] })
		f.Linter = func(context.Context, lint.Options) (*lint.Result, error) {
			return &lint.Result{Findings: []lint.Finding{{Rule: "XB002", Severity: lint.SeverityWarning, File: "Dockerfile", Line: 1,
				Message: "RUN echo npm_s3cret_value through http://proxyuser:pr0xy-pa55@proxy.example:3128"}}, Notices: []string{}}, nil
		}
		root := NewRootCmd(f)
		root.SetArgs([]string{"lint", dir, "--format", format})
		root.SetOut(io.Out)
		root.SetErr(io.ErrOut)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		all := out.String() + errOut.String()
		if strings.Contains(all, "npm_s3cret_value") || strings.Contains(all, "pr0xy-pa55") {
			t.Errorf("%s output shows a secret:\n%s", format, all)
		}
		if !strings.Contains(all, "XB002") || !strings.Contains(all, "[REDACTED]") {
			t.Errorf("%s output lacks the masked finding:\n%s", format, all)
		}
	}
}

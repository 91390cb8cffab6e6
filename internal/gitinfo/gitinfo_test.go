package gitinfo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSourceURL(t *testing.T) {
	tests := map[string]string{
		"https://github.com/xbuild-dev/xbuild.git":                       "https://github.com/xbuild-dev/xbuild",
		"https://oauth2:glpat-SECRET@gitlab.example.com/team/app.git":    "https://gitlab.example.com/team/app",
		"https://x-access-token:ghs_abc@github.com/org/repo":             "https://github.com/org/repo",
		"git@github.com:org/repo.git":                                    "https://github.com/org/repo",
		"ssh://git@git.example.com:2222/team/app.git":                    "https://git.example.com/team/app",
		"http://git.internal:8080/team/app.git":                          "http://git.internal:8080/team/app",
		"https://user:pw@git.internal:8443/scm/team/app.git":             "https://git.internal:8443/scm/team/app",
		"/srv/git/app.git":                                               "",
		"file:///srv/git/app.git":                                        "",
		"../app":                                                         "",
		"":                                                               "",
		"gitolite@build-1.corp.example:apps/service-with-dashes.git":     "https://build-1.corp.example/apps/service-with-dashes",
		"ssh+git://deploy@git.example.com/team/app":                      "https://git.example.com/team/app",
		"https://dev.azure.com/org/project/_git/repo":                    "https://dev.azure.com/org/project/_git/repo",
		"C:/Users/x/repo":                                                "",
		"https://token@github.com/org/repo.git":                          "https://github.com/org/repo",
		"git://git.kernel.org/pub/scm/git/git.git":                       "https://git.kernel.org/pub/scm/git/git",
		"ssh://git@github.com/org/repo":                                  "https://github.com/org/repo",
		"https://github.com/org/repo/":                                   "https://github.com/org/repo/",
		"https://bitbucket.org/team/repo.git?private_token=ABCDEFGHIJKL": "https://bitbucket.org/team/repo",
	}
	for in, want := range tests {
		if got := SourceURL(in); got != want {
			t.Errorf("SourceURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeGit answers the commands Read runs.
func fakeGit(answers map[string]string) Runner {
	return func(_ context.Context, _ string, args ...string) (string, error) {
		if out, ok := answers[strings.Join(args, " ")]; ok {
			return out, nil
		}
		return "", errors.New("fatal: no such thing")
	}
}

func TestRead(t *testing.T) {
	run := fakeGit(map[string]string{
		"rev-parse --is-inside-work-tree":         "true\n",
		"log -1 --format=%H %ct":                  "0123456789abcdef0123456789abcdef01234567 1767225600\n",
		"remote get-url origin":                   "git@github.com:org/app.git\n",
		"tag --points-at HEAD --sort=-v:refname":  "v1.10.0\nv1.9.0\n",
		"status --porcelain --untracked-files=no": " M main.go\n",
	})
	got, err := Read(context.Background(), "/src", run)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Commit: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Source: "https://github.com/org/app", Tag: "v1.10.0", Dirty: true}
	if *got != want {
		t.Errorf("Read = %+v, want %+v", *got, want)
	}

	// no remote, no tag, clean
	run = fakeGit(map[string]string{
		"rev-parse --is-inside-work-tree":         "true\n",
		"log -1 --format=%H %ct":                  "abc 1\n",
		"tag --points-at HEAD --sort=-v:refname":  "",
		"status --porcelain --untracked-files=no": "",
	})
	if got, err = Read(context.Background(), "/src", run); err != nil || *got != (Info{Commit: "abc", Time: time.Unix(1, 0).UTC()}) {
		t.Errorf("Read = %+v, %v", got, err)
	}

	if _, err := Read(context.Background(), "/tmp", fakeGit(nil)); !errors.Is(err, ErrNotGit) {
		t.Errorf("outside a checkout: %v, want ErrNotGit", err)
	}
	run = fakeGit(map[string]string{"rev-parse --is-inside-work-tree": "true\n", "log -1 --format=%H %ct": "\n"})
	if _, err := Read(context.Background(), "/src", run); err == nil || !strings.Contains(err.Error(), "it has no commit yet") {
		t.Errorf("a checkout without commits: %v", err)
	}
}

// Read against the real git: a fresh repository with one tagged commit.
func TestReadRealGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"remote", "add", "origin", "https://ci:TOKEN1234@git.example.com/team/app.git"},
		{"commit", "-q", "--allow-empty", "-m", "one"},
		{"tag", "v0.1.0"},
	} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Read(context.Background(), filepath.Join(dir, "sub"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Commit) != 40 || !got.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || got.Source != "https://git.example.com/team/app" || got.Tag != "v0.1.0" || got.Dirty {
		t.Errorf("Read = %+v", got)
	}
	if _, err := Read(context.Background(), t.TempDir(), nil); !errors.Is(err, ErrNotGit) {
		t.Errorf("a plain directory: %v", err)
	}
}

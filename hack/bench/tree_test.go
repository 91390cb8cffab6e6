package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// treeState names the commit and says whether tracked files changed; the
// benchmark document itself does not count (an earlier run wrote it).
func TestTreeState(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		c := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("main.go", "package main\n")
	write("docs/BENCHMARKS.md", "old\n")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	out := filepath.Join(repo, "docs", "BENCHMARKS.md")

	commit, dirty, err := treeState(repo, out)
	if err != nil || dirty || len(commit) != 12 {
		t.Fatalf("clean tree: %q %v %v", commit, dirty, err)
	}
	write("docs/BENCHMARKS.md", "new figures\n")
	write("untracked.txt", "x")
	if _, dirty, _ := treeState(repo, out); dirty {
		t.Error("the document itself or an untracked file made the tree dirty")
	}
	write("main.go", "package main // changed\n")
	if _, dirty, _ := treeState(repo, out); !dirty {
		t.Error("a changed tracked file did not make the tree dirty")
	}
}

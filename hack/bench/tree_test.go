package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// P1's baseline: xbuild's per-platform by-digest build becomes one buildx
// build of both platforms on one builder, pushed under the tag.
func TestPlainBuildxArgs(t *testing.T) {
	in := []string{"build", "--builder", "xbuild-node-amd1", "--file", "Dockerfile", "--platform", "linux/amd64", "--label", "a=b",
		"--output", "type=image,name=r/app,push-by-digest=true,name-canonical=true,push=true,compression=zstd,oci-mediatypes=true", "--provenance", "mode=min", "."}
	got, err := plainBuildxArgs(in, "p1bx", "linux/amd64,linux/arm64", "r/app:1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build", "--builder", "p1bx", "--file", "Dockerfile", "--platform", "linux/amd64,linux/arm64", "--label", "a=b",
		"--output", "type=image,name=r/app:1,push=true,compression=zstd,oci-mediatypes=true", "--provenance", "mode=min", "."}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if in[2] != "xbuild-node-amd1" {
		t.Error("the input was changed")
	}
	if _, err := plainBuildxArgs([]string{"build", "."}, "b", "p", "r"); err == nil {
		t.Error("a build without --builder, --platform and --output was rewritten")
	}
}

func TestParseInitTrace(t *testing.T) {
	pkg, ms, ok := parseInitTrace("init github.com/santhosh-tekuri/jsonschema/v6 @12 ms, 4.8 ms clock, 2039184 bytes, 27009 allocs")
	if !ok || pkg != "github.com/santhosh-tekuri/jsonschema/v6" || ms != 4.8 {
		t.Errorf("got %q %v %v", pkg, ms, ok)
	}
	if _, _, ok := parseInitTrace("xbuild version v1"); ok {
		t.Error("a line that is not an init trace was read")
	}
}

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --push-by-digest and --digest-file reach the pipeline: the dry run says
// the platform is pushed by digest with no index and no tag, names the
// digest file, says once that the tag is ignored, and writes nothing.
func TestBuildPushByDigestFlags(t *testing.T) {
	be := newBuildEnv(t)
	be.register(t)
	ctx := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "d", "arm64.json")
	if err := be.build(t, ctx, "--dry-run", "--platform", "linux/arm64", "-t", "registry.example.com/team/app:1.0", "--push-by-digest", "--digest-file", file); err != nil {
		t.Fatalf("%v\n%s", err, be.errOut)
	}
	out := be.out.String()
	want := "\nThen: each platform pushed by digest to registry.example.com/team/app and verified by that digest; no index, no tag (push-by-digest); the digest file written to " + file + " for xbuild merge\n"
	if !strings.HasSuffix(out, want) || !strings.Contains(out, "push-by-digest=true") {
		t.Errorf("plan:\n%s", out)
	}
	if n := strings.Count(be.errOut.String(), "the tag in registry.example.com/team/app:1.0 is ignored here"); n != 1 {
		t.Errorf("the ignored tag is said %d times:\n%s", n, be.errOut)
	}
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("the dry run made the digest file's directory")
	}

	// --digest-file alone is refused, naming the flag
	err := be.build(t, ctx, "--dry-run", "-t", "registry.example.com/team/app:1.0", "--digest-file", file)
	if err == nil || err.Error() != "digest-file (from --digest-file): is written by a push-by-digest build only: add --push-by-digest (or push-by-digest: true), or drop it" {
		t.Errorf("err = %v", err)
	}
}

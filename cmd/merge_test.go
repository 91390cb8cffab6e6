package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xbuild-dev/xbuild/pipeline"
)

// mergeRegistry is the verify fake plus the writes a merge makes: the
// per-platform pushes exist, PushIndex answers the fake's index, tags are
// recorded.
type mergeRegistry struct {
	*fakeVerifyRegistry
	mu      sync.Mutex
	present map[string]bool
	merged  []string
	tags    []string
}

func (r *mergeRegistry) Exists(_ context.Context, ref string) (bool, error) {
	return r.present[ref], nil
}

func (r *mergeRegistry) PushIndex(_ context.Context, _ string, sources []string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merged = append(r.merged, sources...)
	return r.index.Digest, nil
}

func (r *mergeRegistry) Tag(_ context.Context, _, digest string, tags []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tags {
		r.tags = append(r.tags, t+" -> "+digest)
	}
	return nil
}

const usageHint = "Run 'xbuild --help' or 'xbuild COMMAND --help' for usage.\n"

var (
	amdPush = "sha256:" + strings.Repeat("a1", 32)
	armPush = "sha256:" + strings.Repeat("b2", 32)
)

// digestFiles writes two runners' digest files into dir/amd64 and dir/arm64.
func digestFiles(t *testing.T, dir, repo string) {
	t.Helper()
	for plat, d := range map[string]string{"linux/amd64": amdPush, "linux/arm64": armPush} {
		f := &pipeline.DigestFile{Schema: pipeline.DigestFileSchema, SchemaVersion: pipeline.DigestFileVersion, Repository: repo,
			Platforms: []pipeline.DigestEntry{{Platform: plat, Digest: d, Node: "local", Result: "built"}}}
		if err := pipeline.WriteDigestFile(filepath.Join(dir, strings.ReplaceAll(plat, "/", "-"), "digests.json"), f); err != nil {
			t.Fatal(err)
		}
	}
}

// `xbuild merge` with the project's xbuild.yaml (which the runners share,
// push-by-digest and digest-file included): the files of a directory are
// merged, verified, and only then tagged; --report json is the build's
// report.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	digestFiles(t, filepath.Join(dir, "digests"), "registry.example.com/team/app")
	cfg := filepath.Join(dir, "xbuild.yaml")
	if err := os.WriteFile(cfg, []byte("image: registry.example.com/team/app\npush-by-digest: true\ndigest-file: out/d.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := &mergeRegistry{fakeVerifyRegistry: pushedImage(), present: map[string]bool{
		"registry.example.com/team/app@" + amdPush: true, "registry.example.com/team/app@" + armPush: true}}
	code, out, errOut := runCLI(t, reg, nil, "merge", "--config", cfg, "-t", "registry.example.com/team/app:1.0", "-t", "registry.example.com/team/app:latest",
		filepath.Join(dir, "digests"), "--report", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if got := strings.Join(reg.merged, " "); got != "registry.example.com/team/app@"+amdPush+" registry.example.com/team/app@"+armPush {
		t.Errorf("merged %s", got)
	}
	if got := strings.Join(reg.tags, ", "); got != "registry.example.com/team/app:1.0 -> "+indexDigest+", registry.example.com/team/app:latest -> "+indexDigest {
		t.Errorf("tags %s", got)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.Published || rep.Digest != indexDigest || rep.PushByDigest || rep.Digests != nil || len(rep.Platforms) != 2 || !rep.Verify.OK {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("merge wrote a digest file: %v", err)
	}
}

// A merge that cannot tag says why and exits 1 (a missing platform) or 2
// (no tag to write), writing no tag.
func TestMergeCommandFailures(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no tag", nil, ExitUsage, "Error: no tag to write: pass -t REGISTRY/REPOSITORY:TAG (or set image and tags in xbuild.yaml)\n" + usageHint},
		{"no file", []string{"-t", "registry.example.com/team/app:1"}, ExitUsage, "Error: \"xbuild merge\" needs the digest files (or directories of them) written by xbuild build --push-by-digest --digest-file\n" + usageHint},
		{"a platform missing", []string{"-t", "registry.example.com/team/app:1", "--platform", "linux/amd64,linux/arm64,linux/s390x", "{dir}"}, ExitFailure,
			"• merging the platforms pushed by digest\nError: merge: linux/s390x is missing: no digest file has it (the files hold linux/amd64, linux/arm64); did its build job fail, or its file not reach this job?\n"},
		{"a bad flag value", []string{"-t", "registry.example.com/team/app:1", "--compression", "lz4", "{dir}"}, ExitFailure,
			"Error: compression (from --compression): \"lz4\" is not one of gzip, zstd, uncompressed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			digestFiles(t, dir, "registry.example.com/team/app")
			reg := &mergeRegistry{fakeVerifyRegistry: pushedImage()}
			args := []string{"merge"}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			if tc.name == "no tag" {
				args = append(args, dir)
			}
			code, _, errOut := runCLI(t, reg, nil, args...)
			if code != tc.code || errOut != tc.stderr {
				t.Errorf("exit %d\nstderr %q\nwant   %q", code, errOut, tc.stderr)
			}
			if len(reg.tags) != 0 || len(reg.merged) != 0 {
				t.Errorf("tags %v, merged %v", reg.tags, reg.merged)
			}
		})
	}
}

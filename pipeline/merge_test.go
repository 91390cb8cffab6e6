package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/redact"
)

// writeDigests writes a digest file of repo with entries "platform digest node".
func writeDigests(t *testing.T, dir, name, repo string, entries ...string) string {
	t.Helper()
	f := DigestFile{Schema: DigestFileSchema, SchemaVersion: DigestFileVersion, XbuildVersion: "v1.0.0", Repository: repo}
	for _, e := range entries {
		parts := strings.Fields(e)
		f.Platforms = append(f.Platforms, DigestEntry{Platform: parts[0], Digest: parts[1], Node: parts[2], Result: "built", Verify: DigestVerify{Result: "passed", Checks: 6}})
	}
	p := filepath.Join(dir, name)
	if err := WriteDigestFile(p, &f); err != nil {
		t.Fatal(err)
	}
	return p
}

type mergeHarness struct {
	state *State
	reg   *fakeRegistry
	out   *lockedBuffer
	err   *lockedBuffer
}

// newMerge is `xbuild merge -t registry.example.com/team/app:1.0 FILES...`
// against a registry holding both platforms' pushes (pushAMD, pushARM)
// and, once merged, the index of pushedRegistry.
func newMerge(t *testing.T, files ...string) *mergeHarness {
	t.Helper()
	cfg := config.Defaults()
	cfg.Tags, cfg.Push = []string{"registry.example.com/team/app:1.0", "registry.example.com/team/app:latest"}, true
	reg := byDigestRegistry("gzip")
	reg.present = map[string]bool{"registry.example.com/team/app@" + pushAMD: true, "registry.example.com/team/app@" + pushARM: true}
	h := &mergeHarness{reg: reg, out: &lockedBuffer{}, err: &lockedBuffer{}}
	h.state = &State{
		Config: cfg, Options: Options{DigestFiles: files},
		Getenv: func(k string) string { return map[string]string{"HTTPS_PROXY": "http://bob:pw1234@proxy:3128"}[k] },
		Now:    time.Now, Out: h.out, Err: h.err, Log: &TextLogger{W: h.err}, Secrets: redact.New(), Registry: reg,
	}
	return h
}

// The merge job: two runners' files become one index (in the order of the
// requested platforms), verified as a build's index, then tagged.
func TestMergeAssemblesVerifiesThenTags(t *testing.T) {
	dir := t.TempDir()
	arm := writeDigests(t, filepath.Join(dir, "digests-linux-arm64"), "d.json", "registry.example.com/team/app", "linux/arm64 "+pushARM+" arm-runner")
	amd := writeDigests(t, filepath.Join(dir, "digests-linux-amd64"), "d.json", "registry.example.com/team/app", "linux/amd64 "+pushAMD+" amd-runner")
	h := newMerge(t, dir)
	h.state.Config.Report = "json"
	if err := Run(context.Background(), h.state, MergeSteps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if want := [][]string{{"registry.example.com/team/app@" + pushAMD, "registry.example.com/team/app@" + pushARM}}; !reflect.DeepEqual(h.reg.merged, want) {
		t.Errorf("merged %q", h.reg.merged)
	}
	if want := map[string]string{"registry.example.com/team/app:1.0": indexDigest, "registry.example.com/team/app:latest": indexDigest}; !reflect.DeepEqual(h.reg.tags, want) {
		t.Errorf("tags %v", h.reg.tags)
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, h.out)
	}
	if !rep.Published || rep.Digest != indexDigest || rep.Verify == nil || !rep.Verify.OK || len(rep.Platforms) != 2 ||
		rep.Platforms[0].Node != "amd-runner" || rep.Platforms[1].Node != "arm-runner" || rep.Platforms[0].CompressedSize != 1_500_500 {
		t.Errorf("report = %+v", rep)
	}
	if got := stepNames(rep.Steps); got != "merge verify sign publish" {
		t.Errorf("steps = %q", got)
	}
	errOut := h.err.String()
	for _, want := range []string{
		"linux/amd64: registry.example.com/team/app@" + pushAMD + " (node amd-runner, from " + amd + ")",
		"linux/arm64: registry.example.com/team/app@" + pushARM + " (node arm-runner, from " + arm + ")",
		"index registry.example.com/team/app@" + indexDigest + " pushed by digest, not tagged yet: verifying it first",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// MergeSteps are the build's steps after its build step: a step added
// there (signing, say) runs in a merge too.
func TestMergeStepsFollowTheBuild(t *testing.T) {
	var names []string
	for _, st := range MergeSteps() {
		names = append(names, st.Name())
	}
	var after []string
	seen := false
	for _, st := range Steps() {
		if seen {
			after = append(after, st.Name())
		}
		seen = seen || st.Name() == "build"
	}
	if want := append([]string{"merge"}, after...); !reflect.DeepEqual(names, want) {
		t.Errorf("merge steps %v, want %v", names, want)
	}
}

// Each failure exits before any tag: the digest files that disagree are
// named, a digest the registry lacks is named, a failed verify of the
// index leaves it untagged.
func TestMergeFailuresWriteNoTag(t *testing.T) {
	const repo = "registry.example.com/team/app"
	tests := []struct {
		name    string
		files   func(t *testing.T, dir string) []string
		setup   func(h *mergeHarness)
		wantErr []string
		merged  bool // an index was pushed (by digest) before the failure
	}{
		{name: "a platform missing", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "amd.json", repo, "linux/amd64 "+pushAMD+" a")}
		}, wantErr: []string{"merge: linux/arm64 is missing: no digest file has it (the files hold linux/amd64); did its build job fail, or its file not reach this job?"}},
		{name: "a platform twice", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b"),
				writeDigests(t, dir, "b.json", repo, "linux/arm64 "+hexDigest("c3")+" c")}
		}, wantErr: []string{"linux/arm64 is in two digest files: {dir}/a.json (sha256:b2b2b2b2b2b2) and {dir}/b.json (sha256:c3c3c3c3c3c3); merge one of them"}},
		{name: "a platform not asked for", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b", "linux/s390x "+hexDigest("c3")+" c")}
		}, wantErr: []string{"linux/s390x (in {dir}/a.json) was not asked for: the platforms are linux/amd64, linux/arm64 (the platforms key of xbuild.yaml, or --platform)"}},
		{name: "mixed repositories", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a"), writeDigests(t, dir, "b.json", "registry.example.com/team/other", "linux/arm64 "+pushARM+" b")}
		}, wantErr: []string{"the digest files push to different repositories: registry.example.com/team/app ({dir}/a.json); registry.example.com/team/other ({dir}/b.json); an index lists manifests of one repository only"}},
		{name: "tags in another repository", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", "registry.example.com/team/other", "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b")}
		}, wantErr: []string{"the digest files were pushed to registry.example.com/team/other, but the tags are in registry.example.com/team/app"}},
		{name: "a digest not in the registry", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+hexDigest("dd")+" b")}
		}, wantErr: []string{"merge: linux/arm64: registry.example.com/team/app@" + hexDigest("dd") + " (from {dir}/a.json) is not in the registry: was it pushed to another registry, or deleted since? run its build job again"}},
		{name: "the index fails verify", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b")}
		}, setup: func(h *mergeHarness) { h.reg.files["sha256:arm64/app"] = elfHeader(62) },
			wantErr: []string{"verify: 2 check(s) failed on the unverified index registry.example.com/team/app@" + indexDigest, "linux/arm64 binary-arch: /app is x86-64",
				"linux/amd64, linux/arm64 identical-binary: /app is byte-identical in linux/amd64 and linux/arm64", "no tag was created or moved"},
			merged: true},
		{name: "the size budget", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b")}
		}, setup: func(h *mergeHarness) { h.state.Config.SizeBudget = "1.45MB" },
			wantErr: []string{"size-budget: linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB"}, merged: true},
		{name: "a proxy value of this environment in the image", files: func(t *testing.T, dir string) []string {
			return []string{writeDigests(t, dir, "a.json", repo, "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b")}
		}, setup: func(h *mergeHarness) {
			h.reg.images["sha256:arm64"].Env = append(h.reg.images["sha256:arm64"].Env, "HTTPS_PROXY=http://bob:pw1234@proxy:3128")
		}, wantErr: []string{"linux/arm64 no-proxy-leak: a proxy value passed as a build argument appears in image config env, labels and history (value not shown)"}, merged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := newMerge(t, tc.files(t, dir)...)
			if tc.setup != nil {
				tc.setup(h)
			}
			err := Run(context.Background(), h.state, MergeSteps())
			if err == nil {
				t.Fatalf("Run succeeded\n%s", h.err)
			}
			for _, w := range tc.wantErr {
				if w = strings.ReplaceAll(w, "{dir}", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error()+h.err.String()+h.out.String(), "pw1234") {
				t.Errorf("the proxy password leaked")
			}
			if len(h.reg.tags) != 0 {
				t.Errorf("tags written: %v", h.reg.tags)
			}
			if got := len(h.reg.merged) > 0; got != tc.merged {
				t.Errorf("index pushed: %v, want %v", got, tc.merged)
			}
		})
	}
}

// A failed tag write is the publish step's error, after verify passed.
func TestMergeTagFailure(t *testing.T) {
	dir := t.TempDir()
	h := newMerge(t, writeDigests(t, dir, "a.json", "registry.example.com/team/app", "linux/amd64 "+pushAMD+" a", "linux/arm64 "+pushARM+" b"))
	h.reg.tagErr = errors.New("writing tag registry.example.com/team/app:1.0: 403 Forbidden")
	err := Run(context.Background(), h.state, MergeSteps())
	if err == nil || err.Error() != "publish: writing tag registry.example.com/team/app:1.0: 403 Forbidden" {
		t.Fatalf("Run: %v", err)
	}
	if h.state.Verify == nil || !h.state.Verify.OK {
		t.Errorf("verify = %+v", h.state.Verify)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

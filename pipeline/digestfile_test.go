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

	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/version"
)

// hexDigest is a well-formed digest made of one repeated hex byte.
func hexDigest(b string) string { return "sha256:" + strings.Repeat(b, 32) }

// Digests a by-digest build pushes for each platform in these tests: an
// index of the image and its attestation, as buildx pushes with provenance.
var (
	pushAMD = hexDigest("a1")
	pushARM = hexDigest("b2")
)

// byDigestRegistry is pushedRegistry plus each platform's own push by
// digest (pushAMD, pushARM), an index of the platform image and its
// attestation.
func byDigestRegistry(compression string) *fakeRegistry {
	reg := pushedRegistry(compression)
	reg.indexes = map[string]*registry.Index{
		"registry.example.com/team/app@" + pushAMD: {Digest: pushAMD, Manifests: []registry.Manifest{
			{Digest: "sha256:amd64", Platform: "linux/amd64"},
			{Digest: "sha256:att", Platform: "unknown/unknown", Attestation: true, AttestsTo: "sha256:amd64"}}},
		"registry.example.com/team/app@" + pushARM: {Digest: pushARM, Manifests: []registry.Manifest{
			{Digest: "sha256:arm64", Platform: "linux/arm64"}}},
	}
	return reg
}

func byDigestConfig(t *testing.T, platforms ...string) (h *harness, file string) {
	t.Helper()
	cfg := pushConfig()
	cfg.Tags = []string{"registry.example.com/team/app:1.0"}
	cfg.Image = ""
	cfg.PushByDigest = true
	cfg.Platforms = platforms
	cfg.DigestFile = filepath.Join(t.TempDir(), "out", "digests.json")
	h = newHarness(t, cfg)
	h.eng.pushes = map[string]string{"linux/amd64": pushAMD, "linux/arm64": pushARM}
	return h, cfg.DigestFile
}

// A runner's half: the platform is built on its node and pushed by digest,
// verified by that digest (no index is assembled), no tag is written, and
// the digest file says what was pushed; the tag given is ignored, once,
// in so many words.
func TestPipelinePushByDigest(t *testing.T) {
	h, file := byDigestConfig(t, "linux/arm64")
	reg := byDigestRegistry("gzip")
	h.state.Registry = reg
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-arm1 linux/arm64" {
		t.Fatalf("builds = %s", got)
	}
	if spec := h.eng.builds[0]; spec.Image == nil || !spec.Image.PushByDigest || spec.Image.Name != "registry.example.com/team/app" || len(spec.Tags) != 0 {
		t.Errorf("spec image %+v, tags %v", spec.Image, spec.Tags)
	}
	if len(reg.merged) != 0 || len(reg.tags) != 0 {
		t.Errorf("merged %v, tagged %v: a by-digest build writes neither an index nor a tag", reg.merged, reg.tags)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got DigestFile
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := DigestFile{Schema: "xbuild/digests", SchemaVersion: 1, XbuildVersion: version.Version, Repository: "registry.example.com/team/app",
		Platforms: []DigestEntry{{Platform: "linux/arm64", Digest: pushARM, ImageDigest: "sha256:arm64", Size: 1_400_500, Node: "arm1", Result: "built",
			Verify: DigestVerify{Result: "passed", Checks: 6}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("digest file:\n%+v\nwant\n%+v\n%s", got, want, data)
	}
	var checks []string
	for _, c := range h.state.Verify.Checks {
		checks = append(checks, c.Platform+" "+c.Name)
	}
	if g := strings.Join(checks, ","); g != "linux/arm64 digest,linux/arm64 platforms,linux/arm64 config-platform,linux/arm64 compression,"+
		"linux/arm64 no-proxy-leak,linux/arm64 binary-arch" {
		t.Errorf("checks = %s", g)
	}
	errOut := h.err.String()
	if n := strings.Count(errOut, "the tag in registry.example.com/team/app:1.0 is ignored here (xbuild merge writes the tags)"); n != 1 {
		t.Errorf("the ignored tag is said %d times:\n%s", n, errOut)
	}
	for _, want := range []string{
		"Pushed by digest to registry.example.com/team/app, verified, not tagged (push-by-digest)",
		"Digest file " + file,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if got := h.out.String(); got != "registry.example.com/team/app@"+pushARM+"\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := stepNames(h.state.Timings); got != "lint plan build verify sign publish report" {
		t.Errorf("steps = %q", got)
	}
}

// With --report json, the report carries the digest file's content.
func TestPipelinePushByDigestJSONReport(t *testing.T) {
	h, file := byDigestConfig(t, "linux/amd64", "linux/arm64")
	h.state.Config.Report = "json"
	h.state.Registry = byDigestRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, h.out)
	}
	if !rep.PushByDigest || rep.Published || rep.DigestFile != file || rep.Digests == nil || len(rep.Digests.Platforms) != 2 ||
		rep.Digests.Platforms[0].Digest != pushAMD || rep.Digests.Platforms[1].Digest != pushARM || rep.Digest != "" || !rep.Verify.OK {
		t.Errorf("report = %+v (digests %+v)", rep, rep.Digests)
	}
}

// A platform that fails its verify by digest fails the build: no digest
// file (the merge job cannot pick the platform up), no tag, no index.
func TestPipelinePushByDigestVerifyFailureWritesNoFile(t *testing.T) {
	h, file := byDigestConfig(t, "linux/arm64")
	reg := byDigestRegistry("gzip")
	reg.files["sha256:arm64/app"] = elfHeader(62) // an x86-64 binary in the arm64 image
	h.state.Registry = reg
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "verify: 1 check(s) failed on the platforms pushed by digest to registry.example.com/team/app:\n  linux/arm64 binary-arch: /app is x86-64") ||
		!strings.Contains(err.Error(), "no digest file was written") {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("digest file: %v", err)
	}
	if len(reg.merged) != 0 || len(reg.tags) != 0 {
		t.Errorf("merged %v, tagged %v", reg.merged, reg.tags)
	}
}

// verify: false still checks the size budget per platform, and the digest
// file says the platforms were not verified.
func TestPipelinePushByDigestVerifyOff(t *testing.T) {
	h, file := byDigestConfig(t, "linux/amd64")
	h.state.Config.Verify = false
	h.state.Config.SizeBudget = "1MB"
	h.state.Registry = byDigestRegistry("gzip")
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "linux/amd64 size-budget: linux/amd64 image is 1.50 MB compressed, over the size budget of 1.00 MB") {
		t.Fatalf("Run: %v", err)
	}
	h.state.Config.SizeBudget = ""
	if err := h.rerun(t); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	f, err := readDigestFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if e := f.Platforms[0]; e.Verify != (DigestVerify{Result: "skipped"}) || e.Size != 1_500_500 {
		t.Errorf("entry = %+v", e)
	}
	if !strings.Contains(h.err.String(), "not verified (verify: false)") {
		t.Errorf("stderr:\n%s", h.err)
	}
}

// The dry run says what happens after the builds: no index, no tag.
func TestPipelinePushByDigestDryRun(t *testing.T) {
	h, file := byDigestConfig(t, "linux/arm64")
	h.state.Options.DryRun = true
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	want := "\nThen: each platform pushed by digest to registry.example.com/team/app and verified by that digest; no index, no tag (push-by-digest); the digest file written to " + file + " for xbuild merge\n"
	if !strings.HasSuffix(h.out.String(), want) {
		t.Errorf("plan:\n%s\nwant suffix %q", h.out, want)
	}
	if _, err := os.Stat(filepath.Dir(file)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run made %s", filepath.Dir(file))
	}
}

func TestReadDigestFiles(t *testing.T) {
	good := `{"schema":"xbuild/digests","schemaVersion":1,"xbuildVersion":"v1.0.0","repository":"r.example/app","platforms":[{"platform":"linux/aarch64","digest":"` + pushARM + `"}]}`
	tests := []struct {
		name    string
		files   map[string]string
		args    []string
		want    []string // path platform digest
		wantErr string
	}{
		{name: "a file, platform normalized", files: map[string]string{"a.json": good}, args: []string{"a.json"},
			want: []string{"a.json linux/arm64 " + pushARM}},
		{name: "a directory at any depth, each file once", files: map[string]string{"d/x/a.json": good, "d/notes.txt": "hi"}, args: []string{"d", "d/x/a.json"},
			want: []string{"d/x/a.json linux/arm64 " + pushARM}},
		{name: "unknown fields are ignored", files: map[string]string{"a.json": strings.Replace(good, `"platforms"`, `"later":1,"platforms"`, 1)}, args: []string{"a.json"},
			want: []string{"a.json linux/arm64 " + pushARM}},
		{name: "missing", args: []string{"nope.json"}, wantErr: "digest file nope.json: no such file or directory"},
		{name: "empty directory", files: map[string]string{"d/a.txt": ""}, args: []string{"d"},
			wantErr: "directory d holds no digest file (*.json): did the build jobs' artifacts download there?"},
		{name: "not JSON", files: map[string]string{"a.json": "sha256:abc"}, args: []string{"a.json"},
			wantErr: "digest file a.json is not JSON (invalid character 's' looking for beginning of value): pass the files written by xbuild build --push-by-digest --digest-file"},
		{name: "another schema (a build report)", files: map[string]string{"a.json": `{"refs":["r.example/app:1"],"digest":"` + pushARM + `"}`}, args: []string{"a.json"},
			wantErr: `a.json is not an xbuild digest file (its schema is "", not "xbuild/digests"): pass the files written by xbuild build --push-by-digest --digest-file`},
		{name: "a newer version", files: map[string]string{"a.json": strings.Replace(strings.Replace(good, `"schemaVersion":1`, `"schemaVersion":2`, 1), "v1.0.0", "v9.0.0", 1)}, args: []string{"a.json"},
			wantErr: "digest file a.json has schema version 2 (written by xbuild v9.0.0); this xbuild (" + version.Version + ") reads version 1: use the same xbuild release in the build and merge jobs"},
		{name: "bad digest", files: map[string]string{"a.json": strings.Replace(good, pushARM, "sha256:abc", 1)}, args: []string{"a.json"},
			wantErr: `digest file a.json: linux/arm64: digest "sha256:abc" is not sha256:<64 hex digits>`},
		{name: "bad platform", files: map[string]string{"a.json": strings.Replace(good, "linux/aarch64", "linux/", 1)}, args: []string{"a.json"},
			wantErr: "digest file a.json: entry 1: "},
		{name: "a tag for a repository", files: map[string]string{"a.json": strings.Replace(good, "r.example/app", "r.example/app:1", 1)}, args: []string{"a.json"},
			wantErr: `digest file a.json: repository "r.example/app:1" is not a repository name (REGISTRY/PATH)`},
		{name: "no platform", files: map[string]string{"a.json": `{"schema":"xbuild/digests","schemaVersion":1,"repository":"r.example/app","platforms":[]}`}, args: []string{"a.json"},
			wantErr: "digest file a.json: lists no platform"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for p, c := range tc.files {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadDigestFiles(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v\nwant %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range got {
				for _, e := range f.File.Platforms {
					lines = append(lines, f.Path+" "+e.Platform+" "+e.Digest)
				}
			}
			if !reflect.DeepEqual(lines, tc.want) {
				t.Errorf("got %q, want %q", lines, tc.want)
			}
		})
	}
}

// With only an image (no tags), there is no tag to ignore: nothing is said.
func TestPipelinePushByDigestImageOnly(t *testing.T) {
	h, _ := byDigestConfig(t, "linux/arm64")
	h.state.Config.Image, h.state.Config.Tags = "registry.example.com/team/app", nil
	h.state.Registry = byDigestRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if strings.Contains(h.err.String(), "is ignored") {
		t.Errorf("stderr:\n%s", h.err)
	}
	if h.state.Digests == nil || h.state.Digests.Repository != "registry.example.com/team/app" {
		t.Errorf("digests = %+v", h.state.Digests)
	}
}

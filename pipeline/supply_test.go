package pipeline

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/gitinfo"
	"github.com/xbuild-dev/xbuild/internal/registry"
)

var testCommit = &gitinfo.Info{
	Commit: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	Source: "https://git.example.com/team/app", Tag: "v1.2.3",
}

func TestBuildLabels(t *testing.T) {
	c := config.Config{Image: "r/app", Tags: []string{"latest", "dev"}}
	got, err := buildLabels(testCommit, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		LabelSource: "https://git.example.com/team/app", LabelRevision: "0123456789abcdef0123456789abcdef01234567",
		LabelCreated: "2026-01-02T03:04:05Z", LabelVersion: "1.2.3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v\nwant   %v", got, want)
	}
	// the user's labels win; without a git tag the image tag is the version
	info := *testCommit
	info.Tag, info.Source = "", ""
	c.Labels = []string{LabelRevision + "=mine", "team=core"}
	got, _ = buildLabels(&info, c)
	want = map[string]string{LabelRevision: "mine", LabelCreated: "2026-01-02T03:04:05Z", LabelVersion: "dev", "team": "core"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels %v\nwant   %v", got, want)
	}
	// outside a checkout: the user's labels only
	if got, _ := buildLabels(nil, config.Config{}); got != nil {
		t.Errorf("no git, no labels: %v", got)
	}
}

func TestImageVersion(t *testing.T) {
	tests := []struct {
		tag  string
		refs []string
		want string
	}{
		{"v1.2.3", []string{"r/app:9"}, "1.2.3"},
		{"release-7", nil, "release-7"},
		{"v", nil, "v"},
		{"", []string{"r/app:latest", "reg:5000/app:1.0"}, "1.0"},
		{"", []string{"reg:5000/app", "r/app@sha256:abc"}, ""},
		{"", nil, ""},
	}
	for _, tc := range tests {
		if got := imageVersion(tc.tag, tc.refs); got != tc.want {
			t.Errorf("imageVersion(%q, %q) = %q, want %q", tc.tag, tc.refs, got, tc.want)
		}
	}
}

func TestSplitAnnotations(t *testing.T) {
	build, index, _, err := splitAnnotations([]string{
		"org.opencontainers.image.title=App",
		"index,manifest:org.opencontainers.image.description=A service",
		"manifest[linux/arm64],manifest-descriptor[linux/arm64]:arch.note=arm",
		"index:team=core",
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantBuild := []string{"manifest:org.opencontainers.image.title=App", "manifest:org.opencontainers.image.description=A service",
		"manifest[linux/arm64],manifest-descriptor[linux/arm64]:arch.note=arm"}
	wantIndex := map[string]string{"org.opencontainers.image.description": "A service", "team": "core"}
	if !slices.Equal(build, wantBuild) || !maps.Equal(index, wantIndex) {
		t.Errorf("build %q\nindex %v", build, index)
	}
	// -o outputs: the OCI layout xbuild merges gets index and index-descriptor
	if b, i, d, err := splitAnnotations([]string{"index:k=v", "index-descriptor:d=w"}, true); err != nil || b != nil ||
		!maps.Equal(i, map[string]string{"k": "v"}) || !maps.Equal(d, map[string]string{"d": "w"}) {
		t.Errorf("outputs: %q %v %v %v", b, i, d, err)
	}
	for in, want := range map[string]string{
		"index-descriptor:k=v":   "index-descriptor annotations exist in OCI layouts only",
		"index[linux/amd64]:k=v": "an index annotation is for every platform; drop [linux/amd64]",
	} {
		if _, _, _, err := splitAnnotations([]string{in}, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestMaxProvenanceRefusal(t *testing.T) {
	for _, ok := range []map[string]string{
		{"HTTP_PROXY": "http://proxy.corp:3128", "NO_PROXY": "localhost,.corp", "VERSION": "1"},
		{"KEY_ID": "", "PASSWORD_FILE": ""},
		nil,
	} {
		if err := maxProvenanceRefusal(ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	err := maxProvenanceRefusal(map[string]string{"https_proxy": "http://bob:pw1234@proxy:3128", "ALL_PROXY": "bob:pw1234@socks:1080", "NPM_TOKEN": "npm_x", "VERSION": "1"})
	if err == nil {
		t.Fatal("no refusal")
	}
	for _, want := range []string{"ALL_PROXY carries credentials (value not shown), NPM_TOKEN looks like a secret (value not shown), https_proxy carries credentials (value not shown)", "keep --provenance min"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw1234") || strings.Contains(err.Error(), "npm_x") {
		t.Errorf("the refusal prints a value: %v", err)
	}
	if got := proxyCredentials([]string{"http://bob:pw1234@proxy:3128", "alice:s3cret@socks:1080", "http://proxy:3128", "localhost,.corp"}); !slices.Equal(got, []string{"bob:pw1234", "alice:s3cret"}) {
		t.Errorf("proxyCredentials = %q", got)
	}
}

func TestReproducibleEpoch(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string { return map[string]string{"SOURCE_DATE_EPOCH": v}[k] }
	}
	tests := []struct {
		info    *gitinfo.Info
		args    map[string]string
		getenv  func(string) string
		want    string
		wantErr string
	}{
		{info: testCommit, getenv: env(""), want: "1767323045"},
		{info: testCommit, args: map[string]string{"SOURCE_DATE_EPOCH": "42"}, getenv: env("7"), want: "42"},
		{info: nil, getenv: env("7"), want: "7"},
		{info: nil, getenv: env(""), wantErr: "the build context is not in a git checkout"},
		{info: testCommit, getenv: env("yesterday"), wantErr: `SOURCE_DATE_EPOCH "yesterday" is not a Unix time in seconds`},
	}
	for i, tc := range tests {
		got, err := reproducibleEpoch(tc.info, tc.args, tc.getenv)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%d: %q, %v; want error %q", i, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%d: %q, %v; want %q", i, got, err, tc.want)
		}
	}
}

func TestWithRewriteTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		"type=oci,dest=out.tar":                          "type=oci,dest=out.tar,rewrite-timestamp=true",
		"type=image,name=r/app,push=false":               "type=image,name=r/app,push=false,rewrite-timestamp=true",
		"type=local,dest=out":                            "type=local,dest=out",
		"type=docker,dest=a.tar,rewrite-timestamp=false": "type=docker,dest=a.tar,rewrite-timestamp=false",
	} {
		if got := withRewriteTimestamp(in); got != want {
			t.Errorf("withRewriteTimestamp(%q) = %q, want %q", in, got, want)
		}
	}
}

// With labels, annotations, max provenance, an SBOM and reproducible on,
// every platform's build carries them; the index annotations go on the
// merged index; the plan prints them.
func TestPipelineSupplySettings(t *testing.T) {
	cfg := pushConfig()
	cfg.Labels = []string{"team=core"}
	cfg.Annotations = []string{"index,manifest:org.opencontainers.image.title=App"}
	cfg.Provenance = config.ProvenanceMax
	cfg.SBOM = true
	cfg.SBOMGenerator = "docker.io/xbuild/sbom-generator:1"
	cfg.Reproducible = true
	h := newHarness(t, cfg)
	h.state.Getenv = func(string) string { return "" } // no proxy: max is allowed
	h.state.Git = func(context.Context, string) (*gitinfo.Info, error) { return testCommit, nil }
	reg := attestedRegistry("arm64")
	h.state.Registry = reg
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	var att []string
	for _, c := range h.state.Verify.Checks {
		if c.Name == "attestations" {
			att = append(att, c.Platform+": "+c.Detail)
		}
	}
	if want := []string{"linux/amd64: provenance (https://slsa.dev/provenance/v1), SBOM (SPDX-2.3, 2 packages)",
		"linux/arm64: provenance (https://slsa.dev/provenance/v1), SBOM (SPDX-2.3, 2 packages)"}; !slices.Equal(att, want) {
		t.Errorf("attestations checks %q", att)
	}
	wantLabels := map[string]string{"team": "core", LabelSource: testCommit.Source, LabelRevision: testCommit.Commit,
		LabelCreated: "2026-01-02T03:04:05Z", LabelVersion: "1.2.3"}
	for _, spec := range h.eng.builds {
		if !maps.Equal(spec.Labels, wantLabels) || !slices.Equal(spec.Annotations, []string{"manifest:org.opencontainers.image.title=App"}) ||
			spec.Provenance != "mode=max" || spec.SBOM != "generator=docker.io/xbuild/sbom-generator:1" ||
			spec.BuildArgs["SOURCE_DATE_EPOCH"] != "1767323045" || !spec.Image.RewriteTimestamp {
			t.Errorf("spec %+v (image %+v)", spec, spec.Image)
		}
	}
	if !maps.Equal(reg.annotations, map[string]string{"org.opencontainers.image.title": "App"}) {
		t.Errorf("index annotations %v", reg.annotations)
	}

	// an SBOM missing for one platform, or one that is not SPDX, fails verify
	for _, tc := range []struct {
		reg  *fakeRegistry
		want string
	}{
		{attestedRegistry(), "linux/arm64 attestations: no provenance or SPDX SBOM attestation for sha256:arm64"},
		{func() *fakeRegistry {
			r := attestedRegistry("arm64")
			r.blobs["sha256:sbom-arm64"] = []byte(`{"predicate":{"bomFormat":"CycloneDX"}}`)
			return r
		}(), "linux/arm64 attestations: an SPDX statement that is not an SPDX JSON document"},
	} {
		h.state.Registry = tc.reg
		if err := h.rerun(t); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "linux/amd64 attestations") {
			t.Errorf("Run: %v\nwant %q", err, tc.want)
		}
	}

	// max provenance with a proxy that carries credentials stops in the
	// plan, before any build
	h = newHarness(t, cfg)
	h.state.Git = func(context.Context, string) (*gitinfo.Info, error) { return testCommit, nil }
	h.state.Registry = pushedRegistry("gzip")
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "plan: provenance max records every build argument's value") || !strings.Contains(err.Error(), "HTTP_PROXY carries credentials") {
		t.Fatalf("Run: %v", err)
	}
	if len(h.eng.builds) != 0 {
		t.Errorf("%d builds ran", len(h.eng.builds))
	}

	// reproducible outside a checkout, without SOURCE_DATE_EPOCH
	cfg.Provenance = config.ProvenanceMin
	h = newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err == nil || !strings.Contains(err.Error(), "reproducible needs a date that does not change between builds") {
		t.Fatalf("Run: %v", err)
	}
}

// attestedRegistry is pushedRegistry whose amd64 image, and the images of
// extra (arm64), carry provenance and an SPDX SBOM, as BuildKit pushes them.
func attestedRegistry(extra ...string) *fakeRegistry {
	r := pushedRegistry("gzip")
	r.index.Manifests = r.index.Manifests[:2]
	for _, arch := range append([]string{"amd64"}, extra...) {
		att := "sha256:att-" + arch
		r.index.Manifests = append(r.index.Manifests, registry.Manifest{Digest: att, Platform: "unknown/unknown", Attestation: true, AttestsTo: "sha256:" + arch})
		r.images[att] = &registry.Image{Digest: att, Layers: []registry.Layer{
			{Digest: "sha256:prov-" + arch, Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"}},
			{Digest: "sha256:sbom-" + arch, Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"}},
		}}
		r.blobs["sha256:prov-"+arch] = []byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`)
		r.blobs["sha256:sbom-"+arch] = []byte(`{"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","packages":[{"name":"a"},{"name":"b"}]}}`)
	}
	return r
}

// With -o outputs (one buildx build per platform, merged by xbuild),
// reproducible rewrites the timestamps of the outputs that write layers,
// index annotations are left for the merged index, and the user's -o list
// is left as given.
func TestPipelineSupplyOutputs(t *testing.T) {
	cfg := config.Defaults()
	cfg.Reproducible = true
	cfg.SBOM = true
	cfg.Annotations = []string{"index:k=v"}
	h := newHarness(t, cfg)
	h.state.Git = func(context.Context, string) (*gitinfo.Info, error) { return testCommit, nil }
	dir := t.TempDir() // the exports are written: not into the source tree
	tarball, local := "type=oci,dest="+filepath.Join(dir, "out.tar"), "type=local,dest="+filepath.Join(dir, "out")
	h.state.Options.Outputs = []string{tarball, local}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if len(h.eng.builds) != 2 {
		t.Fatalf("%d builds", len(h.eng.builds))
	}
	spec := h.eng.builds[0]
	if len(spec.Outputs) != 2 || !strings.Contains(spec.Outputs[0], "type=oci,") || !strings.Contains(spec.Outputs[0], ",rewrite-timestamp=true,") ||
		spec.Outputs[1] != local+"/"+platformDir(spec.Platforms[0]) ||
		spec.Annotations != nil || spec.SBOM != "true" || spec.Provenance != "" ||
		spec.BuildArgs["SOURCE_DATE_EPOCH"] != "1767323045" {
		t.Errorf("spec %+v", spec)
	}
	if !slices.Equal(h.state.Options.Outputs, []string{tarball, local}) {
		t.Errorf("the -o list was changed: %q", h.state.Options.Outputs)
	}
}

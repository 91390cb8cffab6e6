package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

func TestCheckIndexPlatforms(t *testing.T) {
	m := func(ps ...string) *registry.Index {
		idx := &registry.Index{Digest: "sha256:aaa"}
		for _, p := range ps {
			idx.Manifests = append(idx.Manifests, registry.Manifest{Platform: p})
		}
		idx.Manifests = append(idx.Manifests, registry.Manifest{Platform: "unknown/unknown", Attestation: true})
		return idx
	}
	tests := []struct {
		name      string
		platforms []string
		idx       *registry.Index
		want      Check
	}{
		{"the index's own", nil, m("linux/arm64", "linux/amd64"),
			Check{Name: "platforms", OK: true, Detail: "index has linux/amd64, linux/arm64 (no platforms requested: each is checked as listed)"}},
		{"a single manifest", nil, m("linux/amd64"),
			Check{Name: "platforms", OK: true, Detail: "index has linux/amd64 (no platforms requested: each is checked as listed)"}},
		{"listed twice", nil, m("linux/arm64", "linux/amd64", "linux/aarch64"),
			Check{Name: "platforms", Detail: "index has [linux/amd64, linux/arm64, linux/arm64]: linux/arm64 listed more than once"}},
		{"only attestations", nil, m(),
			Check{Name: "platforms", Detail: "the index lists no platform image (only attestations)"}},
		// an index may spell a platform its own way (Docker Hub's arm64/v8)
		{"normalized both sides", []string{"linux/aarch64", "linux/amd64"}, m("linux/arm64/v8", "linux/amd64"),
			Check{Name: "platforms", OK: true, Detail: "index has exactly linux/amd64, linux/arm64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkIndex(VerifyRequest{Platforms: tc.platforms}, tc.idx)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCheckLayersAgree(t *testing.T) {
	l := func(d, mt string) registry.Layer {
		return registry.Layer{Digest: "sha256:" + strings.Repeat(d, 64), MediaType: mt}
	}
	gz, zs := "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd"
	tests := []struct {
		name   string
		layers []registry.Layer
		want   Check
	}{
		{"all zstd", []registry.Layer{l("a", zs), l("b", zs)},
			Check{Name: "compression", Platform: "linux/amd64", OK: true, Detail: "2 layer(s), all zstd (no compression requested: checked that the layers agree)"}},
		{"docker gzip and OCI gzip agree", []registry.Layer{l("a", "application/vnd.docker.image.rootfs.diff.tar.gzip"), l("b", gz)},
			Check{Name: "compression", Platform: "linux/amd64", OK: true, Detail: "2 layer(s), all gzip (no compression requested: checked that the layers agree)"}},
		{"mixed", []registry.Layer{l("a", zs), l("b", gz), l("c", zs), l("d", "application/vnd.oci.image.layer.v1.tar")},
			Check{Name: "compression", Platform: "linux/amd64", Detail: "the layers mix compressions: zstd: sha256:aaaaaaaaaaaa, sha256:cccccccccccc; gzip: sha256:bbbbbbbbbbbb; uncompressed: sha256:dddddddddddd"}},
		{"no layers", nil, Check{Name: "compression", Platform: "linux/amd64", OK: true, Detail: "no layers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Check
			for _, c := range checkImage(VerifyRequest{}, "linux/amd64", &registry.Image{OS: "linux", Architecture: "amd64", Layers: tc.layers}) {
				if c.Name == "compression" {
					got = c
				}
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestProxyValuesFromEnv(t *testing.T) {
	env := map[string]string{"HTTP_PROXY": "http://bob:pw@proxy:3128", "https_proxy": "http://bob:pw@proxy:3128", "NO_PROXY": "localhost,.internal", "HOME": "/root"}
	got := ProxyValuesFromEnv(func(k string) string { return env[k] })
	if !slices.Equal(got, []string{"http://bob:pw@proxy:3128", "localhost,.internal"}) {
		t.Errorf("ProxyValuesFromEnv = %q", got)
	}
}

func TestVerifyReportFailure(t *testing.T) {
	rep := &VerifyReport{Ref: "r/app:1", Checks: []Check{
		{Name: "platforms", OK: false, Detail: "index has [linux/amd64], requested [linux/amd64, linux/arm64]; missing linux/arm64"},
		{Name: "compression", Platform: "linux/amd64", OK: true},
		{Name: "binary-arch", Platform: "linux/amd64", OK: false, Detail: "/app is AArch64 (arm64), not x86-64 (amd64)"},
	}}
	want := "2 of 3 checks failed on r/app:1:\n  platforms: index has [linux/amd64], requested [linux/amd64, linux/arm64]; missing linux/arm64\n  linux/amd64 binary-arch: /app is AArch64 (arm64), not x86-64 (amd64)"
	if err := rep.Failure(); err == nil || err.Error() != want {
		t.Errorf("Failure() = %v\nwant %s", err, want)
	}
	rep.Checks = rep.Checks[1:2]
	if err := rep.Failure(); err != nil {
		t.Errorf("all passed: %v", err)
	}
}

// The verify step checks every tag and the budget from the config, and
// leaves the report with the counts.
func TestVerifyPushedTags(t *testing.T) {
	reg := pushedRegistry("gzip")
	reg.indexes = map[string]*registry.Index{"registry.example.com/team/app:old": {Digest: "sha256:elsewhere"}}
	rep, err := verifyPushed(context.Background(), reg, []string{"registry.example.com/team/app:1.0", "registry.example.com/team/app:latest", "registry.example.com/team/app:old"},
		VerifyRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Compression: "gzip", Digest: indexDigest})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, c := range rep.Checks {
		if c.Name == "tag" {
			tags = append(tags, c.Detail)
		}
	}
	if strings.Join(tags, "|") != "registry.example.com/team/app:latest -> "+indexDigest+"|registry.example.com/team/app:old -> sha256:elsewhere" {
		t.Errorf("tag checks %q", tags)
	}
	if rep.OK || len(rep.Failed()) != 1 || rep.Failed()[0].Detail != "registry.example.com/team/app:old -> sha256:elsewhere" {
		t.Errorf("failed = %+v", rep.Failed())
	}

	reg.indexes = nil
	bad := &failingIndex{fakeRegistry: reg, ref: "registry.example.com/team/app:gone"}
	if _, err := verifyPushed(context.Background(), bad, []string{"registry.example.com/team/app:1.0", "registry.example.com/team/app:gone"}, VerifyRequest{}); err == nil || err.Error() != "no such tag registry.example.com/team/app:gone" {
		t.Errorf("unreadable tag: %v", err)
	}
}

// failingIndex fails to read one reference.
type failingIndex struct {
	*fakeRegistry
	ref string
}

func (f *failingIndex) Index(ctx context.Context, ref string) (*registry.Index, error) {
	if ref == f.ref {
		return nil, errors.New("no such tag " + ref)
	}
	return f.fakeRegistry.Index(ctx, ref)
}

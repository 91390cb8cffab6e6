package pipeline

import (
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

func TestCheckIndex(t *testing.T) {
	idx := &registry.Index{Digest: "sha256:aaa", Manifests: []registry.Manifest{
		{Platform: "linux/amd64"}, {Platform: "linux/arm64"}, {Platform: "unknown/unknown", Attestation: true},
	}}
	tests := []struct {
		name   string
		req    VerifyRequest
		ok     []bool
		detail string
	}{
		{"exact", VerifyRequest{Platforms: []string{"linux/arm64", "linux/amd64"}, Digest: "sha256:aaa"}, []bool{true, true}, "index has exactly linux/amd64, linux/arm64"},
		{"digest mismatch", VerifyRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Digest: "sha256:bbb"}, []bool{false, true}, "index has exactly"},
		{"missing one", VerifyRequest{Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}}, []bool{false}, "missing linux/arm/v7"},
		{"extra one", VerifyRequest{Platforms: []string{"linux/amd64"}}, []bool{false}, "unexpected linux/arm64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkIndex(tc.req, idx)
			if len(got) != len(tc.ok) {
				t.Fatalf("got %d checks: %+v", len(got), got)
			}
			for i, c := range got {
				if c.OK != tc.ok[i] {
					t.Errorf("check %s OK=%v, want %v (%s)", c.Name, c.OK, tc.ok[i], c.Detail)
				}
			}
			if last := got[len(got)-1]; !strings.Contains(last.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", last.Detail, tc.detail)
			}
		})
	}
}

func TestCheckImage(t *testing.T) {
	gz := "application/vnd.oci.image.layer.v1.tar+gzip"
	zs := "application/vnd.oci.image.layer.v1.tar+zstd"
	img := func(arch, variant string, env, hist []string, mts ...string) *registry.Image {
		i := &registry.Image{OS: "linux", Architecture: arch, Variant: variant, Env: env, History: hist}
		for n, mt := range mts {
			i.Layers = append(i.Layers, registry.Layer{Digest: "sha256:" + strings.Repeat(string(rune('a'+n)), 64), MediaType: mt})
		}
		return i
	}
	proxy := []string{"http://bob:pw1234@proxy:3128"}
	tests := []struct {
		name     string
		platform string
		comp     string
		img      *registry.Image
		wantBad  []string // names of failing checks
		detail   string
	}{
		{"all good zstd", "linux/arm64", "zstd", img("arm64", "v8", []string{"PATH=/bin"}, []string{"COPY app /app"}, zs, zs), nil, ""},
		{"wrong arch in config", "linux/arm64", "zstd", img("amd64", "", nil, nil, zs), []string{"config-platform"}, "image config says linux/amd64"},
		{"gzip layer in zstd build", "linux/amd64", "zstd", img("amd64", "", nil, nil, zs, gz), []string{"compression"}, "sha256:bbbbbbbbbbbb is " + gz},
		{"proxy in env", "linux/amd64", "gzip", img("amd64", "", []string{"HTTP_PROXY=http://bob:pw1234@proxy:3128"}, nil, gz), []string{"no-proxy-leak"}, "value not shown"},
		{"proxy in history", "linux/amd64", "gzip", img("amd64", "", nil, []string{"ENV HTTP_PROXY=http://bob:pw1234@proxy:3128"}, gz), []string{"no-proxy-leak"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bad []string
			details := ""
			for _, c := range checkImage(VerifyRequest{Compression: tc.comp, ProxyValues: proxy}, tc.platform, tc.img) {
				if c.Platform != tc.platform {
					t.Errorf("check %s has platform %q", c.Name, c.Platform)
				}
				if strings.Contains(c.Detail, "pw1234") {
					t.Errorf("check %s leaks the secret: %s", c.Name, c.Detail)
				}
				if !c.OK {
					bad = append(bad, c.Name)
					details += c.Detail
				}
			}
			if strings.Join(bad, ",") != strings.Join(tc.wantBad, ",") {
				t.Errorf("failing checks %v, want %v", bad, tc.wantBad)
			}
			if !strings.Contains(details, tc.detail) {
				t.Errorf("details %q lack %q", details, tc.detail)
			}
		})
	}
}

func TestCheckELF(t *testing.T) {
	hdr := func(class, data byte, machine uint16) []byte {
		h := make([]byte, 64)
		copy(h, "\x7fELF")
		h[4], h[5] = class, data
		if data == 2 {
			h[18], h[19] = byte(machine>>8), byte(machine)
		} else {
			h[18], h[19] = byte(machine), byte(machine>>8)
		}
		return h
	}
	tests := []struct {
		platform string
		header   []byte
		ok       bool
		detail   string
	}{
		{"linux/amd64", hdr(2, 1, 62), true, "/app is x86-64 (amd64)"},
		{"linux/arm64", hdr(2, 1, 183), true, "/app is AArch64 (arm64)"},
		{"linux/arm64", hdr(2, 1, 62), false, "/app is x86-64 (amd64), not AArch64 (arm64): a TARGETARCH/GOARCH was fixed"},
		{"linux/s390x", hdr(2, 2, 22), true, "/app is s390x"},
		{"linux/arm/v7", hdr(1, 1, 40), true, "/app is ARM (32-bit) (arm)"},
		// ppc64 and ppc64le share e_machine 21: only the byte order tells them apart
		{"linux/ppc64le", hdr(2, 1, 21), true, "/app is PowerPC64 little-endian (ppc64le)"},
		{"linux/ppc64le", hdr(2, 2, 21), false, "/app is PowerPC64 big-endian (ppc64), not PowerPC64 little-endian (ppc64le)"},
		{"linux/mips64le", hdr(1, 1, 8), false, "/app is MIPS little-endian (mipsle), not MIPS64 little-endian (mips64le)"},
		{"linux/amd64", []byte("#!/bin/sh\necho hi\n"), true, "/app is not an ELF binary; not checked"},
		{"linux/loong64", hdr(2, 1, 258), true, "/app is LoongArch64 (loong64)"},
		{"linux/arm64", hdr(2, 1, 999), false, "/app is ELF machine 999, 64-bit little-endian, not AArch64 (arm64)"},
		{"wasip1/wasm", hdr(2, 1, 62), true, "wasm has no ELF machine to compare"},
	}
	for _, tc := range tests {
		c := checkELF(tc.platform, "/app", tc.header)
		if c.OK != tc.ok || !strings.Contains(c.Detail, tc.detail) {
			t.Errorf("%s: got OK=%v %q, want OK=%v containing %q", tc.platform, c.OK, c.Detail, tc.ok, tc.detail)
		}
	}
}

package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

// benchIndex is a pushed two-platform index with its two provenance
// attestations.
func benchIndex() *registry.Index {
	return &registry.Index{Digest: "sha256:" + strings.Repeat("a", 64), Manifests: []registry.Manifest{
		{Digest: "sha256:amd64", Platform: "linux/amd64"},
		{Digest: "sha256:arm64", Platform: "linux/arm64"},
		{Digest: "sha256:att1", Platform: "unknown/unknown", Attestation: true, AttestsTo: "sha256:amd64"},
		{Digest: "sha256:att2", Platform: "unknown/unknown", Attestation: true, AttestsTo: "sha256:arm64"},
	}}
}

// benchImage is one platform's image as a realistic config has it: a few
// env entries, labels, a 20-step history and five zstd layers.
func benchImage() *registry.Image {
	img := &registry.Image{OS: "linux", Architecture: "arm64", Variant: "v8",
		Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "TZ=UTC"},
		Labels: map[string]string{"org.opencontainers.image.source": "https://github.com/example/app", "org.opencontainers.image.version": "1.2.3", "org.opencontainers.image.revision": "f5711b1caa77"},
	}
	for i := range 20 {
		img.History = append(img.History, fmt.Sprintf("RUN /bin/sh -c step %d # buildkit", i))
	}
	for i := range 5 {
		img.Layers = append(img.Layers, registry.Layer{Digest: fmt.Sprintf("sha256:%064d", i), MediaType: layerMediaType("zstd"), Size: 1 << 20})
	}
	return img
}

var benchProxies = []string{"http://user:secret@proxy.internal:3128", "secret", "localhost,127.0.0.1,.internal"}

// BenchmarkCheckIndex measures the index checks: digest and exact platforms.
func BenchmarkCheckIndex(b *testing.B) {
	idx := benchIndex()
	req := VerifyRequest{Platforms: []string{"linux/arm64", "linux/amd64"}, Digest: idx.Digest}
	b.ReportAllocs()
	for b.Loop() {
		if cs := checkIndex(req, idx); len(cs) != 2 || !cs[0].OK || !cs[1].OK {
			b.Fatalf("checkIndex: %+v", cs)
		}
	}
}

// BenchmarkCheckImage measures one platform's config checks: os/arch,
// layer media types and the proxy-leak scan of env, labels and history.
func BenchmarkCheckImage(b *testing.B) {
	img := benchImage()
	req := VerifyRequest{Compression: "zstd", ProxyValues: benchProxies}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range checkImage(req, "linux/arm64", img) {
			if !c.OK {
				b.Fatalf("%s: %s", c.Name, c.Detail)
			}
		}
	}
}

// BenchmarkCheckELF measures the entrypoint architecture check on a
// 64-byte ELF header.
func BenchmarkCheckELF(b *testing.B) {
	hdr := elfHeader(183)
	b.ReportAllocs()
	for b.Loop() {
		if c := checkELF("linux/arm64", "/app", hdr); !c.OK {
			b.Fatal(c.Detail)
		}
	}
}

// BenchmarkVerifyPushed measures the whole verify step minus the network:
// index, both images, both entrypoint headers and both attestations read
// from an in-memory registry.
func BenchmarkVerifyPushed(b *testing.B) {
	reg := pushedRegistry("zstd")
	req := VerifyRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Compression: "zstd", ProxyValues: benchProxies, Digest: indexDigest}
	refs := []string{"registry.example.com/team/app:1.2.3"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rep, err := verifyPushed(ctx, reg, refs, req)
		if err != nil || !rep.OK {
			b.Fatalf("verifyPushed: %v %+v", err, rep)
		}
	}
}

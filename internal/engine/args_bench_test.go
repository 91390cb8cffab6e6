package engine

import (
	"testing"
	"time"
)

// benchSpec is a typical release build: two platforms, two tags, proxy and
// version build args, zstd push, registry cache in and out.
func benchSpec() BuildSpec {
	return BuildSpec{
		Builder:    "xbuild-0402d926",
		ContextDir: ".",
		Dockerfile: "Dockerfile",
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Tags:       []string{"registry.example.com/team/app:1.2.3", "registry.example.com/team/app:1.2"},
		BuildArgs: map[string]string{
			"HTTP_PROXY": "http://user:secret@proxy.internal:3128", "HTTPS_PROXY": "http://user:secret@proxy.internal:3128",
			"NO_PROXY": "localhost,127.0.0.1,.internal", "http_proxy": "http://user:secret@proxy.internal:3128",
			"VERSION": "1.2.3", "COMMIT": "f5711b1caa77",
		},
		Image:        &ImageOutput{Push: true, Compression: "zstd", CompressionLevel: 19},
		Provenance:   "mode=min",
		CacheFrom:    []string{"type=registry,ref=registry.example.com/team/app:cache"},
		CacheTo:      []string{"type=registry,ref=registry.example.com/team/app:cache,mode=max"},
		MetadataFile: "/tmp/xbuild-build-1/metadata.json",
		Progress:     "rawjson",
	}
}

// BenchmarkBuildArgs measures assembling the `buildx build` argument list.
func BenchmarkBuildArgs(b *testing.B) {
	spec := benchSpec()
	b.ReportAllocs()
	for b.Loop() {
		if args := BuildArgs(spec); len(args) < 30 {
			b.Fatalf("%d args", len(args))
		}
	}
}

// BenchmarkCreateArgs measures the `buildx create` arguments of one remote
// node over mutual TLS (four driver options, a status timeout).
func BenchmarkCreateArgs(b *testing.B) {
	n := BuilderNode{
		Builder: "xbuild-0402d926", Node: "arm1", Driver: "remote", Endpoint: "tcp://10.77.0.2:1234",
		Platforms: []string{"linux/arm64"},
		DriverOpts: map[string]string{
			"cacert": "/home/ci/.config/xbuild/certs/ca.pem", "cert": "/home/ci/.config/xbuild/certs/cert.pem",
			"key": "/home/ci/.config/xbuild/certs/key.pem", "servername": "arm1.internal",
		},
		StatusTimeout: 2 * time.Second,
	}
	b.ReportAllocs()
	for b.Loop() {
		if args := CreateArgs(n, true); len(args) < 16 {
			b.Fatalf("%d args", len(args))
		}
	}
}

// BenchmarkQuote measures rendering the build command line for --dry-run
// and --debug.
func BenchmarkQuote(b *testing.B) {
	args := BuildArgs(benchSpec())
	b.ReportAllocs()
	for b.Loop() {
		_ = Quote("buildx", args)
	}
}

package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

func TestPlatformCacheRef(t *testing.T) {
	tests := []struct{ in, platform, want string }{
		{"type=registry,ref=reg.example/app:cache,mode=max", "linux/arm64", "type=registry,ref=reg.example/app:cache-linux-arm64,mode=max"},
		{"type=registry,ref=reg.example/app", "linux/arm/v7", "type=registry,ref=reg.example/app:buildcache-linux-arm-v7"},
		{"reg.example:5000/app:cache", "linux/amd64", "type=registry,ref=reg.example:5000/app:cache-linux-amd64"},
		// a directory per platform: concurrent exports to one directory overwrite each other's index.json
		{"type=local,dest=/tmp/c", "linux/amd64", "type=local,dest=/tmp/c/linux-amd64"},
		{"type=local,dest=/tmp/c/,mode=max", "linux/arm64", "type=local,dest=/tmp/c/linux-arm64,mode=max"},
		{"type=local,src=cache", "linux/arm/v7", "type=local,src=cache/linux-arm-v7"},
		// a scope per platform (buildx's default scope is buildkit)
		{"type=gha", "linux/arm64", "type=gha,scope=buildkit-linux-arm64"},
		{"type=gha,scope=api,mode=max", "linux/amd64", "type=gha,scope=api-linux-amd64,mode=max"},
		{"type=inline", "linux/amd64", "type=inline"},
		{"type=s3,bucket=b,region=r", "linux/amd64", "type=s3,bucket=b,region=r"},
		{`type=registry,ref=r/a:c,"oci-mediatypes=true"`, "linux/amd64", "type=registry,ref=r/a:c-linux-amd64,oci-mediatypes=true"},
	}
	for _, tc := range tests {
		if got := platformCacheRef(tc.in, tc.platform); got != tc.want {
			t.Errorf("platformCacheRef(%q, %s) = %q, want %q", tc.in, tc.platform, got, tc.want)
		}
	}
}

func TestCacheImportOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"type=registry,ref=r/app:c-linux-amd64,mode=max", "type=registry,ref=r/app:c-linux-amd64"},
		{"r/app:c", "type=registry,ref=r/app:c"},
		{"type=local,dest=/tmp/c/linux-amd64,mode=max", "type=local,src=/tmp/c/linux-amd64"},
		{"type=gha,scope=api-linux-amd64,mode=max,url=https://cache.example,token=t0k", "type=gha,scope=api-linux-amd64,url=https://cache.example,token=t0k"},
		{"type=inline", ""},
		{"type=local", ""},
	}
	for _, tc := range tests {
		if got := cacheImportOf(tc.in); got != tc.want {
			t.Errorf("cacheImportOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Local and GitHub Actions caches of a two-platform build: each platform
// exports to its own directory or scope and imports it back, plus what
// was given (a cache plain buildx wrote).
func TestSplitSpecLocalAndGHACache(t *testing.T) {
	base := engine.BuildSpec{Platforms: []string{"linux/amd64", "linux/arm64"},
		CacheTo:   []string{"type=local,dest=.cache,mode=max", "type=gha,mode=max"},
		CacheFrom: []string{"type=local,src=.cache", "type=gha"}}
	arm := splitSpec(base, "linux/arm64", "")
	wantTo := []string{"type=local,dest=.cache/linux-arm64,mode=max", "type=gha,mode=max,scope=buildkit-linux-arm64"}
	wantFrom := []string{"type=local,src=.cache/linux-arm64", "type=gha,scope=buildkit-linux-arm64", "type=local,src=.cache", "type=gha"}
	if !slices.Equal(arm.CacheTo, wantTo) || !slices.Equal(arm.CacheFrom, wantFrom) {
		t.Errorf("arm64 caches:\n  to   %q\n  from %q\nwant\n  to   %q\n  from %q", arm.CacheTo, arm.CacheFrom, wantTo, wantFrom)
	}
}

// A local output of several platforms is written a directory per
// platform, named as buildx names them; one platform writes DEST itself.
func TestSplitSpecLocalOutput(t *testing.T) {
	two := engine.BuildSpec{Platforms: []string{"linux/amd64", "linux/arm/v7"}, Outputs: []string{"type=local,dest=out"}}
	if got := splitSpec(two, "linux/arm/v7", "").Outputs; !slices.Equal(got, []string{"type=local,dest=out/linux_arm_v7"}) {
		t.Errorf("two platforms: %q", got)
	}
	// a load keeps its tags: they name the loaded image
	load := engine.BuildSpec{Platforms: []string{"linux/amd64"}, Tags: []string{"app:dev"}, Outputs: []string{"type=docker"}}
	if got := splitSpec(load, "linux/amd64", ""); !slices.Equal(got.Tags, []string{"app:dev"}) {
		t.Errorf("--load -t app:dev: tags %q", got.Tags)
	}
	one := engine.BuildSpec{Platforms: []string{"linux/amd64"}, Outputs: []string{"type=local,dest=out"}}
	if got := splitSpec(one, "linux/amd64", "").Outputs; !slices.Equal(got, []string{"type=local,dest=out"}) {
		t.Errorf("one platform: %q", got)
	}
}

func TestSplitSpec(t *testing.T) {
	push := &engine.ImageOutput{Push: true, Compression: "zstd"}
	base := engine.BuildSpec{Builder: "b", Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: []string{"r/app:1"}, Image: push,
		CacheTo: []string{"type=registry,ref=r/app:cache,mode=max"}, CacheFrom: []string{"r/app:cache"}, Provenance: "mode=min"}
	arm := splitSpec(base, "linux/arm64", "r/app")
	if !slices.Equal(arm.Platforms, []string{"linux/arm64"}) || arm.Tags != nil ||
		arm.Image.String() != "type=image,name=r/app,push-by-digest=true,name-canonical=true,push=true,compression=zstd,force-compression=true,oci-mediatypes=true" ||
		!slices.Equal(arm.CacheTo, []string{"type=registry,ref=r/app:cache-linux-arm64,mode=max"}) ||
		// its own ref (written by --cache-to), then the ref as given (a cache plain buildx wrote)
		!slices.Equal(arm.CacheFrom, []string{"type=registry,ref=r/app:cache-linux-arm64", "r/app:cache"}) ||
		arm.Provenance != "mode=min" {
		t.Errorf("arm64 build = %+v (image %s)", arm, arm.Image)
	}
	if base.Image.PushByDigest || base.Image.Name != "" || len(base.Platforms) != 2 {
		t.Error("splitSpec changed the original spec")
	}

	// a read-only consumer (--cache-from alone, a pull-request build) reads the per-platform refs too
	ro := base
	ro.CacheTo = nil
	if got := splitSpec(ro, "linux/amd64", "r/app").CacheFrom; !slices.Equal(got, []string{"type=registry,ref=r/app:cache-linux-amd64", "r/app:cache"}) {
		t.Errorf("cache-from alone: %q", got)
	}

	// without a push, the platform is built alone into the cache
	local := base
	local.Image, local.Outputs = nil, []string{"type=cacheonly"}
	if got := splitSpec(local, "linux/amd64", ""); got.Image != nil || !slices.Equal(got.Outputs, []string{"type=cacheonly"}) || !slices.Equal(got.Platforms, []string{"linux/amd64"}) {
		t.Errorf("no push: %+v", got)
	}
}

func TestBootstrapHint(t *testing.T) {
	docker := nodes.Node{Name: "local", Kind: nodes.KindDocker, Endpoint: "unix:///var/run/docker.sock"}
	pullErr := errors.New(`ERROR: failed to initialize builder xbuild-node-local: Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host`)
	if h := bootstrapHint(docker, pullErr); !strings.Contains(h, "--driver-opt image=REGISTRY/moby/buildkit:TAG") || !strings.Contains(h, "buildkitd --addr unix:///run/buildkit/buildkitd.sock") {
		t.Errorf("hint = %q", h)
	}
	if h := bootstrapHint(docker, errors.New("process did not complete successfully: exit code: 2")); h != "" {
		t.Errorf("a build error got a pull hint: %q", h)
	}
	if h := bootstrapHint(nodes.Node{Name: "amd1", Kind: nodes.KindBuildKit}, pullErr); h != "" {
		t.Errorf("a BuildKit node got a docker hint: %q", h)
	}
}

package pipeline

import (
	"slices"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

func TestPlatformCacheRef(t *testing.T) {
	tests := []struct{ in, platform, want string }{
		{"type=registry,ref=reg.example/app:cache,mode=max", "linux/arm64", "type=registry,ref=reg.example/app:cache-linux-arm64,mode=max"},
		{"type=registry,ref=reg.example/app", "linux/arm/v7", "type=registry,ref=reg.example/app:buildcache-linux-arm-v7"},
		{"reg.example:5000/app:cache", "linux/amd64", "type=registry,ref=reg.example:5000/app:cache-linux-amd64"},
		{"type=local,dest=/tmp/c", "linux/amd64", "type=local,dest=/tmp/c"},
		{"type=inline", "linux/amd64", "type=inline"},
		{`type=registry,ref=r/a:c,"oci-mediatypes=true"`, "linux/amd64", "type=registry,ref=r/a:c-linux-amd64,oci-mediatypes=true"},
	}
	for _, tc := range tests {
		if got := platformCacheRef(tc.in, tc.platform); got != tc.want {
			t.Errorf("platformCacheRef(%q, %s) = %q, want %q", tc.in, tc.platform, got, tc.want)
		}
	}
}

func TestNeedsSplitAndSplitSpecs(t *testing.T) {
	push := &engine.ImageOutput{Push: true, Compression: "zstd"}
	base := engine.BuildSpec{Builder: "b", Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: []string{"r/app:1"}, Image: push,
		CacheTo: []string{"type=registry,ref=r/app:cache,mode=max"}, CacheFrom: []string{"r/app:cache"}, Provenance: "mode=min"}
	if !needsSplit(base, 2) {
		t.Error("a registry cache on two nodes must split")
	}
	for name, c := range map[string]struct {
		spec  engine.BuildSpec
		nodes int
	}{
		"one node":     {base, 1},
		"inline cache": {func() engine.BuildSpec { s := base; s.CacheTo = []string{"type=inline"}; return s }(), 2},
		"no push":      {func() engine.BuildSpec { s := base; s.Image = nil; return s }(), 2},
		"one platform": {func() engine.BuildSpec { s := base; s.Platforms = s.Platforms[:1]; return s }(), 2},
	} {
		if needsSplit(c.spec, c.nodes) {
			t.Errorf("%s: split, want a single build", name)
		}
	}
	specs := splitSpecs(base, "r/app")
	if len(specs) != 2 {
		t.Fatalf("targets: %v", specs)
	}
	arm := specs["linux-arm64"]
	if !slices.Equal(arm.Platforms, []string{"linux/arm64"}) || arm.Tags != nil ||
		arm.Image.String() != "type=image,name=r/app,push-by-digest=true,name-canonical=true,push=true,compression=zstd,force-compression=true,oci-mediatypes=true" ||
		!slices.Equal(arm.CacheTo, []string{"type=registry,ref=r/app:cache-linux-arm64,mode=max"}) ||
		!slices.Equal(arm.CacheFrom, []string{"type=registry,ref=r/app:cache-linux-arm64"}) || arm.Provenance != "mode=min" {
		t.Errorf("arm64 target = %+v (image %s)", arm, arm.Image)
	}
	if base.Image.PushByDigest || base.Image.Name != "" {
		t.Error("splitSpecs changed the original spec's image output")
	}
}

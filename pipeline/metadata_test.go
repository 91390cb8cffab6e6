package pipeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// jsonOf renders v as buildx writes its metadata file, for exact
// comparisons.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildxMetadata(t *testing.T) {
	prov := map[string]any{"buildType": "https://mobyproject.org/buildkit@v1"}
	amd := &PlatformResult{Platform: "linux/amd64", Metadata: map[string]any{
		"buildx.build.ref": "xbuild-node-amd1/amd1/r1", "buildx.build.provenance": prov,
		"containerimage.config.digest": "sha256:cfg-amd", "containerimage.digest": "sha256:push-amd64"}}
	arm := &PlatformResult{Platform: "linux/arm64", Metadata: map[string]any{
		"buildx.build.ref": "xbuild-node-arm1/arm1/r2", "buildx.build.provenance": prov, "containerimage.digest": "sha256:push-arm64"}}
	reused := &PlatformResult{Platform: "linux/arm64", Result: ResultReused}
	index := &pushedIndex{Digest: "sha256:idx", MediaType: "application/vnd.oci.image.index.v1+json", Size: 1234}
	refs := []string{"r.example/app:1", "r.example/app:latest"}
	descriptor := map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:idx", "size": int64(1234)}

	tests := []struct {
		name      string
		index     *pushedIndex
		platforms []*PlatformResult
		want      map[string]any
	}{
		{
			name:  "pushed, two platforms: the index, the tags, each build's provenance per platform",
			index: index, platforms: []*PlatformResult{amd, arm},
			want: map[string]any{"containerimage.digest": "sha256:idx", "containerimage.descriptor": descriptor, "image.name": "r.example/app:1,r.example/app:latest",
				"buildx.build.provenance/linux/amd64": prov, "buildx.build.provenance/linux/arm64": prov},
		},
		{
			name:  "pushed, one platform: its build's ref, provenance and config digest too",
			index: index, platforms: []*PlatformResult{amd},
			want: map[string]any{"containerimage.digest": "sha256:idx", "containerimage.descriptor": descriptor, "image.name": "r.example/app:1,r.example/app:latest",
				"buildx.build.ref": "xbuild-node-amd1/amd1/r1", "buildx.build.provenance": prov, "containerimage.config.digest": "sha256:cfg-amd"},
		},
		{
			name:  "pushed, arm64 reused from an earlier run: no provenance of a build that did not run",
			index: index, platforms: []*PlatformResult{amd, reused},
			want: map[string]any{"containerimage.digest": "sha256:idx", "containerimage.descriptor": descriptor, "image.name": "r.example/app:1,r.example/app:latest",
				"buildx.build.provenance/linux/amd64": prov},
		},
		{
			name:      "one platform, not pushed: its metadata as buildx wrote it",
			platforms: []*PlatformResult{arm},
			want:      arm.Metadata,
		},
		{
			name:      "two platforms each on its node, not pushed: what they agree on, provenance per platform",
			platforms: []*PlatformResult{amd, arm},
			want:      map[string]any{"buildx.build.provenance/linux/amd64": prov, "buildx.build.provenance/linux/arm64": prov},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := buildxMetadata(tc.index, refs, tc.platforms)
			if g, w := jsonOf(t, got), jsonOf(t, tc.want); g != w {
				t.Errorf("metadata =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestImageID(t *testing.T) {
	withConfig := &PlatformResult{Metadata: map[string]any{"containerimage.config.digest": "sha256:cfg", "containerimage.digest": "sha256:img"}}
	digestOnly := &PlatformResult{Metadata: map[string]any{"containerimage.digest": "sha256:img"}}
	cacheOnly := &PlatformResult{Metadata: map[string]any{"buildx.build.ref": "b/n/r"}}
	tests := []struct {
		name      string
		index     *pushedIndex
		platforms []*PlatformResult
		want      string
	}{
		{"pushed (or an OCI output merged): the index, whatever the platforms say", &pushedIndex{Digest: "sha256:idx"}, []*PlatformResult{withConfig, digestOnly}, "sha256:idx"},
		{"one platform loaded: its config digest", nil, []*PlatformResult{withConfig}, "sha256:cfg"},
		{"no config digest: the image digest", nil, []*PlatformResult{digestOnly}, "sha256:img"},
		{"two platforms each on its node: none", nil, []*PlatformResult{withConfig, digestOnly}, ""},
		{"a cache-only build: none", nil, []*PlatformResult{cacheOnly}, ""},
	}
	for _, tc := range tests {
		if got := imageID(tc.index, tc.platforms); got != tc.want {
			t.Errorf("%s: imageID = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCheckRunOptions(t *testing.T) {
	tests := []struct {
		name string
		opts engine.RunOptions
		want []string // error lines; none means valid
	}{
		{name: "everything valid", opts: engine.RunOptions{BuildContexts: []string{"src=../src", "base=docker-image://alpine:3.20", "app=target:build"},
			Network: "none", AddHosts: []string{"db.internal:10.0.0.5", "v6=::1"}, NoCacheFilter: []string{"deps"}, ShmSize: "256m",
			Ulimits: []string{"nofile=1024:2048", "nproc=-1"}, Call: "check"}},
		{name: "a context without a value", opts: engine.RunOptions{BuildContexts: []string{"src"}},
			want: []string{`--build-context "src": want NAME=VALUE (a directory, a URL, docker-image://REF, oci-layout://DIR or target:STAGE)`}},
		{name: "an unknown network", opts: engine.RunOptions{Network: "bridge"}, want: []string{`--network "bridge" is not one of default, none, host`}},
		{name: "a host without an IP", opts: engine.RunOptions{AddHosts: []string{"db.internal"}}, want: []string{`--add-host "db.internal": want HOST:IP, e.g. db.internal:10.0.0.5`}},
		{name: "a size that is not one", opts: engine.RunOptions{ShmSize: "lots"}, want: []string{`--shm-size "lots": want a size such as 64m or 1g`}},
		{name: "bad ulimits", opts: engine.RunOptions{Ulimits: []string{"nofile", "files=10"}},
			want: []string{`--ulimit "nofile": want TYPE=SOFT[:HARD], e.g. nofile=1024:2048`, `--ulimit "files=10": "files" is not one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack`}},
		{name: "an unknown call", opts: engine.RunOptions{Call: "lint"}, want: []string{`--call "lint" is not one of build, check, outline, targets`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRunOptions(tc.opts)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CheckRunOptions =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

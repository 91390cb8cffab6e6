package engine

import (
	"slices"
	"testing"
	"time"
)

func TestCreateArgs(t *testing.T) {
	tests := []struct {
		name   string
		node   BuilderNode
		append bool
		want   []string
	}{
		{
			name: "remote node with mTLS, first node",
			node: BuilderNode{Builder: "xbuild", Node: "amd1", Driver: "remote", Endpoint: "tcp://10.0.0.1:1234",
				Platforms: []string{"linux/amd64"}, DriverOpts: map[string]string{"servername": "amd1", "cacert": "/c/ca.pem", "cert": "/c/cert.pem", "key": "/c/key.pem"}},
			want: []string{"create", "--name", "xbuild", "--node", "amd1", "--driver", "remote", "--platform", "linux/amd64",
				"--driver-opt", "cacert=/c/ca.pem", "--driver-opt", "cert=/c/cert.pem", "--driver-opt", "key=/c/key.pem", "--driver-opt", "servername=amd1",
				"tcp://10.0.0.1:1234"},
		},
		{
			name:   "append with two platforms and a status timeout",
			node:   BuilderNode{Builder: "b", Node: "q", Driver: "remote", Endpoint: "tcp://h:1", Platforms: []string{"linux/amd64", "linux/arm64"}, StatusTimeout: 2 * time.Second},
			append: true,
			want:   []string{"create", "--name", "b", "--node", "q", "--driver", "remote", "--append", "--platform", "linux/amd64,linux/arm64", "--timeout", "2s", "tcp://h:1"},
		},
		{
			name: "docker-container on a context, option with a comma is quoted",
			node: BuilderNode{Builder: "b", Node: "d1", Driver: "docker-container", Endpoint: "xbuild-d1",
				DriverOpts: map[string]string{"image": "reg:5000/moby/buildkit:v1", "env.BUILDKIT_X": "a,b"}, BuildkitdConfig: "/x/bk.toml"},
			want: []string{"create", "--name", "b", "--node", "d1", "--driver", "docker-container",
				"--driver-opt", `"env.BUILDKIT_X=a,b"`, "--driver-opt", "image=reg:5000/moby/buildkit:v1", "--buildkitd-config", "/x/bk.toml", "xbuild-d1"},
		},
		{
			name: "kubernetes has no endpoint",
			node: BuilderNode{Builder: "k", Node: "k-arm", Driver: "kubernetes", Platforms: []string{"linux/arm64"},
				DriverOpts: map[string]string{"namespace": "ci", "nodeselector": "kubernetes.io/arch=arm64", "replicas": "2"}},
			want: []string{"create", "--name", "k", "--node", "k-arm", "--driver", "kubernetes", "--platform", "linux/arm64",
				"--driver-opt", "namespace=ci", "--driver-opt", "nodeselector=kubernetes.io/arch=arm64", "--driver-opt", "replicas=2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CreateArgs(tc.node, tc.append); !slices.Equal(got, tc.want) {
				t.Errorf("CreateArgs =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

func TestSmallArgs(t *testing.T) {
	check := func(got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	check(LeaveArgs("xbuild", "arm1"), []string{"create", "--name", "xbuild", "--leave", "--node", "arm1"})
	check(RemoveArgs("xbuild-1a2b"), []string{"rm", "--keep-state", "xbuild-1a2b"})
	check(LsArgs(), []string{"ls", "--format", "json"})
	check(InspectRawArgs("r/app:1"), []string{"imagetools", "inspect", "--raw", "r/app:1"})
}

func TestImageOutput(t *testing.T) {
	tests := []struct {
		out  ImageOutput
		want string
	}{
		{ImageOutput{Push: true, Compression: "zstd", CompressionLevel: 3}, "type=image,push=true,compression=zstd,compression-level=3,force-compression=true,oci-mediatypes=true"},
		{ImageOutput{Push: true, Compression: "gzip"}, "type=image,push=true,compression=gzip,force-compression=true,oci-mediatypes=true"},
		{ImageOutput{Push: false}, "type=image,push=false,oci-mediatypes=true"},
		{ImageOutput{Push: true, Compression: "uncompressed"}, "type=image,push=true,compression=uncompressed,force-compression=true,oci-mediatypes=true"},
		{ImageOutput{Push: true, Compression: "gzip", RewriteTimestamp: true}, "type=image,push=true,compression=gzip,force-compression=true,oci-mediatypes=true,rewrite-timestamp=true"},
	}
	for _, tc := range tests {
		if got := tc.out.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.out, got, tc.want)
		}
	}
}

func TestBuildArgs(t *testing.T) {
	tests := []struct {
		name string
		spec BuildSpec
		want []string
	}{
		{
			name: "push two platforms with proxy args and zstd",
			spec: BuildSpec{
				Builder: "xbuild", ContextDir: "app", Dockerfile: "app/Dockerfile",
				Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: []string{"r/app:1", "r/app:latest"},
				BuildArgs:  map[string]string{"https_proxy": "http://p:3128", "HTTP_PROXY": "http://p:3128", "VERSION": "1"},
				Image:      &ImageOutput{Push: true, Compression: "zstd"},
				Provenance: "mode=min", MetadataFile: "/tmp/m.json", Progress: "rawjson",
			},
			want: []string{"build", "--builder", "xbuild", "--file", "app/Dockerfile", "--platform", "linux/amd64,linux/arm64",
				"--tag", "r/app:1", "--tag", "r/app:latest",
				"--build-arg", "HTTP_PROXY=http://p:3128", "--build-arg", "VERSION=1", "--build-arg", "https_proxy=http://p:3128",
				"--output", "type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true",
				"--provenance", "mode=min", "--metadata-file", "/tmp/m.json", "--progress", "rawjson", "app"},
		},
		{
			name: "cache-only build with target, caches, no-cache and pull",
			spec: BuildSpec{Builder: "b", Platforms: []string{"linux/arm64"}, Target: "build",
				CacheFrom: []string{"type=registry,ref=r/c"}, CacheTo: []string{"type=inline"}, NoCache: true, Pull: true},
			want: []string{"build", "--builder", "b", "--platform", "linux/arm64", "--target", "build",
				"--cache-from", "type=registry,ref=r/c", "--cache-to", "type=inline", "--no-cache", "--pull", "."},
		},
		{
			name: "run options come after the target, before the outputs",
			spec: BuildSpec{Builder: "b", Target: "app", Outputs: []string{"type=docker"},
				Run: RunOptions{BuildContexts: []string{"src=../src"}, Network: "none", AddHosts: []string{"h:1.2.3.4"}, NoCacheFilter: []string{"deps"}, ShmSize: "1g", Ulimits: []string{"nofile=1024"}, Call: "check"}},
			want: []string{"build", "--builder", "b", "--target", "app", "--build-context", "src=../src", "--network", "none", "--add-host", "h:1.2.3.4",
				"--no-cache-filter", "deps", "--shm-size", "1g", "--ulimit", "nofile=1024", "--call", "check", "--output", "type=docker", "."},
		},
		{
			name: "secrets, ssh, labels, annotations, max provenance, sbom, reproducible layers",
			spec: BuildSpec{
				Builder: "b", ContextDir: "app",
				Labels:      map[string]string{"org.opencontainers.image.revision": "abc", "a.b": "x y"},
				Annotations: []string{"manifest:org.opencontainers.image.title=App", "manifest-descriptor[linux/arm64]:k=v"},
				Secrets:     []Secret{{ID: "netrc", Src: "/home/u/.netrc"}, {ID: "npm", Env: "NPM_TOKEN"}, {ID: "odd", Src: "/tmp/a,b"}},
				SSH:         []SSH{{ID: "default"}, {ID: "git", Paths: []string{"/k/id_ed25519", "/k/id_rsa"}}},
				Image:       &ImageOutput{Push: true, Name: "r/app", PushByDigest: true, RewriteTimestamp: true},
				Provenance:  "mode=max", SBOM: "generator=docker.io/xbuild/sbom:1",
			},
			want: []string{"build", "--builder", "b",
				"--label", "a.b=x y", "--label", "org.opencontainers.image.revision=abc",
				"--annotation", "manifest:org.opencontainers.image.title=App", "--annotation", "manifest-descriptor[linux/arm64]:k=v",
				"--secret", "id=netrc,src=/home/u/.netrc", "--secret", "id=npm,env=NPM_TOKEN", "--secret", `id=odd,"src=/tmp/a,b"`,
				"--ssh", "default", "--ssh", "git=/k/id_ed25519,/k/id_rsa",
				"--output", "type=image,name=r/app,push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=true,rewrite-timestamp=true",
				"--provenance", "mode=max", "--sbom", "generator=docker.io/xbuild/sbom:1", "app"},
		},
		{
			name: "extra outputs",
			spec: BuildSpec{Builder: "b", Outputs: []string{"type=oci,dest=out.tar"}, ContextDir: "."},
			want: []string{"build", "--builder", "b", "--output", "type=oci,dest=out.tar", "."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BuildArgs(tc.spec); !slices.Equal(got, tc.want) {
				t.Errorf("BuildArgs =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

func TestRunArgs(t *testing.T) {
	tests := []struct {
		name string
		opts RunOptions
		want []string
	}{
		{name: "nothing set adds nothing", opts: RunOptions{}, want: nil},
		{name: "call build is buildx's default, not passed", opts: RunOptions{Call: "build"}, want: nil},
		{name: "named contexts in order", opts: RunOptions{BuildContexts: []string{"src=../src", "alpine=docker-image://alpine:3.20"}},
			want: []string{"--build-context", "src=../src", "--build-context", "alpine=docker-image://alpine:3.20"}},
		{name: "network and hosts", opts: RunOptions{Network: "host", AddHosts: []string{"db.internal:10.0.0.5", "cache:10.0.0.6"}},
			want: []string{"--network", "host", "--add-host", "db.internal:10.0.0.5", "--add-host", "cache:10.0.0.6"}},
		{name: "no-cache-filter per stage", opts: RunOptions{NoCacheFilter: []string{"deps", "test"}},
			want: []string{"--no-cache-filter", "deps", "--no-cache-filter", "test"}},
		{name: "shm-size and ulimits", opts: RunOptions{ShmSize: "256m", Ulimits: []string{"nofile=1024:2048", "nproc=512"}},
			want: []string{"--shm-size", "256m", "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512"}},
		{name: "check", opts: RunOptions{Call: "check"}, want: []string{"--call", "check"}},
		{name: "outline", opts: RunOptions{Call: "outline"}, want: []string{"--call", "outline"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runArgs(tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("runArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	got := Quote("docker buildx", []string{"build", "--build-arg", "A=b c", "--tag", "r/app:1", "it's", ""})
	want := `docker buildx build --build-arg 'A=b c' --tag r/app:1 'it'\''s' ''`
	if got != want {
		t.Errorf("Quote = %s\nwant    %s", got, want)
	}
}

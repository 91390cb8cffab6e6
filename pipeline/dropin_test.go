package pipeline

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
)

// --metadata-file holds what `docker buildx build --metadata-file` writes
// for a multi-platform push (scripts read containerimage.digest), --iidfile
// the published index's digest, and --report json stays xbuild's schema.
func TestPipelineMetadataFileIsBuildx(t *testing.T) {
	dir := t.TempDir()
	cfg := pushConfig()
	cfg.Tags = []string{"1.0", "latest"}
	cfg.Report = "json"
	cfg.MetadataFile = filepath.Join(dir, "metadata.json")
	h := newHarness(t, cfg)
	h.state.Options.IIDFile = filepath.Join(dir, "iid")
	reg := pushedRegistry("gzip")
	reg.index.MediaType, reg.index.Size = "application/vnd.oci.image.index.v1+json", 856
	h.state.Registry = reg
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	data, err := os.ReadFile(cfg.MetadataFile)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "buildx.build.provenance/linux/amd64": {
    "buildType": "https://mobyproject.org/buildkit@v1"
  },
  "buildx.build.provenance/linux/arm64": {
    "buildType": "https://mobyproject.org/buildkit@v1"
  },
  "containerimage.descriptor": {
    "digest": "` + indexDigest + `",
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "size": 856
  },
  "containerimage.digest": "` + indexDigest + `",
  "image.name": "registry.example.com/team/app:1.0,registry.example.com/team/app:latest"
}
`
	if string(data) != want {
		t.Errorf("metadata file:\n%s\nwant\n%s", data, want)
	}
	if iid, err := os.ReadFile(h.state.Options.IIDFile); err != nil || string(iid) != indexDigest {
		t.Errorf("iidfile = %q, %v; want %s", iid, err, indexDigest)
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatalf("--report json: %v\n%s", err, h.out)
	}
	if !rep.Published || rep.Digest != indexDigest || len(rep.Platforms) != 2 || rep.Platforms[1].BuildRef != "xbuild-node-arm1/arm64/ref" || rep.Verify == nil {
		t.Errorf("report = %+v", rep)
	}
}

// A build that fails (here: verify) writes neither file, as buildx
// writes none for a failed build: a script never reads an unpublished
// digest.
func TestPipelineMetadataFileNotWrittenOnFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := pushConfig()
	cfg.MetadataFile = filepath.Join(dir, "metadata.json")
	cfg.SizeBudget = "1KB"
	h := newHarness(t, cfg)
	h.state.Options.IIDFile = filepath.Join(dir, "iid")
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err == nil {
		t.Fatal("a build over its size budget succeeded")
	}
	for _, f := range []string{cfg.MetadataFile, h.state.Options.IIDFile} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was written for a failed build (%v)", f, err)
		}
	}
}

// Every output is built platform by platform, each on its own node. An
// OCI tarball or a tar of several platforms is exported by each platform's
// build and merged by xbuild (buildx cannot export them from a multi-node
// build); a local directory gets a directory per platform; a load of one
// platform goes straight to the engine. Each says it was not verified.
func TestPipelineOutputsRouting(t *testing.T) {
	tests := []struct {
		name      string
		platforms []string
		output    string // DIR is the test's directory
		builds    []string
		said      string
		check     func(t *testing.T, dir string)
	}{
		{name: "an OCI tarball of two platforms: a layout each, merged", platforms: []string{"linux/amd64", "linux/arm64"}, output: "type=oci,dest=DIR/app.tar",
			builds: []string{
				"xbuild-node-amd1 linux/amd64 type=oci,compression=zstd,compression-level=19,force-compression=true,oci-mediatypes=true,tar=false,dest=EXPORTS/output0/linux_amd64",
				"xbuild-node-arm1 linux/arm64 type=oci,compression=zstd,compression-level=19,force-compression=true,oci-mediatypes=true,tar=false,dest=EXPORTS/output0/linux_arm64"},
			said:  "output type=oci: written to DIR/app.tar, layers zstd; not verified",
			check: func(t *testing.T, dir string) { checkMergedOCI(t, tarEntries(t, filepath.Join(dir, "app.tar"))) }},
		{name: "a tar of two platforms: a directory each, one tar", platforms: []string{"linux/amd64", "linux/arm64"}, output: "type=tar,dest=DIR/fs.tar",
			builds: []string{"xbuild-node-amd1 linux/amd64 type=local,dest=EXPORTS/output0/linux_amd64", "xbuild-node-arm1 linux/arm64 type=local,dest=EXPORTS/output0/linux_arm64"},
			said:   "output type=tar: written to DIR/fs.tar; not verified",
			check: func(t *testing.T, dir string) {
				got := tarEntries(t, filepath.Join(dir, "fs.tar"))
				if got["linux_amd64/app"] != "linux/amd64" || got["linux_arm64/app"] != "linux/arm64" {
					t.Errorf("fs.tar = %v", got)
				}
			}},
		{name: "a local directory of two platforms: each on its node, a directory each", platforms: []string{"linux/amd64", "linux/arm64"}, output: "type=local,dest=DIR/out",
			builds: []string{"xbuild-node-amd1 linux/amd64 type=local,dest=DIR/out/linux_amd64", "xbuild-node-arm1 linux/arm64 type=local,dest=DIR/out/linux_arm64"},
			said:   "output type=local: written to DIR/out, one directory per platform (linux_amd64, linux_arm64); not verified"},
		{name: "a load of one platform: on its node, as gzip", platforms: []string{"linux/arm64"}, output: "type=docker",
			builds: []string{"xbuild-node-arm1 linux/arm64 type=docker,compression=gzip,force-compression=true"},
			said:   "output type=docker: loaded into the Docker engine (layers as gzip, which every engine unpacks); not verified"},
		{name: "a tar stream of one platform: on its node", platforms: []string{"linux/amd64"}, output: "type=tar,dest=-",
			builds: []string{"xbuild-node-amd1 linux/amd64 type=tar,dest=-"},
			said:   "output type=tar: written to standard output; not verified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Defaults()
			cfg.Platforms, cfg.Compression, cfg.CompressionLevel = tc.platforms, "zstd", 19
			h := newHarness(t, cfg)
			h.state.Options.Outputs = []string{strings.ReplaceAll(tc.output, "DIR", dir)}
			if err := Run(context.Background(), h.state, Steps()); err != nil {
				t.Fatalf("Run: %v\n%s", err, h.err)
			}
			exports := regexp.MustCompile(`dest=[^,]*/xbuild-exports-[0-9]+/`)
			var got []string
			for _, b := range h.eng.builds {
				line := b.Builder + " " + strings.Join(b.Platforms, ",") + " " + strings.Join(b.Outputs, " ")
				got = append(got, strings.ReplaceAll(exports.ReplaceAllString(line, "dest=EXPORTS/"), dir, "DIR"))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.builds) {
				t.Errorf("builds:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.builds, "\n  "))
			}
			if errOut := strings.ReplaceAll(h.err.String(), dir, "DIR"); !strings.Contains(errOut, tc.said) {
				t.Errorf("stderr lacks %q:\n%s", tc.said, errOut)
			}
			if tc.check != nil {
				tc.check(t, dir)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(os.TempDir(), "xbuild-exports-*")); len(leftovers) > 0 {
				for _, l := range leftovers {
					if st, err := os.Stat(l); err == nil && st.ModTime().After(time.Now().Add(-time.Minute)) {
						t.Errorf("export directory left behind: %s", l)
					}
				}
			}
		})
	}
}

// tarEntries reads a tar: regular files by name to content, directories
// and others by name to "".
func tarEntries(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

// checkMergedOCI checks an OCI layout archive whose index lists the
// amd64 and arm64 manifests the fake engine exported.
func checkMergedOCI(t *testing.T, files map[string]string) {
	t.Helper()
	var top struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(files["index.json"]), &top); err != nil || len(top.Manifests) != 1 {
		t.Fatalf("index.json = %q (%v)", files["index.json"], err)
	}
	var idx struct {
		Manifests []struct {
			Platform struct{ OS, Architecture string } `json:"platform"`
		} `json:"manifests"`
	}
	blob := "blobs/sha256/" + strings.TrimPrefix(top.Manifests[0].Digest, "sha256:")
	if err := json.Unmarshal([]byte(files[blob]), &idx); err != nil || len(idx.Manifests) != 2 ||
		idx.Manifests[0].Platform.Architecture != "amd64" || idx.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("merged index %s = %s (%v)", blob, files[blob], err)
	}
	if files["oci-layout"] == "" {
		t.Errorf("no oci-layout in %v", files)
	}
}

// A load of two platforms: into an engine with the containerd image
// store, every platform's export is merged and loaded as one OCI archive;
// any other engine refuses it before anything is built, saying what to do.
// A docker tarball of two platforms is refused too.
func TestPipelineMultiPlatformLoad(t *testing.T) {
	h := newHarness(t, config.Defaults())
	docker := &fakeDocker{containerd: true}
	h.state.Loader = docker
	h.state.Options.Outputs = []string{"type=docker"}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if len(docker.loaded) != 1 {
		t.Fatalf("%d loads", len(docker.loaded))
	}
	f := filepath.Join(t.TempDir(), "loaded.tar")
	if err := os.WriteFile(f, docker.loaded[0], 0o644); err != nil {
		t.Fatal(err)
	}
	checkMergedOCI(t, tarEntries(t, f))

	h = newHarness(t, config.Defaults())
	h.state.Loader = &fakeDocker{}
	h.state.Options.Outputs = []string{"type=docker"}
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "--load of linux/amd64, linux/arm64: the Docker engine at unix:///var/run/docker.sock (28.0.0) stores one platform per image") ||
		!strings.Contains(err.Error(), "load one platform (--platform linux/amd64 --load), write an OCI tarball (-o type=oci,dest=image.tar)") {
		t.Errorf("err = %v", err)
	}
	if len(h.eng.builds) != 0 {
		t.Errorf("%d builds ran before the refusal", len(h.eng.builds))
	}

	h = newHarness(t, config.Defaults())
	h.state.Options.Outputs = []string{"type=docker,dest=app.tar"}
	err = Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "-o type=docker,dest=app.tar holds one platform (the format of docker load), not linux/amd64, linux/arm64") || len(h.eng.builds) != 0 {
		t.Errorf("err = %v, %d builds", err, len(h.eng.builds))
	}
}

// An OCI tarball of two platforms, merged by xbuild, has one image ID and
// buildx's metadata: the merged index.
func TestPipelineMergedOCIResultFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.MetadataFile = filepath.Join(dir, "metadata.json")
	h := newHarness(t, cfg)
	h.state.Options.Outputs = []string{"type=oci,dest=" + filepath.Join(dir, "app.tar")}
	h.state.Options.IIDFile = filepath.Join(dir, "iid")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	var md map[string]any
	data, _ := os.ReadFile(cfg.MetadataFile)
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	iid, _ := os.ReadFile(h.state.Options.IIDFile)
	desc, _ := md["containerimage.descriptor"].(map[string]any)
	if d, _ := md["containerimage.digest"].(string); !strings.HasPrefix(d, "sha256:") || string(iid) != d || desc["digest"] != d || desc["mediaType"] != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("metadata %s, iid %q", data, iid)
	}
}

// The run flags reach every platform's build unchanged.
func TestPipelineRunOptionsReachEveryBuild(t *testing.T) {
	run := engine.RunOptions{BuildContexts: []string{"src=../src"}, Network: "none", AddHosts: []string{"db:10.0.0.5"},
		NoCacheFilter: []string{"deps"}, ShmSize: "128m", Ulimits: []string{"nofile=1024:2048"}}
	h := newHarness(t, pushConfig())
	h.state.Registry = pushedRegistry("gzip")
	h.state.Options.Run = run
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if len(h.eng.builds) != 2 {
		t.Fatalf("%d builds", len(h.eng.builds))
	}
	for _, b := range h.eng.builds {
		if !reflect.DeepEqual(b.Run, run) {
			t.Errorf("%s: run options %+v", b.Platforms, b.Run)
		}
	}
}

// --call check evaluates the Dockerfile once, on the first platform's
// node, prints buildx's answer on stdout and builds nothing: no verify,
// no tag, no report.
func TestPipelineCallCheck(t *testing.T) {
	h := newHarness(t, config.Defaults())
	h.state.Options.Run.Call = "check"
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if len(h.eng.builds) != 1 || h.eng.builds[0].Builder != "xbuild-node-amd1" || h.eng.builds[0].Run.Call != "check" || len(h.eng.builds[0].Outputs) != 0 {
		t.Fatalf("builds = %+v", h.eng.builds)
	}
	if got := h.out.String(); got != "Check complete, no warnings found (check).\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := stepNames(h.state.Timings); got != "lint plan build verify sign publish report" || h.state.Timings[6].Skipped == "" {
		t.Errorf("steps = %s %+v", got, h.state.Timings)
	}
	if strings.Contains(h.err.String(), "PLATFORM") {
		t.Errorf("a report table for a build that built nothing:\n%s", h.err)
	}
}

// The resume key follows the run flags and the content of a local named
// context: a re-run after either changed builds every platform again.
func TestResumeKeyFollowsRunOptions(t *testing.T) {
	ctxDir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(ctxDir, "f"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(run engine.RunOptions) string {
		settings := runSettings(run)
		if err := addContextDigests(settings, run.BuildContexts); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(settings)
		return string(b)
	}
	if got := key(engine.RunOptions{}); got != "{}" {
		t.Errorf("no run flags add %s to the key", got)
	}
	write("one")
	named := engine.RunOptions{BuildContexts: []string{"src=" + ctxDir}}
	first := key(named)
	write("two")
	if key(named) == first {
		t.Error("the key did not change with the named context's content")
	}
	if key(engine.RunOptions{Network: "none"}) == key(engine.RunOptions{}) {
		t.Error("the key did not change with --network")
	}
}

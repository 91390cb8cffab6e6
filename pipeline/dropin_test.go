package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

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

// Outputs that need every platform in one build (an OCI tarball) run as
// one buildx build on the shared builder, compressed as configured; the
// others (a local directory, a load of one platform) are built platform by
// platform on their own nodes. Each says it was not verified.
func TestPipelineOutputsRouting(t *testing.T) {
	tests := []struct {
		name      string
		platforms []string
		outputs   []string
		builds    []string // builder platforms outputs
		said      string
	}{
		{name: "an OCI tarball of two platforms: one build", platforms: []string{"linux/amd64", "linux/arm64"}, outputs: []string{"type=oci,dest=app.tar"},
			builds: []string{"xbuild linux/amd64,linux/arm64 type=oci,dest=app.tar,compression=zstd,compression-level=19,force-compression=true,oci-mediatypes=true"},
			said:   "output type=oci: written to app.tar, layers zstd; not verified"},
		{name: "a local directory of two platforms: each on its node, a directory each", platforms: []string{"linux/amd64", "linux/arm64"}, outputs: []string{"type=local,dest=out"},
			builds: []string{"xbuild-node-amd1 linux/amd64 type=local,dest=out/linux_amd64", "xbuild-node-arm1 linux/arm64 type=local,dest=out/linux_arm64"},
			said:   "output type=local: written to out, one directory per platform (linux_amd64, linux_arm64); not verified"},
		{name: "a load of one platform: on its node, not recompressed", platforms: []string{"linux/arm64"}, outputs: []string{"type=docker"},
			builds: []string{"xbuild-node-arm1 linux/arm64 type=docker"},
			said:   "output type=docker: loaded into the Docker engine (layers are not recompressed for a load: the engine unpacks them); not verified"},
		{name: "a tar stream of one platform: on its node", platforms: []string{"linux/amd64"}, outputs: []string{"type=tar,dest=-"},
			builds: []string{"xbuild-node-amd1 linux/amd64 type=tar,dest=-"},
			said:   "output type=tar: written to standard output; not verified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Platforms, cfg.Compression, cfg.CompressionLevel = tc.platforms, "zstd", 19
			h := newHarness(t, cfg)
			h.state.Options.Outputs = tc.outputs
			if err := Run(context.Background(), h.state, Steps()); err != nil {
				t.Fatalf("Run: %v\n%s", err, h.err)
			}
			var got []string
			for _, b := range h.eng.builds {
				got = append(got, b.Builder+" "+strings.Join(b.Platforms, ",")+" "+strings.Join(b.Outputs, " "))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.builds) {
				t.Errorf("builds:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.builds, "\n  "))
			}
			if !strings.Contains(h.err.String(), tc.said) {
				t.Errorf("stderr lacks %q:\n%s", tc.said, h.err)
			}
			if !strings.Contains(h.err.String(), "Not pushed: exported to "+tc.outputs[0]) {
				t.Errorf("the report does not name the output:\n%s", h.err)
			}
		})
	}
}

// A multi-platform load into an engine that keeps one platform per image
// is refused by buildx before anything is built; xbuild says what to do.
func TestPipelineMultiPlatformLoadRefusal(t *testing.T) {
	h := newHarness(t, config.Defaults())
	h.state.Options.Outputs = []string{"type=docker"}
	h.eng.buildErr = errors.New("ERROR: docker exporter does not currently support exporting manifest lists")
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "--load of linux/amd64, linux/arm64: this Docker engine stores one platform per image") ||
		!strings.Contains(err.Error(), "load one platform (--platform linux/amd64 --load), write an OCI tarball (-o type=oci,dest=image.tar)") {
		t.Errorf("err = %v", err)
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
	if got := stepNames(h.state.Timings); got != "lint plan build verify publish report" || h.state.Timings[5].Skipped == "" {
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

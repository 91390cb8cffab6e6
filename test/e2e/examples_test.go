//go:build e2e

package e2e

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every example builds for linux/amd64 and linux/arm64 on the farm with its
// own xbuild.yaml, passes verify and lint, and runs as non-root with the
// right architecture per platform; go-service stays within 3 MB.
func TestExamplesBuildOnTheFarm(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	parent := t
	for _, ex := range []struct {
		name       string
		entrypoint string
		maxBytes   int64
	}{
		{"go-service", "/app", 3_000_000},
		{"static-web", "/bin/busybox", 2_000_000},
	} {
		t.Run(ex.name, func(t *testing.T) {
			shareEnv(t, parent)
			dir := filepath.Join(repoRoot(t), "examples", ex.name)
			stdout, stderr, code := runXbuild(t, map[string]string{"XBUILD_LINT_HADOLINT": farm.Hadolint}, "lint", dir, "--failure-threshold", "style")
			if code != 0 || !strings.Contains(stdout, "no findings (hadolint") {
				t.Errorf("lint %s: exit %d\n%s%s", ex.name, code, stdout, stderr)
			}

			ref := uniqueRef(t, ex.name)
			start := time.Now()
			stdout, stderr, code = runXbuild(t, map[string]string{"XBUILD_LINT_HADOLINT": farm.Hadolint},
				"build", "--config", filepath.Join(dir, "xbuild.yaml"), "-t", ref, "--push", "--report", "json", "--progress", "plain")
			took := time.Since(start)
			if code != 0 {
				t.Fatalf("build: exit %d\n%s", code, tail(stderr, 40))
			}
			rep := decodeReport(t, stdout)
			if rep.Verify == nil || !rep.Verify.OK || len(rep.Platforms) != 2 {
				t.Fatalf("report: %+v", rep)
			}
			var sizes []string
			for _, p := range rep.Platforms {
				sizes = append(sizes, fmt.Sprintf("%s %d B on %s", p.Platform, p.CompressedSize, p.Node))
				if p.CompressedSize <= 0 || p.CompressedSize > ex.maxBytes {
					t.Errorf("%s: %s is %d bytes, budget %d", ex.name, p.Platform, p.CompressedSize, ex.maxBytes)
				}
			}
			t.Logf("%s: built, pushed and verified in %s: %s", ex.name, took.Round(100*time.Millisecond), strings.Join(sizes, ", "))

			_, images := readIndex(t, ref)
			if len(images) != 2 || images["linux/amd64"] == nil || images["linux/arm64"] == nil {
				t.Fatalf("%s: index platforms %v, want linux/amd64 and linux/arm64", ex.name, keys(images))
			}
			want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
			for p, img := range images {
				if u := img.Config.Config.User; u != "65532:65532" {
					t.Errorf("%s %s runs as %q, want 65532:65532", ex.name, p, u)
				}
				if m := elfMachine(t, flatFiles(t, img.Image)[ex.entrypoint]); m != want[p] {
					t.Errorf("%s %s: %s is %v, want %v", ex.name, p, ex.entrypoint, m, want[p])
				}
			}
		})
	}
}

// The release Makefile: `make release` builds, pushes and verifies the image
// with version tags from git, and records its digest.
func TestExampleReleaseMakefile(t *testing.T) {
	addFarmNodes(t, "rel", "amd64", "arm64")
	e := envFor(t)
	dist := t.TempDir()
	cmd := exec.Command("make", "-C", filepath.Join(repoRoot(t), "examples", "release"), "release",
		"REGISTRY="+farm.Registry.Push+"/e2e", "XBUILD_BUILDER=rel", "XBUILD="+xbuildBin, "DIST="+dist,
		// the release's SBOM comes from the farm's generator (no Docker Hub here)
		"SBOM_GENERATOR="+farmSBOMGenerator(t))
	cmd.Env = append(envList(e.baseEnv()), "XBUILD_LINT_HADOLINT="+farm.Hadolint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, tail(string(out), 40))
	}
	ref, err := os.ReadFile(filepath.Join(dist, "image.ref"))
	if err != nil {
		t.Fatalf("no image.ref: %v\n%s", err, tail(string(out), 20))
	}
	r := strings.TrimSpace(string(ref))
	if !strings.HasPrefix(r, farm.Registry.Push+"/e2e/go-service@sha256:") {
		t.Errorf("image.ref = %q", r)
	}
	if _, images := readIndex(t, r); len(images) != 2 {
		t.Errorf("released index has %v", keys(images))
	}

	// the CI path: each platform by digest (as two runners would), then the
	// merge; the same version tag, written again after the merged index
	// passed verify
	for _, target := range []string{"release-digest PLATFORM=linux/amd64", "release-digest PLATFORM=linux/arm64", "release-merge"} {
		args := append([]string{"-C", filepath.Join(repoRoot(t), "examples", "release")}, strings.Fields(target)...)
		cmd := exec.Command("make", append(args, "REGISTRY="+farm.Registry.Push+"/e2e", "XBUILD_BUILDER=rel", "XBUILD="+xbuildBin, "DIST="+dist)...)
		cmd.Env = append(envList(e.baseEnv()), "XBUILD_LINT_HADOLINT="+farm.Hadolint)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, tail(string(out), 40))
		}
	}
	for _, p := range []string{"linux-amd64.json", "linux-arm64.json"} {
		if _, err := os.Stat(filepath.Join(dist, "digests", p)); err != nil {
			t.Errorf("release-digest wrote no %s: %v", p, err)
		}
	}
	merged, err := os.ReadFile(filepath.Join(dist, "image.ref"))
	if err != nil {
		t.Fatal(err)
	}
	m := strings.TrimSpace(string(merged))
	if !strings.HasPrefix(m, farm.Registry.Push+"/e2e/go-service@sha256:") {
		t.Errorf("image.ref after release-merge = %q", m)
	}
	if _, images := readIndex(t, m); len(images) != 2 {
		t.Errorf("merged index has %v", keys(images))
	}
}

//go:build e2e

package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// engine: docker-cli runs the same buildx argument lists through an
// external `docker buildx` (here the farm's standalone buildx installed as a
// CLI plugin in the test's docker config dir) instead of the embedded one.
func TestDockerCLIEngine(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH (the farm installs docker.io unless FARM_DOCKER=0)")
	}
	if _, err := os.Stat(farm.Buildx); err != nil {
		t.Fatalf("the farm has no standalone buildx: %v", err)
	}
	e := envFor(t)
	plugins := filepath.Join(e.DockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(farm.Buildx, filepath.Join(plugins, "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := uniqueRef(t, "docker-cli")
	stdout, stderr, code := runXbuild(t, map[string]string{"XBUILD_ENGINE": "docker-cli"},
		"build", appDir(t), "-t", ref, "--push", "--report", "json", "--debug")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	if !strings.Contains(stderr, "docker buildx)") || strings.Contains(stderr, "(embedded buildx") {
		t.Errorf("the buildx commands did not run through docker buildx:\n%s", tail(stderr, 30))
	}
	rep := decodeReport(t, stdout)
	if rep.Verify == nil || !rep.Verify.OK || len(rep.Platforms) != 2 {
		t.Errorf("report: %+v", rep)
	}
	_, images := readIndex(t, ref)
	if m := elfMachine(t, flatFiles(t, images["linux/arm64"].Image)["/app"]); m != elf.EM_AARCH64 {
		t.Errorf("arm64 image holds a %v binary", m)
	}
}

//go:build e2e

package e2e

import (
	"debug/elf"
	"strings"
	"testing"
)

// A Docker engine over --tlsverify as a node: xbuild creates a docker context
// for it and a buildx docker-container node on it, and builds there.
func TestDockerNodeBuilds(t *testing.T) {
	if farm.Docker == nil {
		t.Skip("the farm runs without its docker node (FARM_DOCKER=0)")
	}
	d := farm.Docker
	args := append([]string{"nodes", "add", "dock1", "--kind", "docker", "--endpoint", d.Endpoint, "--builder", "dock",
		"--driver-opt", "image=" + d.BuildkitImage, "--driver-opt", "network=host", "--buildkitd-config", d.BuildkitdConfig}, tlsArgs()...)
	if _, stderr, code := runXbuild(t, nil, args...); code != 0 {
		t.Fatalf("nodes add: exit %d\n%s", code, stderr)
	}
	rows := nodesLs(t)
	if len(rows) != 1 || rows[0].Kind != "docker" || rows[0].Health.Status != "ok" || !strings.HasPrefix(rows[0].Health.BuildKitVersion, "docker ") {
		t.Fatalf("nodes ls: %+v", rows)
	}
	ref := uniqueRef(t, "docker-node")
	stdout, stderr, code := runXbuild(t, nil, "build", appDir(t), "--builder", "dock", "--platform", "linux/amd64", "-t", ref, "--push", "--report", "json")
	if code != 0 {
		t.Fatalf("build on the docker node: exit %d\n%s", code, tail(stderr, 40))
	}
	rep := decodeReport(t, stdout)
	if len(rep.Platforms) != 1 || rep.Platforms[0].Node != "dock1" || rep.Verify == nil || !rep.Verify.OK {
		t.Errorf("report: %+v", rep)
	}
	_, images := readIndex(t, ref)
	if img := images["linux/amd64"]; img == nil || elfMachine(t, flatFiles(t, img.Image)["/app"]) != elf.EM_X86_64 {
		t.Errorf("pushed images: %v", keys(images))
	}
	if _, stderr, code := runXbuild(t, nil, "nodes", "rm", "dock1"); code != 0 {
		t.Errorf("nodes rm: %s", stderr)
	}
}

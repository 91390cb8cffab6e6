//go:build e2e

package e2e

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// proxyWithCredentials is passed to builds as HTTP_PROXY: it must reach RUN
// steps and appear nowhere in images, logs or reports.
const proxyWithCredentials = "http://e2e-user:pr0xy-s3cret@127.0.0.1:3128"

func appDir(t *testing.T) string { return filepath.Join(repoRoot(t), "test", "e2e", "testdata", "app") }

// Two platforms on two native nodes, pushed as one index, with gzip and with
// zstd: checked with an independent client, not xbuild's verify step.
func TestBuildTwoPlatformsGzipAndZstd(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	parent := t
	for _, comp := range []string{"gzip", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			shareEnv(t, parent)
			ref := uniqueRef(t, "app")
			start := time.Now()
			stdout, stderr, code := runXbuild(t, map[string]string{"HTTP_PROXY": proxyWithCredentials},
				"build", appDir(t), "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
				"--compression", comp, "--progress", "plain", "--report", "json",
				"--build-arg", "E2E_RUN="+ref) // a fresh value: the proxy step runs again (see the Dockerfile)
			t.Logf("%s build+push+verify: %s", comp, time.Since(start).Round(time.Millisecond))
			if code != 0 {
				t.Fatalf("build: exit %d\n%s", code, tail(stderr, 60))
			}
			if strings.Contains(stdout+stderr, "pr0xy-s3cret") {
				t.Errorf("the proxy password appears in xbuild's output")
			}
			rep := decodeReport(t, stdout)
			digest, images := readIndex(t, ref)
			if rep.Digest != digest || rep.Verify == nil || !rep.Verify.OK {
				t.Errorf("report digest %s (registry %s), verify %+v", rep.Digest, digest, rep.Verify)
			}
			if len(images) != 2 || images["linux/amd64"] == nil || images["linux/arm64"] == nil {
				t.Fatalf("index platforms: %v", keys(images))
			}
			wantMT := "application/vnd.oci.image.layer.v1.tar+" + comp
			wantELF := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
			proxySHA := sha256.Sum256([]byte(proxyWithCredentials))
			for p, img := range images {
				if got := img.Config.OS + "/" + img.Config.Architecture; got != p {
					t.Errorf("%s: config says %s", p, got)
				}
				for _, l := range img.Manifest.Layers {
					if string(l.MediaType) != wantMT {
						t.Errorf("%s: layer %s is %s, want %s", p, l.Digest, l.MediaType, wantMT)
					}
				}
				files := flatFiles(t, img.Image)
				if m := elfMachine(t, files["/app"]); m != wantELF[p] {
					t.Errorf("%s: /app is %v, want %v", p, m, wantELF[p])
				}
				// the proxy reached the RUN step (its hash was written there)...
				if got := strings.TrimSpace(string(files["/proxy.sha256"])); got != hex.EncodeToString(proxySHA[:]) {
					t.Errorf("%s: RUN saw HTTP_PROXY with hash %q, want the proxy's", p, got)
				}
				// ...and its value is nowhere in the image
				for f, b := range files {
					if strings.Contains(string(b), "pr0xy-s3cret") {
						t.Errorf("%s: %s contains the proxy password", p, f)
					}
				}
				cfg := fmt.Sprintf("%v %v %v", img.Config.Config.Env, img.Config.History, img.Config.Config.Labels)
				if strings.Contains(cfg, "pr0xy-s3cret") || strings.Contains(cfg, "127.0.0.1:3128") {
					t.Errorf("%s: the proxy appears in the image config: %s", p, cfg)
				}
				if img.Config.Config.User != "65532:65532" {
					t.Errorf("%s: user %q", p, img.Config.Config.User)
				}
			}
			for _, b := range attestationBlobs(t, ref) {
				if strings.Contains(string(b), "pr0xy-s3cret") {
					t.Errorf("an attestation records the proxy password")
				}
			}
		})
	}
}

// An error-level lint finding stops the build before anything is built:
// the nodes may be health-checked meanwhile (lint and the checks overlap),
// but the registered node is a listener that never answers BuildKit, so a
// build would hang or fail on it rather than stop at lint, and nothing is
// pushed.
func TestBuildLintErrorBuildsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	args := append([]string{"nodes", "add", "trap", "--endpoint", "tcp://" + ln.Addr().String(), "--platform", "linux/amd64,linux/arm64", "--skip-check"}, tlsArgs()...)
	if _, stderr, code := runXbuild(t, nil, args...); code != 0 {
		t.Fatal(stderr)
	}
	dir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "lintfail")
	ref := uniqueRef(t, "lintfail")
	_, stderr, code := runXbuild(t, nil, "build", dir, "-t", ref, "--push")
	if code != 1 || !strings.Contains(stderr, "XB001") || !strings.Contains(stderr, "nothing was built") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	for _, never := range []string{"• building", "buildx builder"} {
		if strings.Contains(stderr, never) {
			t.Errorf("the build went past lint (%q):\n%s", never, stderr)
		}
	}
	if tagExists(t, ref) {
		t.Errorf("%s was pushed despite the lint error", ref)
	}
}

// With the arm64 node cut off, the build fails fast naming it, or with
// --allow-emulation builds arm64 on the qemu node and says so.
func TestBuildArm64CutOff(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64", "qemu")
	netns(t, "arm64", "drop")
	ref := uniqueRef(t, "fallback")
	start := time.Now()
	_, stderr, code := runXbuild(t, nil, "build", appDir(t), "-t", ref, "--push")
	took := time.Since(start)
	t.Logf("refusal took %s", took.Round(time.Millisecond))
	if code != 1 || !strings.Contains(stderr, "linux/arm64") || !strings.Contains(stderr, "arm1") || !strings.Contains(stderr, "--allow-emulation") {
		t.Errorf("without --allow-emulation: exit %d\n%s", code, stderr)
	}
	if took > 10*time.Second {
		t.Errorf("refusing took %s; it should fail within seconds", took)
	}
	if tagExists(t, ref) {
		t.Errorf("%s was pushed although the build was refused", ref)
	}

	stdout, stderr, code := runXbuild(t, nil, "build", appDir(t), "-t", ref, "--push", "--allow-emulation", "--report", "json", "--progress", "plain")
	if code != 0 {
		t.Fatalf("with --allow-emulation: exit %d\n%s", code, tail(stderr, 40))
	}
	if !strings.Contains(stderr, "building it on emulated node qemu") {
		t.Errorf("no warning about emulation:\n%s", tail(stderr, 20))
	}
	rep := decodeReport(t, stdout)
	byPlat := map[string]string{}
	for _, p := range rep.Platforms {
		byPlat[p.Platform] = fmt.Sprintf("%s emulated=%v", p.Node, p.Emulated)
	}
	if byPlat["linux/amd64"] != "amd1 emulated=false" || byPlat["linux/arm64"] != "qemu emulated=true" {
		t.Errorf("report platforms: %v", byPlat)
	}
	_, images := readIndex(t, ref)
	if m := elfMachine(t, flatFiles(t, images["linux/arm64"].Image)["/app"]); m != elf.EM_AARCH64 {
		t.Errorf("arm64 image built on the fallback holds a %v binary", m)
	}
}

// --dry-run prints the plan and the exact buildx commands, never a credential.
func TestBuildDryRunPrintsNoCredential(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	stdout, stderr, code := runXbuild(t, map[string]string{"HTTP_PROXY": proxyWithCredentials},
		"build", appDir(t), "-t", uniqueRef(t, "dry"), "--push", "--build-arg", "NPM_TOKEN=npm_e2e_token_value", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"linux/amd64    -> amd1, native", "linux/arm64    -> arm1, native", "docker buildx build --builder xbuild-node-amd1 --file ", "docker buildx build --builder xbuild-node-arm1 --file ",
		"push-by-digest=true", "HTTP_PROXY=http://[REDACTED]@127.0.0.1:3128", "and only then tagged: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry-run lacks %q:\n%s", want, stdout)
		}
	}
	if s := stdout + stderr; strings.Contains(s, "pr0xy-s3cret") || strings.Contains(s, "npm_e2e_token_value") {
		t.Errorf("dry-run printed a credential:\n%s", s)
	}
}

// A push the registry refuses fails the build and leaves no tag.
func TestBuildRegistryAuthFailureLeavesNoTag(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := uniqueRef(t, "authfail")
	bad := writeDockerConfig(t, farm.Registry.User, "not-the-password")
	// the nodes are registered in the test's own DOCKER_CONFIG (the buildx
	// builders live there): copy that state, then break the credentials
	if err := copyDir(filepath.Join(envFor(t).DockerConfig, "buildx"), filepath.Join(bad, "buildx")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runXbuild(t, map[string]string{"DOCKER_CONFIG": bad}, "build", appDir(t), "-t", ref, "--push")
	if code == 0 {
		t.Fatalf("a push with a wrong password succeeded\n%s", tail(stderr, 20))
	}
	if !strings.Contains(strings.ToLower(stderr), "unauthorized") && !strings.Contains(stderr, "401") {
		t.Errorf("the error does not say the registry refused the credentials:\n%s", tail(stderr, 20))
	}
	if tagExists(t, ref) {
		t.Errorf("%s exists after a failed push", ref)
	}
}

// A step that prints nothing for longer than the stall timeout, on a node
// that answers, is not a stall: the watchdog asks the node, finds it alive,
// says so and waits (an arm64 go build under QEMU can be silent for many
// minutes on a busy machine).
func TestBuildSilentStepIsNotAStall(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	dir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "slow")
	ref := uniqueRef(t, "silent")
	_, stderr, code := runXbuildTimeout(t, 4*time.Minute, nil, "build", dir, "-t", ref, "--push",
		"--build-arg", fmt.Sprintf("NONCE=%d", time.Now().UnixNano()), "--stall-timeout", "10s", "--progress", "plain")
	if code != 0 {
		t.Fatalf("a silent step on a live node failed the build: exit %d\n%s", code, tail(stderr, 30))
	}
	if !strings.Contains(stderr, "no build output for") || !strings.Contains(stderr, "but the build is alive (node ") {
		t.Errorf("the watchdog did not say it found the build alive:\n%s", tail(stderr, 30))
	}
	if strings.Contains(stderr, "made no progress") {
		t.Errorf("the watchdog stopped a live build:\n%s", tail(stderr, 30))
	}
	if !tagExists(t, ref) {
		t.Errorf("%s was not published", ref)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out) // callers compare with a sorted list
	return out
}

// A registry cache from a two-node build keeps every platform: each gets its
// own cache ref (buildx alone keeps only the last platform, buildx#1044).
func TestBuildRegistryCachePerPlatform(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := uniqueRef(t, "cached")
	cacheRepo := farm.Registry.Push + "/e2e/cache"
	cacheTag := fmt.Sprintf("c%d", time.Now().UnixNano()%1e9)
	_, stderr, code := runXbuild(t, nil, "build", appDir(t), "-t", ref, "--push",
		"--cache-to", "type=registry,ref="+cacheRepo+":"+cacheTag+",mode=max", "--cache-from", cacheRepo+":"+cacheTag)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	for _, p := range []string{"linux-amd64", "linux-arm64"} {
		if !tagExists(t, cacheRepo+":"+cacheTag+"-"+p) {
			t.Errorf("no cache for %s at %s:%s-%s", p, cacheRepo, cacheTag, p)
		}
	}
	_, images := readIndex(t, ref)
	if len(images) != 2 {
		t.Errorf("merged list has %v", keys(images))
	}
}

// With no node registered, xbuild builds on this machine's BuildKit (here:
// the farm's amd64 daemon through its unix socket, named by BUILDKIT_HOST),
// arm64 through QEMU, and says so.
func TestBuildLocalDefaultWithoutNodes(t *testing.T) {
	ref := uniqueRef(t, "local")
	stdout, stderr, code := runXbuild(t, map[string]string{"BUILDKIT_HOST": farm.Nodes.AMD64.Socket},
		"build", appDir(t), "-t", ref, "--push", "--report", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	if !strings.Contains(stderr, "No build nodes are registered: building on this machine's BuildKit at "+farm.Nodes.AMD64.Socket+" (linux/amd64 native, linux/arm64 through QEMU)") {
		t.Errorf("no one-line notice:\n%s", tail(stderr, 20))
	}
	rep := decodeReport(t, stdout)
	if len(rep.Platforms) != 2 || rep.Platforms[0].Emulated || !rep.Platforms[1].Emulated || rep.Verify == nil || !rep.Verify.OK {
		t.Errorf("report: %+v", rep)
	}

	// nothing local either: the error says what to run next
	_, stderr, code = runXbuild(t, map[string]string{"BUILDKIT_HOST": "unix:///nonexistent/buildkitd.sock", "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
		"build", appDir(t), "-t", ref, "--push")
	if code != 1 || !strings.Contains(stderr, "xbuild nodes certs --out") || !strings.Contains(stderr, "xbuild nodes add NODE --endpoint") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

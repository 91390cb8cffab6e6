//go:build e2e

package e2e

// The release transaction (issue 13): platforms pushed by digest, the index
// verified before any tag is written, a node lost mid-build failed over or
// failing fast, a re-run reusing what finished, registry errors retried,
// and `xbuild verify` on its own. Every outcome is read back from the
// registry with go-containerregistry, not with xbuild.

import (
	"debug/elf"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// txReport is the part of --report json these tests read.
type txReport struct {
	Digest    string `json:"digest"`
	Published bool   `json:"published"`
	Error     string `json:"error"`
	Platforms []struct {
		Platform string   `json:"platform"`
		Node     string   `json:"node"`
		Emulated bool     `json:"emulated"`
		Result   string   `json:"result"`
		Lost     []string `json:"lost"`
	} `json:"platforms"`
	Verify *struct {
		OK bool `json:"ok"`
	} `json:"verify"`
}

func decodeTx(t *testing.T, stdout string) txReport {
	t.Helper()
	return decodeJSONReport[txReport](t, stdout)
}

// results maps each platform to "node result" ("qemu failover").
func (r txReport) results() map[string]string {
	out := map[string]string{}
	for _, p := range r.Platforms {
		out[p.Platform] = p.Node + " " + p.Result
	}
	return out
}

var unverifiedRe = regexp.MustCompile(`unverified index (\S+@sha256:[0-9a-f]{64})`)

// (a) and (f): an arm64 image carrying an x86-64 entrypoint fails verify
// (naming the check), the tag does not exist, and `xbuild verify` on the
// unverified digest fails the same way.
func TestTransactionWrongArchWritesNoTag(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := uniqueRef(t, "wrongarch")
	dir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "wrongarch")
	stdout, stderr, code := runXbuild(t, nil, "build", dir, "-t", ref, "--push", "--no-lint", "--report", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, tail(stderr, 30))
	}
	for _, want := range []string{"linux/arm64 binary-arch: /app is x86-64 (amd64), not AArch64 (arm64)", "no tag was created or moved"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, tail(stderr, 30))
		}
	}
	if tagExists(t, ref) {
		t.Fatalf("%s exists: a tag was written for an image that failed verification", ref)
	}
	rep := decodeTx(t, stdout)
	if rep.Published || rep.Digest == "" || rep.Verify == nil || rep.Verify.OK {
		t.Errorf("report: published %v, digest %q, verify %+v", rep.Published, rep.Digest, rep.Verify)
	}
	m := unverifiedRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the error does not name the unverified digest:\n%s", tail(stderr, 30))
	}
	unverified := m[1]
	if !strings.HasSuffix(unverified, rep.Digest) {
		t.Errorf("the error names %s, the report %s", unverified, rep.Digest)
	}
	// the index is in the registry by digest, for debugging, and holds the bad binary
	_, images := readIndex(t, unverified)
	if got := elfMachine(t, flatFiles(t, images["linux/arm64"].Image)["/app"]); got != elf.EM_X86_64 {
		t.Errorf("the unverified arm64 image holds %v", got)
	}

	out, errOut, code := runXbuild(t, nil, "verify", unverified)
	if code != 1 || !strings.Contains(out+errOut, "binary-arch") || !strings.Contains(out+errOut, "linux/arm64") {
		t.Errorf("xbuild verify of the bad index: exit %d\n%s%s", code, out, errOut)
	}
}

// (b): an image over the size budget is not tagged.
func TestTransactionSizeBudgetWritesNoTag(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := uniqueRef(t, "budget")
	_, stderr, code := runXbuild(t, nil, "build", appDir(t), "-t", ref, "--push", "--size-budget", "10KB")
	if code != 1 || !strings.Contains(stderr, "size-budget") || !strings.Contains(stderr, "over the size budget of 10.0 kB") {
		t.Errorf("exit %d\n%s", code, tail(stderr, 20))
	}
	if tagExists(t, ref) {
		t.Errorf("%s exists although the image is over its budget", ref)
	}
}

// slowBuild builds testdata/slow (each platform's RUN sleeps 25 s) with
// nonce, cutting the farm node cut (mode "drop": packets silently dropped)
// 8 s after the start. It returns the outputs, the exit code and how long
// after the cut xbuild exited.
func slowBuild(t *testing.T, ref, nonce, cut string, extra ...string) (string, string, int, time.Duration) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "slow")
	cutAt := make(chan time.Time, 1)
	if cut != "" {
		go func() {
			time.Sleep(8 * time.Second) // the RUN steps are sleeping by then
			netnsRun(t, cut, "drop")
			cutAt <- time.Now()
		}()
	}
	args := append([]string{"build", dir, "-t", ref, "--push", "--build-arg", "NONCE=" + nonce, "--progress", "plain", "--report", "json"}, extra...)
	stdout, stderr, code := runXbuildTimeout(t, 5*time.Minute, nil, args...)
	var sinceCut time.Duration
	if cut != "" {
		sinceCut = time.Since(<-cutAt)
	}
	return stdout, stderr, code, sinceCut
}

// (c): the arm64 node is cut off mid-build; with --allow-emulation arm64 is
// rebuilt on the emulated node while amd64 goes on, and the index is
// verified and tagged.
func TestTransactionNodeLostFailsOver(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64", "qemu")
	restoreOnCleanup(t, "arm64")
	ref := uniqueRef(t, "failover")
	stdout, stderr, code, _ := slowBuild(t, ref, fmt.Sprint(time.Now().UnixNano()), "arm64", "--allow-emulation")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	rep := decodeTx(t, stdout)
	if got := rep.results(); got["linux/amd64"] != "amd1 built" || got["linux/arm64"] != "qemu failover" || !rep.Published {
		t.Errorf("report: %v published %v", got, rep.Published)
	}
	if !strings.Contains(stderr, "linux/arm64: node arm1 was lost mid-build") || !strings.Contains(stderr, "building it again on qemu") {
		t.Errorf("the failover is not said:\n%s", tail(stderr, 30))
	}
	_, images := readIndex(t, ref)
	if len(images) != 2 {
		t.Fatalf("index platforms %v", keys(images))
	}
	for p, want := range map[string]string{"linux/amd64": "amd64", "linux/arm64": "arm64"} {
		if got := strings.TrimSpace(string(flatFiles(t, images[p].Image)["/arch"])); got != want {
			t.Errorf("%s: TARGETARCH was %q", p, got)
		}
	}
}

// (c) and (d): with nowhere to go, the build fails soon after the cut,
// naming the node, and writes no tag; once the node is back, the same
// command reuses amd64 and builds only arm64.
func TestTransactionNodeLostFailsThenResumes(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	restoreOnCleanup(t, "arm64")
	ref := uniqueRef(t, "resume")
	nonce := fmt.Sprint(time.Now().UnixNano())
	stdout, stderr, code, sinceCut := slowBuild(t, ref, nonce, "arm64")
	t.Logf("the failed build exited %s after the cut", sinceCut.Round(time.Millisecond))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, tail(stderr, 40))
	}
	if !strings.Contains(stderr, "linux/arm64: node arm1 was lost mid-build") || !strings.Contains(stderr, "no other node can build it") {
		t.Errorf("the error does not name the lost node:\n%s", tail(stderr, 30))
	}
	if sinceCut > 30*time.Second {
		t.Errorf("the build ended %s after the node was cut, not within 30 s", sinceCut)
	}
	if tagExists(t, ref) {
		t.Fatalf("%s exists after a failed build", ref)
	}
	rep := decodeTx(t, stdout)
	if got := rep.results(); got["linux/amd64"] != "amd1 built" || got["linux/arm64"] != "arm1 failed" {
		t.Errorf("failed run's report: %v", got)
	}

	netnsRun(t, "arm64", "restore")
	stdout, stderr, code, _ = slowBuild(t, ref, nonce, "")
	if code != 0 {
		t.Fatalf("re-run: exit %d\n%s", code, tail(stderr, 40))
	}
	rep = decodeTx(t, stdout)
	if got := rep.results(); got["linux/amd64"] != "amd1 reused" || got["linux/arm64"] != "arm1 built" || !rep.Published {
		t.Errorf("re-run's report: %v, published %v", got, rep.Published)
	}
	_, images := readIndex(t, ref)
	if len(images) != 2 || images["linux/amd64"] == nil || images["linux/arm64"] == nil {
		t.Fatalf("index platforms %v", keys(images))
	}
	// (f) the published index verifies with `xbuild verify`
	out, errOut, code := runXbuild(t, nil, "verify", ref, "--platform", "linux/amd64,linux/arm64")
	if code != 0 {
		t.Errorf("xbuild verify of the published index: exit %d\n%s%s", code, out, errOut)
	}
}

// (e): the registry answers the first manifest requests with 503 (the
// farm's fault proxy): the build succeeds, and xbuild says it retried.
func TestTransactionRegistryErrorsAreRetried(t *testing.T) {
	resetFaults(t)
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	ref := strings.Replace(uniqueRef(t, "retry"), farm.Registry.Push, farm.Registry.Faulty, 1)
	// the index read back for verify, then the platforms' manifest pushes
	armFault(t, fault{Methods: []string{"GET"}, Path: "/manifests/", Count: 2})
	armFault(t, fault{Methods: []string{"PUT"}, Path: "/manifests/", Count: 9})
	stdout, stderr, code := runXbuild(t, nil, "build", appDir(t), "-t", ref, "--push", "--report", "json",
		"--build-arg", "E2E_RUN="+ref)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	if !strings.Contains(stderr, "503 Service Unavailable; retry 1 of 3") && !strings.Contains(stderr, "the push failed (503 Service Unavailable); building it again") {
		t.Errorf("no retry was said:\n%s", tail(stderr, 40))
	}
	if c := faultCounters(t); c.Injected != 11 {
		t.Errorf("the proxy injected %d faults, want all 11", c.Injected)
	}
	if !decodeTx(t, stdout).Published {
		t.Error("not published")
	}
	if !tagExists(t, strings.Replace(ref, farm.Registry.Faulty, farm.Registry.Push, 1)) {
		t.Errorf("%s was not tagged", ref)
	}
}

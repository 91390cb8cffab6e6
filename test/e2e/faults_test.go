//go:build e2e

package e2e

// The fault matrix (issue 18): the registry killed during a push, a BuildKit
// node's process killed mid-build, an expired client certificate, a full
// config dir, Ctrl-C during a build and during `nodes add`, two builds on
// one builder at once, the docker node's daemon restarted. Every case ends
// with "nothing lost, nothing half-written": tags read back with
// go-containerregistry (none created or moved by a failed build), the node
// store and builder state byte-identical, every state file parsing, no
// temporary file left, the docker contexts and buildx builders as they were.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// faultsDir is the fault tests' build context (busybox plus a 4 MiB random layer).
func faultsDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "test", "e2e", "testdata", "faults")
}

// faultsBuild are the arguments of a linux/amd64 build of faultsDir pushed
// to ref; the RUN step sleeps for sleep seconds.
func faultsBuild(t *testing.T, ref, nonce string, sleep int, extra ...string) []string {
	return append([]string{"build", faultsDir(t), "-t", ref, "--push", "--platform", "linux/amd64", "--no-lint", "--progress", "plain",
		"--build-arg", "NONCE=" + nonce, "--build-arg", "SLEEP=" + strconv.Itoa(sleep)}, extra...)
}

func nonce() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

// --- the registry killed during a push ---------------------------------------------------------------------

// The push registry dies as the build's first blob upload reaches it: the
// build fails naming the registry's answer, the tag keeps its previous
// image, the node store is as it was; once the farm has repaired the
// registry, the same command publishes.
func TestFaultRegistryKilledDuringPush(t *testing.T) {
	resetFaults(t)
	addFarmNodes(t, "xbuild", "amd64")
	ref := uniqueRef(t, "faults")
	prev := previousTag(t, ref)
	// through the fault proxy, whose request log shows when the upload starts
	faulty := strings.Replace(ref, farm.Registry.Push, farm.Registry.Faulty, 1)
	uploads := "/v2/" + repoPath(t, ref) + "/blobs/uploads/"
	before := snapshotState(t)
	n := nonce()

	tmp := t.TempDir()
	p := startXbuild(t, map[string]string{"TMPDIR": tmp}, faultsBuild(t, faulty, n, 0)...)
	if !pollUntil(3*time.Minute, 100*time.Millisecond, func() bool {
		return p.exited() || slices.ContainsFunc(faultLog(t), func(e faultEntry) bool { return strings.Contains(e.Path, uploads) })
	}) || p.exited() {
		t.Fatalf("no upload to %s reached the registry while the build ran\n%s", uploads, tail(p.stderr.String(), 30))
	}
	repairOnCleanup(t)
	killed := killFarmDaemon(t, "registry-push")
	code := p.wait(t, 3*time.Minute)
	t.Logf("the build exited %s after the registry was killed", p.exitedAt.Sub(killed).Round(time.Millisecond))
	stderr := p.stderr.String()
	t.Logf("xbuild said:\n%s", tail(stderr, 12))
	if code != 1 || !strings.Contains(stderr, "502 Bad Gateway") || !strings.Contains(stderr, "NOT published") {
		t.Errorf("exit %d, want 1, naming the registry's 502 and that nothing was published\n%s", code, tail(stderr, 30))
	}
	farmRepair(t)
	if got := tagDigest(t, ref); got != prev {
		t.Errorf("%s is %q after the failed build, want its previous image %s", ref, got, prev)
	}
	checkIntact(t, before)
	noTempFiles(t, tmp)

	// the registry is back: the same command publishes (reusing the platform if its push had finished)
	stdout, stderr2, code := runXbuild(t, nil, append(faultsBuild(t, faulty, n, 0), "--report", "json")...)
	if code != 0 {
		t.Fatalf("re-run after the repair: exit %d\n%s", code, tail(stderr2, 30))
	}
	rep := decodeTx(t, stdout)
	t.Logf("re-run: %v", rep.results())
	if got := tagDigest(t, ref); got == prev || got != rep.Digest {
		t.Errorf("%s is %s after the re-run, want the new index %s", ref, got, rep.Digest)
	}
	checkIntact(t, before)
	if states := buildStates(t); len(states) != 0 {
		t.Errorf("build state left after the publish: %v", states)
	}
}

// --- a BuildKit node's process killed mid-build ------------------------------------------------------------

// The amd64 node's buildkitd is killed (SIGKILL) while the build's RUN step
// runs on it. No other node builds linux/amd64: the build fails fast,
// naming the node, and the tag keeps its previous image.
func TestFaultNodeProcessKilledMidBuild(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64")
	ref := uniqueRef(t, "faults")
	prev := previousTag(t, ref)
	before := snapshotState(t)
	n := nonce()

	tmp := t.TempDir()
	p := startXbuild(t, map[string]string{"TMPDIR": tmp}, faultsBuild(t, ref, n, 60)...)
	p.waitForRun(t, n, 2*time.Minute)
	repairOnCleanup(t)
	killed := killFarmDaemon(t, "buildkitd-amd64")
	code := p.wait(t, 2*time.Minute)
	took := p.exitedAt.Sub(killed)
	t.Logf("the build exited %s after the node's buildkitd was killed", took.Round(time.Millisecond))
	stderr := p.stderr.String()
	t.Logf("xbuild said:\n%s", tail(stderr, 12))
	if code != 1 || !strings.Contains(stderr, "linux/amd64: node amd1 was lost mid-build") || !strings.Contains(stderr, "no other node can build it") {
		t.Errorf("exit %d, want 1 naming the lost node amd1\n%s", code, tail(stderr, 30))
	}
	if took > 30*time.Second {
		t.Errorf("the build ended %s after its node died, not within 30 s", took)
	}
	farmRepair(t)
	if got := tagDigest(t, ref); got != prev {
		t.Errorf("%s is %q after the failed build, want its previous image %s", ref, got, prev)
	}
	if _, stderr, code := runXbuild(t, nil, "nodes", "check", "amd1"); code != 0 {
		t.Errorf("nodes check after the repair: exit %d\n%s", code, stderr)
	}
	checkIntact(t, before)
	noTempFiles(t, tmp)
}

// --- an expired client certificate -------------------------------------------------------------------------

// A client certificate that has expired: `nodes add` refuses it, `nodes
// check` and `build` say so for a registered node whose certificate file
// expired, naming the file; nothing changes.
func TestFaultExpiredClientCertificate(t *testing.T) {
	valid := copyClientCerts(t)
	expired := copyClientCerts(t)
	writeExpiredClientCert(t, expired)
	tlsIn := func(dir string) []string {
		return []string{"--tls-ca", filepath.Join(dir, "ca.pem"), "--tls-cert", filepath.Join(dir, "cert.pem"),
			"--tls-key", filepath.Join(dir, "key.pem"), "--tls-servername", farm.Certs.ServerName}
	}
	if _, stderr, code := runXbuild(t, nil, append([]string{"nodes", "add", "amd1", "--endpoint", farm.Nodes.AMD64.Endpoint}, tlsIn(valid)...)...); code != 0 {
		t.Fatalf("nodes add amd1: exit %d\n%s", code, stderr)
	}
	before := snapshotState(t)
	expiredMsg := "--tls-cert " + filepath.Join(expired, "cert.pem") + ": the client certificate expired on "

	_, stderr, code := runXbuild(t, nil, append([]string{"nodes", "add", "amd2", "--endpoint", farm.Nodes.AMD64B.Endpoint}, tlsIn(expired)...)...)
	t.Logf("nodes add said:\n%s", stderr)
	if code != 1 || !strings.Contains(stderr, expiredMsg) {
		t.Errorf("nodes add with an expired certificate: exit %d, want 1 and %q\n%s", code, expiredMsg, stderr)
	}
	checkIntact(t, before)

	// amd1's certificate file is replaced by an expired one, as time would
	for _, f := range []string{"cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(expired, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(valid, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	expiredMsg = "--tls-cert " + filepath.Join(valid, "cert.pem") + ": the client certificate expired on "
	_, stderr, code = runXbuild(t, nil, "nodes", "check", "amd1")
	t.Logf("nodes check said:\n%s", stderr)
	if code != 1 || !strings.Contains(stderr, "amd1: tls-error: "+expiredMsg) {
		t.Errorf("nodes check: exit %d, want 1 and amd1 tls-error %q\n%s", code, expiredMsg, stderr)
	}
	ref := uniqueRef(t, "faults")
	_, stderr, code = runXbuild(t, nil, faultsBuild(t, ref, nonce(), 0)...)
	t.Logf("build said:\n%s", tail(stderr, 12))
	if code != 1 || !strings.Contains(stderr, "amd1") || !strings.Contains(stderr, expiredMsg) {
		t.Errorf("build: exit %d, want 1 naming amd1 and %q\n%s", code, expiredMsg, tail(stderr, 20))
	}
	if tagExists(t, ref) {
		t.Errorf("%s exists after a build that had no node", ref)
	}
	checkIntact(t, before)
}

// copyClientCerts copies the farm's client ca.pem, cert.pem and key.pem to a new directory.
func copyClientCerts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for f, src := range map[string]string{"ca.pem": farm.Certs.ClientCA, "cert.pem": farm.Certs.ClientCert, "key.pem": farm.Certs.ClientKey} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeExpiredClientCert writes DIR/cert.pem and DIR/key.pem: a client
// certificate signed by the farm CA that expired yesterday.
func writeExpiredClientCert(t *testing.T, dir string) {
	t.Helper()
	caCert := readPEM(t, farm.Certs.CA, "CERTIFICATE")
	ca, err := x509.ParseCertificate(caCert)
	if err != nil {
		t.Fatal(err)
	}
	caKeyDER := readPEM(t, filepath.Join(farm.Certs.Dir, "ca-key.pem"), "")
	caKey, err := x509.ParsePKCS8PrivateKey(caKeyDER)
	if err != nil {
		if caKey, err = x509.ParseECPrivateKey(caKeyDER); err != nil {
			t.Fatalf("the farm CA key: %v", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "xbuild-e2e-expired-client"},
		NotBefore:    now.Add(-72 * time.Hour),
		NotAfter:     now.Add(-24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for f, blk := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, f), pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readPEM returns the first PEM block of file (of type typ, unless typ is "").
func readPEM(t *testing.T, file, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || typ != "" && blk.Type != typ {
		t.Fatalf("%s: no PEM %s block", file, typ)
	}
	return blk.Bytes
}

// --- the config dir full -----------------------------------------------------------------------------------

// XBUILD_CONFIG_DIR is a 1 MiB tmpfs, filled up: `nodes add` fails naming
// the file and the full disk and leaves the store as it was; a build whose
// resume state cannot be written says so and goes on (the state only saves
// a re-run some work), leaving the store as it was too.
func TestFaultConfigDirFull(t *testing.T) {
	e := envFor(t)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "xbuild-e2e-full", e.ConfigDir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v\n%s", e.ConfigDir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", e.ConfigDir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v\n%s", e.ConfigDir, err, out)
		}
	})
	addFarmNodes(t, "xbuild", "amd64")
	fillDisk(t, filepath.Join(e.ConfigDir, "filler"))
	before := snapshotState(t)

	args := append([]string{"nodes", "add", "amd2", "--endpoint", farm.Nodes.AMD64B.Endpoint}, tlsArgs()...)
	_, stderr, code := runXbuild(t, nil, args...)
	t.Logf("nodes add said:\n%s", stderr)
	want := filepath.Join(e.ConfigDir, "nodes", "amd2.json")
	if code != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "no space left on device; nothing was registered") {
		t.Errorf("nodes add on a full config dir: exit %d, want 1 naming %s and the full disk\n%s", code, want, stderr)
	}
	checkIntact(t, before)

	ref := uniqueRef(t, "faults")
	_, stderr, code = runXbuild(t, nil, faultsBuild(t, ref, nonce(), 0)...)
	t.Logf("build said:\n%s", tail(stderr, 12))
	if code != 0 || !strings.Contains(stderr, "linux/amd64: cannot record the finished platform for a re-run") || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("build on a full config dir: exit %d, want 0 with a warning about the resume state\n%s", code, tail(stderr, 30))
	}
	if code == 0 && !tagExists(t, ref) {
		t.Errorf("%s was not published", ref)
	}
	checkIntact(t, before)
	if states := buildStates(t); len(states) != 0 {
		t.Errorf("build state on the full disk: %v", states)
	}
}

// fillDisk writes file until its file system is full.
func fillDisk(t *testing.T, file string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; i < 1<<16; i++ {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: wrote 256 MiB without filling the file system", file)
}

// --- Ctrl-C ------------------------------------------------------------------------------------------------

// Ctrl-C during a build (SIGINT to xbuild alone, which must stop its buildx
// child itself, and to the whole process group, as a terminal sends it) and
// during `nodes add` waiting for a node: exit 130 within a few seconds, one
// line, no buildx child left, no temporary file, nothing changed.
func TestFaultInterrupt(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64")
	parent := t
	for _, group := range []bool{false, true} {
		name := map[bool]string{false: "build-sigint-xbuild", true: "build-sigint-group"}[group]
		t.Run(name, func(t *testing.T) {
			shareEnv(t, parent)
			ref := uniqueRef(t, "faults")
			prev := previousTag(t, ref)
			before := snapshotState(t)
			tmp := t.TempDir()
			n := nonce()
			p := startXbuild(t, map[string]string{"TMPDIR": tmp}, faultsBuild(t, ref, n, 60)...)
			p.waitForRun(t, n, 2*time.Minute)
			took := p.interrupt(t, group)
			t.Logf("xbuild exited %s after SIGINT", took.Round(time.Millisecond))
			stderr := p.stderr.String()
			if code := p.code(); code != 130 || took > 10*time.Second {
				t.Errorf("exit %d %s after SIGINT, want 130 within 10 s\n%s", code, took.Round(time.Millisecond), tail(stderr, 20))
			}
			if last := lastLine(stderr); last != "xbuild: interrupted in the build step: no tag was created or moved" {
				t.Errorf("last line %q\n%s", last, tail(stderr, 20))
			}
			if strings.Contains(stderr, "NOT published") || p.stdout.Len() != 0 {
				t.Errorf("a report after Ctrl-C:\nstdout %q\n%s", p.stdout, tail(stderr, 20))
			}
			if left := processesWith(n); len(left) > 0 {
				t.Errorf("processes of the build left running: %v", left)
			}
			noTempFiles(t, tmp)
			if got := tagDigest(t, ref); got != prev {
				t.Errorf("%s is %q, want its previous image %s", ref, got, prev)
			}
			checkIntact(t, before)
		})
	}
	t.Run("nodes-add-sigint", func(t *testing.T) {
		shareEnv(t, parent)
		netns(t, "amd64b", "drop") // its replies vanish: the add waits for its timeout
		before := snapshotState(t)
		args := append([]string{"nodes", "add", "amd2", "--endpoint", farm.Nodes.AMD64B.Endpoint, "--timeout", "60s"}, tlsArgs()...)
		p := startXbuild(t, nil, args...)
		time.Sleep(2 * time.Second)
		took := p.interrupt(t, false)
		t.Logf("nodes add exited %s after SIGINT", took.Round(time.Millisecond))
		if code, stderr := p.code(), p.stderr.String(); code != 130 || took > 10*time.Second || stderr != "xbuild: interrupted\n" {
			t.Errorf("exit %d %s after SIGINT, want 130 within 10 s and one line; stderr:\n%s", code, took.Round(time.Millisecond), stderr)
		}
		checkIntact(t, before)
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// processesWith lists the live processes whose command line contains s.
func processesWith(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte(s)) {
			continue
		}
		out = append(out, e.Name()+" "+string(bytes.ReplaceAll(cl, []byte{0}, []byte{' '})))
	}
	return out
}

// --- two builds on one builder -----------------------------------------------------------------------------

// Two xbuild processes build on the same node at the same time, with the
// same config dir and docker config, after the node's buildx builder was
// removed by hand: both make it again at once, both publish verified
// images, and the builders' state is what it was.
func TestFaultTwoBuildsShareBuilder(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64")
	before := snapshotState(t)
	instance := filepath.Join(envFor(t).DockerConfig, "buildx", "instances", "xbuild-node-amd1")
	if err := os.Remove(instance); err != nil { // as docker buildx rm xbuild-node-amd1 does
		t.Fatalf("removing the builder: %v", err)
	}
	refs := []string{uniqueRef(t, "faults") + "-a", uniqueRef(t, "faults") + "-b"}
	procs := make([]*xbuildProc, len(refs))
	for i, ref := range refs {
		procs[i] = startXbuild(t, nil, faultsBuild(t, ref, nonce(), 5, "--report", "json")...)
	}
	for i, p := range procs {
		if code := p.wait(t, 5*time.Minute); code != 0 {
			t.Errorf("build %d: exit %d\n%s", i, code, tail(p.stderr.String(), 30))
			continue
		}
		rep := decodeTx(t, p.stdout.String())
		if !rep.Published || rep.Verify == nil || !rep.Verify.OK || rep.results()["linux/amd64"] != "amd1 built" {
			t.Errorf("build %d: published %v, verify %+v, %v", i, rep.Published, rep.Verify, rep.results())
		}
		if got := tagDigest(t, refs[i]); got != rep.Digest {
			t.Errorf("%s is %q, want %s", refs[i], got, rep.Digest)
		}
	}
	checkIntact(t, before)
	if states := buildStates(t); len(states) != 0 {
		t.Errorf("build state left after both published: %v", states)
	}
}

// --- the docker node's daemon restarted --------------------------------------------------------------------

// The farm's dockerd is restarted between two builds on the docker node:
// the next build works (or fails clearly and works on retry), and the
// docker context and builders are as they were.
func TestFaultDockerDaemonRestarted(t *testing.T) {
	if farm.Docker == nil {
		t.Skip("the farm runs without its docker node (FARM_DOCKER=0)")
	}
	d := farm.Docker
	args := append([]string{"nodes", "add", "dock1", "--kind", "docker", "--endpoint", d.Endpoint, "--builder", "dock",
		"--driver-opt", "image=" + d.BuildkitImage, "--driver-opt", "network=host", "--buildkitd-config", d.BuildkitdConfig}, tlsArgs()...)
	if _, stderr, code := runXbuild(t, nil, args...); code != 0 {
		t.Fatalf("nodes add: exit %d\n%s", code, stderr)
	}
	build := func() (string, int) {
		ref := uniqueRef(t, "faults")
		_, stderr, code := runXbuild(t, nil, faultsBuild(t, ref, nonce(), 0, "--builder", "dock")...)
		if code == 0 && !tagExists(t, ref) {
			t.Errorf("%s was not published", ref)
		}
		return stderr, code
	}
	if stderr, code := build(); code != 0 {
		t.Fatalf("build before the restart: exit %d\n%s", code, tail(stderr, 30))
	}
	before := snapshotState(t)
	repairOnCleanup(t)
	start := time.Now()
	runFarmScript(t, "restart.sh", "dockerd")
	t.Logf("dockerd restarted in %s", time.Since(start).Round(100*time.Millisecond))
	stderr, code := build()
	if code != 0 {
		t.Logf("the first build after the restart failed (exit %d):\n%s", code, tail(stderr, 20))
		if stderr, code = build(); code != 0 {
			t.Errorf("the retry failed too: exit %d\n%s", code, tail(stderr, 30))
		}
	}
	checkIntact(t, before)
}

// --- helpers: state --------------------------------------------------------------------------------------

// state is what a fault must leave as it was: the node store (nodes/,
// builders/ under the config dir) and, under the docker config dir, the
// docker contexts and buildx's builders.
type state map[string]string

func snapshotState(t *testing.T) state {
	t.Helper()
	e := envFor(t)
	out := state{}
	for _, d := range []struct{ root, sub string }{
		{e.ConfigDir, "nodes"}, {e.ConfigDir, "builders"},
		{e.DockerConfig, "contexts"}, {e.DockerConfig, "buildx/instances"},
	} {
		for rel, b := range tree(t, filepath.Join(d.root, d.sub)) {
			if filepath.Base(rel) == ".lock" {
				continue
			}
			out[filepath.Join(filepath.Base(d.root), d.sub, rel)] = b
		}
	}
	return out
}

// checkIntact compares the state with before, and checks that nothing is
// half-written: no temporary file, every state file parses.
func checkIntact(t *testing.T, before state) {
	t.Helper()
	after := snapshotState(t)
	for k, v := range before {
		if w, ok := after[k]; !ok {
			t.Errorf("%s is gone", k)
		} else if w != v {
			t.Errorf("%s changed:\n%s\nwas\n%s", k, w, v)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
	e := envFor(t)
	for _, root := range []string{e.ConfigDir, e.DockerConfig} {
		for rel, b := range tree(t, root) {
			switch {
			case strings.Contains(filepath.Base(rel), ".tmp"):
				t.Errorf("%s: a temporary file was left", filepath.Join(root, rel))
			case strings.HasSuffix(rel, ".json") || strings.HasPrefix(rel, "buildx/instances/"):
				if !json.Valid([]byte(b)) {
					t.Errorf("%s does not parse as JSON:\n%s", filepath.Join(root, rel), b)
				}
			}
		}
	}
}

// noTempFiles checks that xbuild, run with TMPDIR=tmp, left nothing there
// (no file, no directory).
func noTempFiles(t *testing.T, tmp string) {
	t.Helper()
	ents, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}

// buildStates are the resume states under the config dir (builds/*.json).
func buildStates(t *testing.T) []string {
	t.Helper()
	var out []string
	for rel := range tree(t, filepath.Join(envFor(t).ConfigDir, "builds")) {
		if strings.HasSuffix(rel, ".json") {
			out = append(out, rel)
		}
	}
	return out
}

// tree reads every regular file under dir, by relative path; a missing
// dir is empty.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// --- helpers: registry -----------------------------------------------------------------------------------

// previousTag pushes a small random image to ref (straight to the push
// registry) and returns its digest: what a failed build must leave there.
func previousTag(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, registryOptions(t)...); err != nil {
		t.Fatalf("pushing the previous image to %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d.String()
}

// tagDigest is what ref points at in the push registry ("" when nothing).
func tagDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(strings.Replace(ref, farm.Registry.Faulty, farm.Registry.Push, 1))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, registryOptions(t)...)
	var terr *transport.Error
	switch {
	case err == nil:
		return desc.Digest.String()
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return ""
	}
	t.Fatalf("reading %s: %v", ref, err)
	return ""
}

// repoPath is ref's repository without the registry: e2e/faults.
func repoPath(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().RepositoryStr()
}

// --- helpers: farm daemons ---------------------------------------------------------------------------------

// killFarmDaemon kills (SIGKILL) the farm daemon NAME by its PID file, after
// checking that the process still runs the command line the farm recorded,
// waits until it is gone and returns when the signal was sent.
func killFarmDaemon(t *testing.T, daemon string) time.Time {
	t.Helper()
	run := filepath.Join(farm.Dir, "run")
	b, err := os.ReadFile(filepath.Join(run, daemon+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s.pid: %v", daemon, err)
	}
	want, err := os.ReadFile(filepath.Join(run, daemon+".cmd"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || string(bytes.ReplaceAll(have, []byte{0}, []byte{'\n'})) != string(want) {
		t.Fatalf("pid %d is not the farm's %s (%v): the farm needs repair (bash hack/farm/up.sh)", pid, daemon, err)
	}
	sent := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s (pid %d): %v", daemon, pid, err)
	}
	if !pollUntil(10*time.Second, 50*time.Millisecond, func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(st), ") Z ")
	}) {
		t.Fatalf("%s (pid %d) still runs 10 s after SIGKILL", daemon, pid)
	}
	return sent
}

// runFarmScript runs hack/farm/SCRIPT ARGS (up.sh repairs the farm; it is
// idempotent), bounded by 5 minutes.
func runFarmScript(t *testing.T, script string, args ...string) {
	t.Helper()
	if err := farmScript(t, script, args...); err != nil {
		t.Fatal(err)
	}
}

// farmScript runs the script with a file open that it inherits, as it
// inherited make e2e-run's lock on e2e.lock before: a daemon the script
// starts must not keep it (it kept every later e2e run waiting).
func farmScript(t *testing.T, script string, args ...string) error {
	marker, err := os.CreateTemp("", "xbuild-e2e-inherited-")
	if err != nil {
		return err
	}
	defer os.Remove(marker.Name())
	defer marker.Close()
	// Go opens files close-on-exec; this one is handed down like a shell's
	fd := int(marker.Fd())
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); errno != 0 {
		return errno
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for {
		cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot(t), "hack/farm", script)}, args...)...)
		cmd.Env = append(os.Environ(), "XBUILD_FARM_DIR="+farm.Dir)
		out, err := cmd.CombinedOutput()
		// someone repairs the farm at the same time (up.sh does not wait for its lock): try again
		if err != nil && strings.Contains(string(out), "another up.sh/down.sh is running") && ctx.Err() == nil {
			time.Sleep(2 * time.Second)
			continue
		}
		if err != nil {
			return fmt.Errorf("hack/farm/%s %s: %v\n%s", script, strings.Join(args, " "), err, tail(string(out), 30))
		}
		break
	}
	if held := daemonsHolding(marker.Name()); len(held) > 0 {
		return fmt.Errorf("hack/farm/%s left farm daemons holding a file of its caller: %v", script, held)
	}
	return nil
}

// daemonsHolding lists the farm daemons (run/*.pid) that have path open.
func daemonsHolding(path string) []string {
	var out []string
	pids, _ := filepath.Glob(filepath.Join(farm.Dir, "run", "*.pid"))
	for _, pf := range pids {
		b, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		pid := strings.TrimSpace(string(b))
		fds, _ := filepath.Glob(filepath.Join("/proc", pid, "fd", "*"))
		for _, fd := range fds {
			if target, err := os.Readlink(fd); err == nil && target == path {
				out = append(out, strings.TrimSuffix(filepath.Base(pf), ".pid")+" (pid "+pid+")")
			}
		}
	}
	return out
}

// farmRepair runs hack/farm/up.sh, which starts what a test stopped.
func farmRepair(t *testing.T) {
	t.Helper()
	start := time.Now()
	runFarmScript(t, "up.sh")
	t.Logf("hack/farm/up.sh repaired the farm in %s", time.Since(start).Round(100*time.Millisecond))
}

// repairOnCleanup runs up.sh when the test ends, whatever happened.
func repairOnCleanup(t *testing.T) {
	t.Cleanup(func() {
		if err := farmScript(t, "up.sh"); err != nil {
			t.Errorf("repairing the farm: %v", err)
		}
	})
}

// pollUntil calls ok every interval until it is true (true) or limit passes (false).
func pollUntil(limit, interval time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// --- helpers: xbuild in the background ---------------------------------------------------------------------

// xbuildProc is an xbuild started in the background, in a process group
// of its own (so a signal to the group reaches its buildx child too, as a
// terminal's Ctrl-C does, and nothing else).
type xbuildProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
	exitedAt       time.Time
}

func startXbuild(t *testing.T, env map[string]string, args ...string) *xbuildProc {
	t.Helper()
	e := envFor(t)
	vars := e.baseEnv()
	for k, v := range env {
		vars[k] = v
	}
	p := &xbuildProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(xbuildBin, args...)
	p.cmd.Dir, p.cmd.Env = e.Home, envList(vars)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("started xbuild %s (pid %d)", strings.Join(args, " "), p.cmd.Process.Pid)
	go func() {
		p.err = p.cmd.Wait()
		p.exitedAt = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *xbuildProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits (at most limit) for xbuild to exit and returns its exit code.
func (p *xbuildProc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Fatalf("xbuild still ran after %s; killed\n%s", limit, tail(p.stderr.String(), 30))
	}
	return p.code()
}

func (p *xbuildProc) code() int { return exitCode(p.err) }

// waitForRun waits (at most limit) until the RUN step of faultsDir has
// echoed nonce (a plain-progress line "#N 0.123 NONCE"): it sleeps now.
func (p *xbuildProc) waitForRun(t *testing.T, nonce string, limit time.Duration) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(linux/amd64: )?#\d+ \d+\.\d+ ` + nonce + `$`)
	if !pollUntil(limit, 100*time.Millisecond, func() bool { return p.exited() || re.MatchString(p.stderr.String()) }) || p.exited() {
		t.Fatalf("the RUN step did not echo %s within %s (exited: %v)\n%s", nonce, limit, p.exited(), tail(p.stderr.String(), 30))
	}
}

// interrupt sends SIGINT (to the process group when group is set) and
// returns how long xbuild took to exit; it waits at most 30 s.
func (p *xbuildProc) interrupt(t *testing.T, group bool) time.Duration {
	t.Helper()
	pid := p.cmd.Process.Pid
	if group {
		pid = -pid
	}
	sent := time.Now()
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	return p.exitedAt.Sub(sent)
}

// syncBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

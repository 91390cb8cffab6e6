//go:build e2e

package e2e

// Tests of the farm itself (issues 13 and 16): the native nodes, each in its
// own network namespace and each cuttable, and the registry fault proxy.
// Every claim is checked with a client that is not xbuild (crypto/tls,
// buildctl, go-containerregistry) as well as, where it applies, through xbuild.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// nativeNodes are the farm's native nodes and the platform each is for.
var nativeNodes = []struct{ node, platform string }{
	{"amd64", "linux/amd64"}, {"amd64b", "linux/amd64"}, {"arm64", "linux/arm64"}, {"arm64b", "linux/arm64"},
}

// Every native node answers over mutual TLS: xbuild registers it and reports
// it healthy with its platform; buildctl sees a worker for that platform
// first; a TLS client without a certificate is refused.
func TestFarmNativeNodesOverMTLS(t *testing.T) {
	seen := map[string]string{}
	var which []string
	for _, n := range nativeNodes {
		fn := farmNode(t, n.node)
		which = append(which, n.node)
		if fn.Netns != "xbuild-"+n.node || fn.HostVeth == "" || !slices.Equal(fn.Platforms, []string{n.platform}) {
			t.Errorf("farm.json nodes.%s: netns %q, hostVeth %q, platforms %v; want netns xbuild-%s, a veth, [%s]",
				n.node, fn.Netns, fn.HostVeth, fn.Platforms, n.node, n.platform)
		}
		for _, k := range []string{fn.Endpoint, fn.Netns, fn.HostVeth} {
			if other, dup := seen[k]; dup {
				t.Errorf("nodes %s and %s share %s", other, n.node, k)
			}
			seen[k] = n.node
		}
	}
	addFarmNodes(t, "xbuild", which...)
	rows := nodesLs(t)
	if len(rows) != len(nativeNodes) {
		t.Fatalf("nodes ls lists %d nodes, want %d: %+v", len(rows), len(nativeNodes), rows)
	}
	byName := map[string]lsRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	for _, n := range nativeNodes {
		r, ok := byName[farmNodeNames[n.node]]
		switch {
		case !ok:
			t.Errorf("%s (%s) is not listed", farmNodeNames[n.node], n.node)
			continue
		case r.Health.Status != "ok" || r.Health.BuildKitVersion != farm.BuildkitVersion:
			t.Errorf("%s: status %s, BuildKit %q (want ok, %s): %s", r.Name, r.Health.Status, r.Health.BuildKitVersion, farm.BuildkitVersion, r.Health.Error)
		case !slices.Equal(r.Platforms, []string{n.platform}) || len(r.Health.Platforms) == 0 || r.Health.Platforms[0] != n.platform:
			t.Errorf("%s: registered for %v, daemon reports %v; want %s first", r.Name, r.Platforms, r.Health.Platforms, n.platform)
		}
		ep := farmNode(t, n.node).Endpoint
		if got := buildctlFirstPlatform(t, ep); got != n.platform {
			t.Errorf("%s: buildctl debug workers: first platform %q, want %s", n.node, got, n.platform)
		}
		if err := tlsWithoutClientCert(ep); err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Errorf("%s: a TLS client without a certificate got %v, want the node to demand one", n.node, err)
		}
	}
}

// buildctlFirstPlatform asks the node for its workers with buildctl and the
// farm's client certificate, and returns the first worker's first platform.
func buildctlFirstPlatform(t *testing.T, endpoint string) string {
	t.Helper()
	out, err := buildctl(t, nil, "--addr", endpoint, "debug", "workers", "--format", "{{json .}}")
	if err != nil {
		t.Fatalf("buildctl debug workers at %s: %v\n%s", endpoint, err, out)
	}
	var workers []struct {
		Platforms []struct{ OS, Architecture, Variant string }
	}
	if err := json.Unmarshal(out, &workers); err != nil {
		t.Fatalf("buildctl debug workers: %v\n%s", err, out)
	}
	if len(workers) == 0 || len(workers[0].Platforms) == 0 {
		t.Fatalf("%s reports no worker platforms: %s", endpoint, out)
	}
	p := workers[0].Platforms[0]
	return p.OS + "/" + p.Architecture
}

// buildctl runs the farm's buildctl with its client certificate; env adds variables.
func buildctl(t *testing.T, env []string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append([]string{"--tlsservername", farm.Certs.ServerName, "--tlscacert", farm.Certs.ClientCA,
		"--tlscert", farm.Certs.ClientCert, "--tlskey", farm.Certs.ClientKey}, args...)
	cmd := exec.CommandContext(ctx, farm.Buildctl, full...)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// tlsWithoutClientCert dials endpoint with the farm CA but no client
// certificate, and returns the first error: the handshake's, or the alert a
// server that requires a certificate sends (TLS 1.3 reports it on the first read).
func tlsWithoutClientCert(endpoint string) error {
	pem, err := os.ReadFile(farm.Certs.CA)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", strings.TrimPrefix(endpoint, "tcp://"),
		&tls.Config{RootCAs: pool, ServerName: farm.Certs.ServerName, NextProtos: []string{"h2"}})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Read(make([]byte, 1))
	return err
}

// Cutting a native node (link down) or dropping its replies makes exactly
// that node unreachable, to xbuild and to a plain TCP dial; restore brings it
// back. The qemu node, on loopback, is checked alongside as a bystander.
func TestFarmCutEachNativeNode(t *testing.T) {
	all := []string{"amd64", "amd64b", "arm64", "arm64b", "qemu"}
	addFarmNodes(t, "xbuild", all...)
	statuses := func(t *testing.T) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range nodesLs(t) {
			out[r.Name] = r.Health.Status
		}
		return out
	}
	parent := t
	for _, n := range nativeNodes {
		for _, mode := range []string{"cut", "drop"} {
			t.Run(n.node+"/"+mode, func(t *testing.T) {
				shareEnv(t, parent)
				netns(t, n.node, mode)
				want := map[string]string{}
				for _, o := range all {
					want[farmNodeNames[o]] = "ok"
				}
				// a link that is down fails at once; dropped replies wait out the timeout
				want[farmNodeNames[n.node]] = map[string]string{"cut": "unreachable", "drop": "timeout"}[mode]
				if got := statuses(t); !mapsEqual(got, want) {
					t.Errorf("xbuild nodes ls: %v, want %v", got, want)
				}
				for _, o := range all {
					err := dial(farmNode(t, o).Endpoint)
					switch {
					case o != n.node && err != nil:
						t.Errorf("%s is unreachable while only %s is %s: %v", o, n.node, mode, err)
					case o == n.node && mode == "cut" && !errors.Is(err, syscall.EHOSTUNREACH):
						t.Errorf("dialing the cut %s: %v, want no route to host", o, err)
					case o == n.node && mode == "drop" && !isTimeout(err):
						t.Errorf("dialing the dropped %s: %v, want a timeout", o, err)
					}
				}
				netns(t, n.node, "restore")
				for k := range want {
					want[k] = "ok"
				}
				if got := statuses(t); !mapsEqual(got, want) {
					t.Errorf("after restore: %v, want every node ok", got)
				}
				if err := dial(farmNode(t, n.node).Endpoint); err != nil {
					t.Errorf("dialing the restored %s: %v", n.node, err)
				}
			})
		}
	}
}

// dial opens (and closes) a TCP connection to a tcp:// endpoint within 1 s.
func dial(endpoint string) error {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(endpoint, "tcp://"), time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// fault is a fault for the farm's fault proxy (hack/farm/faultproxy).
type fault struct {
	ID         int      `json:"id,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	Path       string   `json:"path,omitempty"`
	Action     string   `json:"action,omitempty"` // status (default), reset, close
	Status     int      `json:"status,omitempty"` // default 503
	RetryAfter int      `json:"retryAfter,omitempty"`
	Count      int      `json:"count"`
	Skip       int      `json:"skip,omitempty"`
	Remaining  int      `json:"remaining,omitempty"`
	Injected   int      `json:"injected,omitempty"`
}

// faultCounts are the fault proxy's counters.
type faultCounts struct {
	Injected int `json:"injected"`
	Passed   int `json:"passed"`
}

// faultEntry is one request in the fault proxy's log.
type faultEntry struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Outcome string `json:"outcome"` // injected or passed
	Action  string `json:"action"`
	Fault   int    `json:"fault"`
	Status  int    `json:"status"`
}

// faultAdmin calls the fault proxy's admin API; out (if not nil) receives the JSON answer.
func faultAdmin(t *testing.T, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, farm.Registry.FaultAdmin+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("fault proxy admin %s %s: %v (is the farm up with its fault proxy? sudo make farm-up)", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("fault proxy admin %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("fault proxy admin %s %s: %v\n%s", method, path, err, b)
		}
	}
}

// resetFaults disarms every fault and zeroes the counters, now and when the test ends.
func resetFaults(t *testing.T) {
	t.Helper()
	faultAdmin(t, "POST", "/reset", nil, nil)
	t.Cleanup(func() { faultAdmin(t, "POST", "/reset", nil, nil) })
}

// armFault arms f and returns it as the proxy armed it (with its ID).
func armFault(t *testing.T, f fault) fault {
	t.Helper()
	var armed fault
	faultAdmin(t, "POST", "/faults", f, &armed)
	return armed
}

func faultCounters(t *testing.T) faultCounts {
	t.Helper()
	var c faultCounts
	faultAdmin(t, "GET", "/counters", nil, &c)
	return c
}

func faultLog(t *testing.T) []faultEntry {
	t.Helper()
	var l []faultEntry
	faultAdmin(t, "GET", "/requests", nil, &l)
	return l
}

// outcomes renders the log entries whose path contains sub as "injected 503",
// "passed 200", "injected reset", ...
func outcomes(log []faultEntry, sub string) []string {
	var out []string
	for _, e := range log {
		if !strings.Contains(e.Path, sub) {
			continue
		}
		if e.Outcome == "injected" && e.Action != "status" {
			out = append(out, "injected "+e.Action)
		} else {
			out = append(out, fmt.Sprintf("%s %d", e.Outcome, e.Status))
		}
	}
	return out
}

// The fault proxy answers exactly the armed number of requests itself (503s,
// then a connection reset and a closed connection) and passes everything else
// to the push registry: a go-containerregistry client sees exactly those
// failures, and the counters and request log agree.
func TestFarmFaultProxyInjectsExactly(t *testing.T) {
	resetFaults(t)
	// the image, pushed straight to the push registry
	direct := uniqueRef(t, "faulty")
	ref, err := name.ParseReference(direct)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, registryOptions(t)...); err != nil {
		t.Fatalf("pushing %s directly: %v", direct, err)
	}
	want, _ := img.Digest()
	faulty, err := name.ParseReference(strings.Replace(direct, farm.Registry.Push, farm.Registry.Faulty, 1))
	if err != nil {
		t.Fatal(err)
	}
	// the docker config the farm hands out has the fault proxy's credentials
	auth := remote.WithAuth(dockerConfigAuth(t, farm.DockerConfigDir, farm.Registry.Faulty))
	noRetry := []remote.Option{remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithRetryStatusCodes()}
	get := func(tr http.RoundTripper, opts ...remote.Option) (v1.Hash, error) {
		d, err := remote.Get(faulty, append([]remote.Option{remote.WithTransport(tr), auth}, opts...)...)
		if err != nil {
			return v1.Hash{}, err
		}
		return d.Digest, nil
	}

	t.Run("503 three times, then pass-through", func(t *testing.T) {
		faultAdmin(t, "POST", "/reset", nil, nil)
		f := armFault(t, fault{Methods: []string{"GET"}, Path: "/manifests/", Status: 503, Count: 3})
		for i := 1; i <= 3; i++ {
			_, err := get(farmTransport(t), noRetry...)
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != 503 || len(te.Errors) != 1 || te.Errors[0].Code != "UNAVAILABLE" ||
				te.Errors[0].Message != fmt.Sprintf("faultproxy: injected HTTP 503 (fault %d)", f.ID) {
				t.Fatalf("GET %d: %v, want the proxy's HTTP 503 UNAVAILABLE", i, err)
			}
		}
		if got, err := get(farmTransport(t), noRetry...); err != nil || got != want {
			t.Fatalf("GET 4: %v %v, want %s from the registry", got, err, want)
		}
		checkFaultLog(t, "/manifests/", []string{"injected 503", "injected 503", "injected 503", "passed 200"}, 3)
	})

	t.Run("go-containerregistry retries through two 503s", func(t *testing.T) {
		faultAdmin(t, "POST", "/reset", nil, nil)
		armFault(t, fault{Methods: []string{"GET"}, Path: "/manifests/", Count: 2})
		if got, err := get(farmTransport(t)); err != nil || got != want { // its default: 3 tries, 1 s then 3 s apart
			t.Fatalf("GET with the default retries: %v %v, want %s", got, err, want)
		}
		checkFaultLog(t, "/manifests/", []string{"injected 503", "injected 503", "passed 200"}, 2)
	})

	for _, tc := range []struct {
		action string
		is     func(error) bool
		want   string
	}{
		{"reset", func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }, "connection reset by peer"},
		{"close", func(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }, "EOF"},
	} {
		t.Run("connection "+tc.action, func(t *testing.T) {
			faultAdmin(t, "POST", "/reset", nil, nil)
			armFault(t, fault{Methods: []string{"GET"}, Path: "/manifests/", Action: tc.action, Count: 1})
			// a fresh connection per request: on a reused one, net/http itself would
			// silently resend the GET and the client would never see the fault
			tr := farmTransport(t).(*http.Transport)
			tr.DisableKeepAlives = true
			if _, err := get(tr, noRetry...); !tc.is(err) {
				t.Fatalf("GET: %v, want %s", err, tc.want)
			}
			if got, err := get(tr, noRetry...); err != nil || got != want {
				t.Fatalf("GET after the fault: %v %v, want %s", got, err, want)
			}
			checkFaultLog(t, "/manifests/", []string{"injected " + tc.action, "passed 200"}, 1)
		})
	}
}

// checkFaultLog checks the proxy's log for paths containing sub, and that its
// counters are exactly injected and the number of passed requests it logged.
func checkFaultLog(t *testing.T, sub string, want []string, injected int) {
	t.Helper()
	log := faultLog(t)
	if got := outcomes(log, sub); !slices.Equal(got, want) {
		t.Errorf("fault proxy log for %s: %q, want %q", sub, got, want)
	}
	passed := 0
	for _, e := range log {
		if e.Outcome == "passed" {
			passed++
		}
	}
	if c := faultCounters(t); c != (faultCounts{Injected: injected, Passed: passed}) || passed == 0 {
		t.Errorf("counters %+v, want injected %d and passed %d (the log's)", c, injected, passed)
	}
}

// A plain buildctl push through the fault proxy fails while manifest PUTs are
// answered with 503 and leaves no tag; once the faults are cleared, every
// node (those in a netns through their forwarders) pushes through it, and the
// image in the push registry is the one buildctl reported.
func TestFarmFaultProxyPushWithBuildctl(t *testing.T) {
	resetFaults(t)
	dockerConfig := envFor(t).DockerConfig
	ctx := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox\nCOPY nonce /nonce\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// push builds on node and pushes to the fault proxy; it returns the digest
	// buildctl reported, the nonce file it built in, and buildctl's output
	push := func(t *testing.T, node, repoTag string) (digest, nonce, out string, err error) {
		t.Helper()
		nonce = fmt.Sprintf("%s %d\n", node, time.Now().UnixNano())
		if err := os.WriteFile(filepath.Join(ctx, "nonce"), []byte(nonce), 0o644); err != nil {
			t.Fatal(err)
		}
		meta := filepath.Join(t.TempDir(), "metadata.json")
		b, err := buildctl(t, []string{"DOCKER_CONFIG=" + dockerConfig}, "--addr", farmNode(t, node).Endpoint,
			"build", "--progress", "plain", "--frontend", "dockerfile.v0", "--local", "context="+ctx, "--local", "dockerfile="+ctx,
			"--output", "type=image,name="+farm.Registry.Faulty+"/"+repoTag+",push=true", "--metadata-file", meta)
		if err != nil {
			return "", nonce, string(b), err
		}
		var md struct {
			Digest string `json:"containerimage.digest"`
		}
		m, _ := os.ReadFile(meta)
		if err := json.Unmarshal(m, &md); err != nil || md.Digest == "" {
			t.Fatalf("%s: no containerimage.digest in %s: %v", node, m, err)
		}
		return md.Digest, nonce, string(b), nil
	}
	repoTag := strings.TrimPrefix(uniqueRef(t, "faulty-push"), farm.Registry.Push+"/")

	f := armFault(t, fault{Methods: []string{"PUT"}, Path: "/manifests/", Status: 503, Count: 1000})
	start := time.Now()
	_, _, out, err := push(t, "amd64b", repoTag)
	if err == nil || !strings.Contains(out, "503") {
		t.Fatalf("push with manifest PUTs failing: err %v, want a failure naming the 503\n%s", err, tail(out, 15))
	}
	var armed []fault
	faultAdmin(t, "GET", "/faults", nil, &armed)
	if len(armed) != 1 || armed[0].ID != f.ID || armed[0].Injected < 1 || armed[0].Injected+armed[0].Remaining != 1000 {
		t.Errorf("fault after the failed push: %+v, want it to have answered at least one manifest PUT", armed)
	} else {
		t.Logf("buildctl gave up after %d manifest PUTs answered 503, in %s", armed[0].Injected, time.Since(start).Round(100*time.Millisecond))
	}
	if tagExists(t, farm.Registry.Push+"/"+repoTag) {
		t.Errorf("%s was pushed although every manifest PUT was refused", repoTag)
	}

	faultAdmin(t, "DELETE", "/faults", nil, nil)
	before := faultCounters(t)
	for _, node := range []string{"amd64", "amd64b", "arm64", "arm64b", "qemu"} {
		t.Run(node, func(t *testing.T) {
			digest, nonce, out, err := push(t, node, repoTag+"-"+node)
			if err != nil {
				t.Fatalf("push through the fault proxy from %s: %v\n%s", node, err, tail(out, 15))
			}
			// read back from the push registry itself, not through the proxy
			ref := farm.Registry.Push + "/" + repoTag + "-" + node
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(r, registryOptions(t)...)
			if err != nil {
				t.Fatalf("reading %s: %v", ref, err)
			}
			if desc.Digest.String() != digest {
				t.Errorf("%s: the registry has %s, buildctl reported %s", ref, desc.Digest, digest)
			}
			img, err := desc.Image()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(flatFiles(t, img)["/nonce"]); got != nonce {
				t.Errorf("%s: /nonce is %q, want %q", ref, got, nonce)
			}
		})
	}
	after := faultCounters(t)
	if after.Injected != before.Injected || after.Passed <= before.Passed {
		t.Errorf("counters before %+v, after %+v: the pushes should have passed through, none injected", before, after)
	}
}

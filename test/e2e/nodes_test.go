//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type lsRow struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	Platforms []string `json:"platforms"`
	Emulated  bool     `json:"emulated"`
	Health    struct {
		Status          string   `json:"status"`
		BuildKitVersion string   `json:"buildKitVersion"`
		Platforms       []string `json:"platforms"`
		Error           string   `json:"error"`
	} `json:"health"`
}

func nodesLs(t *testing.T, args ...string) []lsRow {
	t.Helper()
	stdout, stderr, code := runXbuild(t, nil, append([]string{"nodes", "ls", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("nodes ls: exit %d\n%s", code, stderr)
	}
	var rows []lsRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("nodes ls --format json: %v\n%s", err, stdout)
	}
	return rows
}

// The three farm nodes register over mutual TLS with certificates made by
// `xbuild nodes certs`, report healthy with the right platforms, and the
// buildx builder in DOCKER_CONFIG holds the native ones.
func TestNodesAddAndListOverMTLS(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64", "qemu")
	rows := nodesLs(t)
	want := map[string][]string{"amd1": {"linux/amd64"}, "arm1": {"linux/arm64"}, "qemu": {"linux/amd64", "linux/arm64"}}
	if len(rows) != 3 {
		t.Fatalf("nodes ls lists %d nodes: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.Health.Status != "ok" || r.Health.BuildKitVersion != farm.BuildkitVersion {
			t.Errorf("%s: status %s, BuildKit %q (want ok, %s): %s", r.Name, r.Health.Status, r.Health.BuildKitVersion, farm.BuildkitVersion, r.Health.Error)
		}
		if !slices.Equal(r.Platforms, want[r.Name]) {
			t.Errorf("%s: platforms %v, want %v", r.Name, r.Platforms, want[r.Name])
		}
		if r.Emulated != (r.Name == "qemu") {
			t.Errorf("%s: emulated = %v", r.Name, r.Emulated)
		}
	}
	// buildx's own record of the builder, as `docker buildx ls` reads it
	b, err := os.ReadFile(filepath.Join(envFor(t).DockerConfig, "buildx", "instances", "xbuild"))
	if err != nil {
		t.Fatalf("buildx builder xbuild is missing: %v", err)
	}
	var ng struct {
		Driver string
		Nodes  []struct {
			Name      string
			Endpoint  string
			Platforms []struct{ OS, Architecture string }
		}
	}
	if err := json.Unmarshal(b, &ng); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ng.Nodes {
		for _, p := range n.Platforms {
			got = append(got, fmt.Sprintf("%s=%s/%s@%s", n.Name, p.OS, p.Architecture, n.Endpoint))
		}
	}
	wantB := []string{"amd1=linux/amd64@" + farm.Nodes.AMD64.Endpoint, "arm1=linux/arm64@" + farm.Nodes.ARM64.Endpoint}
	if ng.Driver != "remote" || !slices.Equal(got, wantB) {
		t.Errorf("buildx builder: driver %s, nodes %v; want remote %v", ng.Driver, got, wantB)
	}
}

func TestNodesRefusePlaintextAndWrongCA(t *testing.T) {
	// plaintext TCP: refused before anything is contacted
	_, stderr, code := runXbuild(t, nil, "nodes", "add", "plain", "--endpoint", farm.Nodes.AMD64.Endpoint, "--platform", "linux/amd64")
	if code != 1 || !strings.Contains(stderr, "needs mutual TLS") || !strings.Contains(stderr, "--insecure") {
		t.Errorf("plaintext endpoint: exit %d\n%s", code, stderr)
	}

	// a complete, consistent set from another CA: the node's server
	// certificate does not verify against it
	other := filepath.Join(t.TempDir(), "other")
	if _, stderr, code := runXbuild(t, nil, "nodes", "certs", "--out", other, "--host", "localhost"); code != 0 {
		t.Fatal(stderr)
	}
	otherCA := filepath.Join(other, "client", "ca.pem")
	_, stderr, code = runXbuild(t, nil, "nodes", "add", "wrongca", "--endpoint", farm.Nodes.AMD64.Endpoint,
		"--tls-ca", otherCA, "--tls-cert", filepath.Join(other, "client", "cert.pem"), "--tls-key", filepath.Join(other, "client", "key.pem"),
		"--tls-servername", "localhost")
	if code != 1 || !strings.Contains(stderr, otherCA) || !strings.Contains(stderr, "tls-error") {
		t.Errorf("wrong CA: exit %d, want an error naming %s\n%s", code, otherCA, stderr)
	}
	// the farm's client certificate with the wrong CA file: caught from the files alone
	_, stderr, code = runXbuild(t, nil, "nodes", "add", "wrongca2", "--endpoint", farm.Nodes.AMD64.Endpoint,
		"--tls-ca", otherCA, "--tls-cert", farm.Certs.ClientCert, "--tls-key", farm.Certs.ClientKey)
	if code != 1 || !strings.Contains(stderr, "is not signed by the CA in --tls-ca "+otherCA) {
		t.Errorf("mismatched CA file: exit %d\n%s", code, stderr)
	}
	if rows := nodesLs(t); len(rows) != 0 {
		t.Errorf("refused nodes were registered: %+v", rows)
	}
}

// A cut-off arm64 node is reported within 3 s, by a link-down (fast
// failure) and by silently dropped packets (the per-node timeout), and
// nodes check exits 1.
func TestNodesCutOff(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	parent := t
	for _, mode := range []string{"cut", "drop"} {
		t.Run(mode, func(t *testing.T) {
			shareEnv(t, parent)
			netns(t, "arm64", mode)
			start := time.Now()
			stdout, stderr, code := runXbuild(t, nil, "nodes", "ls", "--format", "json")
			took := time.Since(start)
			t.Logf("nodes ls with the arm64 node %s: %s", mode, took.Round(time.Millisecond))
			if code != 0 {
				t.Fatalf("nodes ls: exit %d\n%s", code, stderr)
			}
			var rows []lsRow
			if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
				t.Fatal(err)
			}
			status := map[string]string{}
			for _, r := range rows {
				status[r.Name] = r.Health.Status
			}
			// a link that is down fails at once; dropped packets wait out the timeout
			want := map[string]string{"cut": "unreachable", "drop": "timeout"}[mode]
			if status["amd1"] != "ok" || status["arm1"] != want {
				t.Errorf("statuses %v, want amd1 ok and arm1 %s", status, want)
			}
			if took > 3*time.Second {
				t.Errorf("nodes ls took %s with a node cut off, want <= 3s", took)
			}
			_, stderr, code = runXbuild(t, nil, "nodes", "check")
			if code != 1 || !strings.Contains(stderr, "arm1: ") {
				t.Errorf("nodes check: exit %d, want 1\n%s", code, stderr)
			}
			_, _, code = runXbuild(t, nil, "nodes", "check", "amd1")
			if code != 0 {
				t.Errorf("nodes check amd1: exit %d, want 0", code)
			}
		})
	}
}

// Twenty concurrent `nodes add` lose nothing.
func TestNodesParallelAdd(t *testing.T) {
	const n = 20
	envFor(t) // one registry for all twenty
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Go(func() {
			_, stderr, code := runXbuild(t, nil, "nodes", "add", fmt.Sprintf("p%02d", i),
				"--endpoint", fmt.Sprintf("tcp://127.0.0.1:%d", 21000+i), "--platform", "linux/amd64", "--skip-check", "--builder", "par",
				"--tls-ca", farm.Certs.ClientCA, "--tls-cert", farm.Certs.ClientCert, "--tls-key", farm.Certs.ClientKey)
			if code != 0 {
				errs[i] = stderr
			}
		})
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("add p%02d failed: %s", i, e)
		}
	}
	entries, err := os.ReadDir(filepath.Join(envFor(t).ConfigDir, "nodes"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			files = append(files, e.Name())
		}
	}
	if len(files) != n {
		t.Errorf("%d node files after %d parallel adds: %v", len(files), n, files)
	}
	if rows := nodesLs(t, "--timeout", "1s"); len(rows) != n {
		t.Errorf("nodes ls lists %d nodes, want %d", len(rows), n)
	}
}

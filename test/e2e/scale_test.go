//go:build e2e

package e2e

// Scale-out (issue 16): two native nodes per platform, routing by load,
// failover to the same-platform sibling, pins, and many xbuild builds at
// once on one config dir. What was pushed is read back from the registry
// with go-containerregistry; which node built what comes from the reports.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scaleNodes registers both amd64 and both arm64 farm nodes (amd1, amd2,
// arm1, arm2) in builder xbuild.
func scaleNodes(t *testing.T) {
	t.Helper()
	addFarmNodes(t, "xbuild", "amd64", "amd64b", "arm64", "arm64b")
}

// slowArgs builds testdata/slow (every platform's RUN sleeps 25 s; nonce
// keeps BuildKit's cache from answering) and pushes it to ref.
func slowArgs(t *testing.T, ref, nonce string, extra ...string) []string {
	dir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "slow")
	return append([]string{"build", dir, "-t", ref, "--push", "--no-lint", "--build-arg", "NONCE=" + nonce, "--progress", "quiet", "--report", "json"}, extra...)
}

// concurrentBuilds runs n slow builds at once from the test's config dir
// and returns each one's ref, report and stderr. Every build must succeed.
func concurrentBuilds(t *testing.T, n int, during func()) ([]string, []txReport) {
	t.Helper()
	envFor(t) // before the goroutines: they share the test's environment
	nonce := time.Now().UnixNano()
	refs := make([]string, n)
	outs, errs, codes := make([]string, n), make([]string, n), make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		refs[i] = fmt.Sprintf("%s-%d", uniqueRef(t, "scale"), i)
		wg.Go(func() {
			outs[i], errs[i], codes[i] = runXbuildTimeout(t, 5*time.Minute, nil, slowArgs(t, refs[i], fmt.Sprintf("%d-%d", nonce, i))...)
		})
	}
	if during != nil {
		during()
	}
	wg.Wait()
	reps := make([]txReport, n)
	for i := range n {
		if codes[i] != 0 {
			t.Fatalf("build %d of %d: exit %d\n%s", i, n, codes[i], tail(errs[i], 40))
		}
		reps[i] = decodeTx(t, outs[i])
	}
	return refs, reps
}

// perNode counts, per platform, the builds each node did: "linux/amd64" ->
// {"amd1": 2, "amd2": 2}; emulated or failed-over builds are named so.
func perNode(reps []txReport) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, r := range reps {
		for _, p := range r.Platforms {
			if out[p.Platform] == nil {
				out[p.Platform] = map[string]int{}
			}
			key := p.Node
			if p.Emulated || p.Result != "built" {
				key += " (" + p.Result + fmt.Sprintf(", emulated=%v)", p.Emulated)
			}
			out[p.Platform][key]++
		}
	}
	return out
}

// checkImage reads ref back: exactly amd64 and arm64, each with its own
// TARGETARCH in /arch; and `xbuild verify` passes on it.
func checkImage(t *testing.T, ref string) {
	t.Helper()
	_, images := readIndex(t, ref)
	if got := keys(images); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("%s: platforms %v", ref, got)
		return
	}
	for p, want := range map[string]string{"linux/amd64": "amd64", "linux/arm64": "arm64"} {
		if got := strings.TrimSpace(string(flatFiles(t, images[p].Image)["/arch"])); got != want {
			t.Errorf("%s %s: TARGETARCH was %q", ref, p, got)
		}
	}
	if _, stderr, code := runXbuild(t, nil, "verify", ref, "--platform", "linux/amd64,linux/arm64"); code != 0 {
		t.Errorf("xbuild verify %s: exit %d\n%s", ref, code, tail(stderr, 20))
	}
}

// nodeLoads is `xbuild nodes ls --format json`: node -> running builds
// (-1 when unknown) and status.
func nodeLoads(t *testing.T) (map[string]int, map[string]string) {
	t.Helper()
	stdout, stderr, code := runXbuild(t, nil, "nodes", "ls", "--format", "json")
	if code != 0 {
		t.Fatalf("nodes ls: exit %d\n%s", code, stderr)
	}
	var rows []struct {
		Name   string `json:"name"`
		Health struct {
			Status  string `json:"status"`
			Running *int   `json:"running"`
		} `json:"health"`
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("nodes ls --format json: %v\n%s", err, stdout)
	}
	loads, status := map[string]int{}, map[string]string{}
	for _, r := range rows {
		loads[r.Name] = -1
		if r.Health.Running != nil {
			loads[r.Name] = *r.Health.Running
		}
		status[r.Name] = r.Health.Status
	}
	return loads, status
}

// Four two-platform builds at once spread over both nodes of each
// platform, two each (every build sees the others' routing), and nodes ls
// shows the load BuildKit reports while they run.
func TestScaleFourBuildsSpread(t *testing.T) {
	scaleNodes(t)
	var during map[string]int
	refs, reps := concurrentBuilds(t, 4, func() {
		time.Sleep(12 * time.Second) // every RUN sleeps by then
		during, _ = nodeLoads(t)
	})
	want := map[string]map[string]int{"linux/amd64": {"amd1": 2, "amd2": 2}, "linux/arm64": {"arm1": 2, "arm2": 2}}
	if got := perNode(reps); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("builds per node: %v, want %v", got, want)
	}
	t.Logf("running builds 12 s in, from BuildKit's history: %v", during)
	for _, n := range []string{"amd1", "amd2", "arm1", "arm2"} {
		if during[n] < 1 {
			t.Errorf("nodes ls showed %d running builds on %s while two of the builds ran there", during[n], n)
		}
	}
	for _, ref := range refs {
		checkImage(t, ref)
	}
	if after, _ := nodeLoads(t); fmt.Sprint(after) != fmt.Sprint(map[string]int{"amd1": 0, "amd2": 0, "arm1": 0, "arm2": 0}) {
		t.Errorf("running builds after the builds ended: %v", after)
	}
}

// The amd64 node a build was routed to is cut mid-build: amd64 is built
// again on the OTHER native amd64 node (result failover, not emulated:
// there is no qemu node, and none is needed), and the image verifies.
func TestScaleNodeCutFailsOverToSibling(t *testing.T) {
	scaleNodes(t)
	ref := uniqueRef(t, "sibling")
	envFor(t)
	var stdout, stderr string
	var code int
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdout, stderr, code = runXbuildTimeout(t, 5*time.Minute, nil, slowArgs(t, ref, fmt.Sprint(time.Now().UnixNano()))...)
	}()
	// the node running the amd64 build, as BuildKit says
	var routed, farmName string
	for deadline := time.Now().Add(60 * time.Second); routed == "" && time.Now().Before(deadline); time.Sleep(time.Second) {
		loads, _ := nodeLoads(t)
		switch {
		case loads["amd1"] == 1 && loads["amd2"] == 0:
			routed, farmName = "amd1", "amd64"
		case loads["amd2"] == 1 && loads["amd1"] == 0:
			routed, farmName = "amd2", "amd64b"
		}
	}
	if routed == "" {
		<-done
		t.Fatalf("no amd64 node reported the build running within 60 s\n%s", tail(stderr, 30))
	}
	time.Sleep(3 * time.Second) // its RUN sleeps
	netns(t, farmName, "cut")
	cutAt := time.Now()
	<-done
	t.Logf("routed to %s, cut it; xbuild ended %s after the cut", routed, time.Since(cutAt).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	other := map[string]string{"amd1": "amd2", "amd2": "amd1"}[routed]
	rep := decodeTx(t, stdout)
	for _, p := range rep.Platforms {
		if p.Platform != "linux/amd64" {
			continue
		}
		if p.Node != other || p.Result != "failover" || p.Emulated || strings.Join(p.Lost, ",") != routed {
			t.Errorf("linux/amd64: node %s result %s emulated %v lost %v; want %s failover, native, lost %s", p.Node, p.Result, p.Emulated, p.Lost, other, routed)
		}
	}
	if want := fmt.Sprintf("linux/amd64: node %s was lost mid-build", routed); !strings.Contains(stderr, want) || !strings.Contains(stderr, "building it again on "+other+" (native)") {
		t.Errorf("the failover is not said (%q, then %s, native):\n%s", want, other, tail(stderr, 30))
	}
	checkImage(t, ref)
}

// A platform pinned to a node that is down fails the build at once,
// naming the node and the pin; nothing is pushed under the tag although
// the other amd64 node is healthy.
func TestScalePinnedNodeDownFails(t *testing.T) {
	scaleNodes(t)
	netns(t, "amd64b", "cut")
	ref := uniqueRef(t, "pinned")
	start := time.Now()
	_, stderr, code := runXbuild(t, nil, slowArgs(t, ref, fmt.Sprint(time.Now().UnixNano()), "--node", "linux/amd64=amd2")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, tail(stderr, 30))
	}
	if !strings.Contains(stderr, "linux/amd64: pinned to node amd2, which is unreachable") || !strings.Contains(stderr, "a pinned platform is not routed to another node") {
		t.Errorf("the error does not name the pinned node:\n%s", tail(stderr, 30))
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the pinned build took %s to fail, want it to fail at the plan", took)
	}
	if tagExists(t, ref) {
		t.Errorf("%s exists after a failed build", ref)
	}
}

// Ten builds at once from one config dir all succeed and verify; the node
// registry, the builders' records and the claims are intact afterwards: a
// dry run finds every builder as its last sync left it, and nothing stays
// claimed or half-written.
func TestScaleTenBuildsOneConfigDir(t *testing.T) {
	scaleNodes(t)
	refs, reps := concurrentBuilds(t, 10, nil)
	counts := perNode(reps)
	t.Logf("builds per node: %v", counts)
	for p, nodes := range map[string][]string{"linux/amd64": {"amd1", "amd2"}, "linux/arm64": {"arm1", "arm2"}} {
		if got := counts[p]; len(got) != 2 || got[nodes[0]]+got[nodes[1]] != 10 || got[nodes[0]] < 3 || got[nodes[1]] < 3 {
			t.Errorf("%s: builds per node %v, want all ten native and spread over %v", p, got, nodes)
		}
	}
	for i, r := range reps {
		if !r.Published {
			t.Errorf("build %d not published: %s", i, r.Error)
		}
	}
	for _, ref := range refs {
		checkImage(t, ref)
	}

	loads, status := nodeLoads(t)
	if len(status) != 4 || fmt.Sprint(status) != fmt.Sprint(map[string]string{"amd1": "ok", "amd2": "ok", "arm1": "ok", "arm2": "ok"}) {
		t.Errorf("node registry after the builds: %v", status)
	}
	t.Logf("running builds after: %v", loads)
	dir := envFor(t).ConfigDir
	for _, pattern := range []string{"claims/*.claim", "*/.*.tmp-*", "builds/*.json"} {
		if left, _ := filepath.Glob(filepath.Join(dir, pattern)); len(left) != 0 {
			t.Errorf("left in the config dir: %v", left)
		}
	}
	for _, b := range []string{"xbuild", "xbuild-node-amd1", "xbuild-node-amd2", "xbuild-node-arm1", "xbuild-node-arm2"} {
		data, err := os.ReadFile(filepath.Join(dir, "builders", b+".json"))
		var rec struct {
			Builder string            `json:"builder"`
			Nodes   map[string]string `json:"nodes"`
		}
		if err != nil || json.Unmarshal(data, &rec) != nil || rec.Builder != b || len(rec.Nodes) == 0 {
			t.Errorf("builder record %s: %v\n%s", b, err, data)
		}
	}
	stdout, stderr, code := runXbuild(t, nil, slowArgs(t, uniqueRef(t, "scale-dry"), "dry", "--dry-run")...)
	if code != 0 || !strings.Contains(stdout, "the buildx builders are as their last sync left them: nothing to create or change") {
		t.Errorf("dry run after the builds: exit %d\n%s\n%s", code, stdout, tail(stderr, 20))
	}
}

// k8sFacts is $XBUILD_FARM_DIR/k8s/k8s.json, written by the farm's opt-in
// cluster (FARM_K8S=1 make farm-up; hack/farm/lib/k8s.sh).
type k8sFacts struct {
	Kubeconfig      string `json:"kubeconfig"`
	Version         string `json:"version"`
	Namespace       string `json:"namespace"`
	Image           string `json:"image"`
	BuildkitdConfig string `json:"buildkitdConfig"`
	Endpoint        string `json:"endpoint"`
}

// farmK8s returns the farm's cluster, or skips the test when the farm runs
// none (it is opt-in: FARM_K8S=1 make farm-up).
func farmK8s(t *testing.T) k8sFacts {
	t.Helper()
	dir := farm.Dir
	if _, err := os.Stat(filepath.Join(dir, "k8s", "enabled")); err != nil {
		t.Skip("the farm runs no Kubernetes cluster (opt-in: FARM_K8S=1 make farm-up)")
	}
	b, err := os.ReadFile(filepath.Join(dir, "k8s", "k8s.json"))
	if err != nil {
		t.Fatalf("the cluster is marked up but: %v", err)
	}
	var k k8sFacts
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatalf("k8s.json: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", k.Kubeconfig, "get", "--raw", "/readyz").CombinedOutput(); err != nil {
		t.Fatalf("the cluster is marked up but its API server does not answer (%v: %s): run FARM_K8S=1 make farm-up again", err, strings.TrimSpace(string(out)))
	}
	return k
}

// kubectl runs kubectl against the farm's cluster.
func kubectl(t *testing.T, k k8sFacts, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", k.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A node on the farm's Kubernetes cluster (buildx kubernetes driver, two
// BuildKit pods): a build pushes an image that verifies, and builds at once
// are spread over both pods (each pod's own build history says how many it
// ran).
func TestScaleKubernetesNode(t *testing.T) {
	k := farmK8s(t)
	env := map[string]string{"KUBECONFIG": k.Kubeconfig}
	_, stderr, code := runXbuild(t, env, "nodes", "add", "k8s-amd64", "--endpoint", k.Endpoint, "--platform", "linux/amd64",
		"--driver-opt", "image="+k.Image, "--driver-opt", "replicas=2", "--driver-opt", "loadbalance=random",
		"--buildkitd-config", k.BuildkitdConfig)
	if code != 0 {
		t.Fatalf("nodes add: exit %d\n%s", code, stderr)
	}
	t.Cleanup(func() {
		if _, stderr, code := runXbuild(t, env, "nodes", "rm", "k8s-amd64"); code != 0 {
			t.Errorf("nodes rm: exit %d\n%s", code, stderr)
		}
	})

	ref := uniqueRef(t, "k8s")
	stdout, stderr, code := runXbuildTimeout(t, 5*time.Minute, env, slowArgs(t, ref, fmt.Sprint(time.Now().UnixNano()), "--platform", "linux/amd64")...)
	if code != 0 {
		t.Fatalf("build on the cluster: exit %d\n%s", code, tail(stderr, 40))
	}
	if got := decodeTx(t, stdout).results(); fmt.Sprint(got) != fmt.Sprint(map[string]string{"linux/amd64": "k8s-amd64 built"}) {
		t.Errorf("report: %v", got)
	}
	_, images := readIndex(t, ref)
	if got := keys(images); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Fatalf("%s: platforms %v", ref, got)
	}
	if got := strings.TrimSpace(string(flatFiles(t, images["linux/amd64"].Image)["/arch"])); got != "amd64" {
		t.Errorf("TARGETARCH was %q", got)
	}
	if _, stderr, code := runXbuild(t, nil, "verify", ref, "--platform", "linux/amd64"); code != 0 {
		t.Errorf("xbuild verify %s: exit %d\n%s", ref, code, tail(stderr, 20))
	}

	pods := strings.Fields(kubectl(t, k, "-n", k.Namespace, "get", "pods", "-o", "name", "--field-selector", "status.phase=Running"))
	if len(pods) != 2 {
		t.Fatalf("BuildKit pods running: %v, want 2 (replicas=2)", pods)
	}
	records := func() map[string]int {
		out := map[string]int{}
		for _, p := range pods {
			lines := strings.Split(strings.TrimSpace(kubectl(t, k, "-n", k.Namespace, "exec", strings.TrimPrefix(p, "pod/"), "--", "buildctl", "debug", "histories")), "\n")
			out[p] = len(lines) - 1 // the header
		}
		return out
	}
	before := records()
	envFor(t)
	const n = 6
	nonce := time.Now().UnixNano()
	codes, errs := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i], codes[i] = runXbuildTimeout(t, 5*time.Minute, env, slowArgs(t, fmt.Sprintf("%s-%d", ref, i), fmt.Sprintf("%d-%d", nonce, i), "--platform", "linux/amd64")...)
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 0 {
			t.Fatalf("build %d: exit %d\n%s", i, codes[i], tail(errs[i], 30))
		}
	}
	// a build's history record is written when BuildKit has finalized it,
	// shortly after the build returns
	var after map[string]int
	total := 0
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Second) {
		after, total = records(), 0
		for _, p := range pods {
			total += after[p] - before[p]
		}
		if total >= n || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range pods {
		d := after[p] - before[p]
		t.Logf("%s ran %d of the %d builds", p, d, n)
		if d == 0 {
			t.Errorf("pod %s ran none of %d builds: replicas=2 did not spread them", p, n)
		}
	}
	if total != n {
		t.Errorf("the pods' histories record %d new builds, want %d", total, n)
	}
}

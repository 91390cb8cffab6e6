package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/buildstate"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
)

// The farm of these tests: two nodes per platform, idle, equally fast.
var scaleNodes = []Node{
	{Name: "a1", Kind: KindLocal, Endpoint: "unix:///run/a1.sock", Platforms: []string{"linux/amd64"}},
	{Name: "a2", Kind: KindLocal, Endpoint: "unix:///run/a2.sock", Platforms: []string{"linux/amd64"}},
	{Name: "r1", Kind: KindLocal, Endpoint: "unix:///run/r1.sock", Platforms: []string{"linux/arm64"}},
	{Name: "r2", Kind: KindLocal, Endpoint: "unix:///run/r2.sock", Platforms: []string{"linux/arm64"}},
}

var scaleKey = buildstate.Key("sha256:5ca1e", []byte("FROM scratch"), nil)

// scaleBuild does what `xbuild build` does to the config dir, as worker i:
// route both platforms with the live claims, change a shared node (a
// read-modify-write of the node store), make the routed nodes' builders
// ready (the apply lock, builders/), record a finished platform in the
// build state (builds/). It returns the claims, still held.
func scaleBuild(dir string, i int) (*Claims, error) {
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	health := map[string]Health{}
	for _, n := range scaleNodes {
		zero := 0
		health[n.Name] = Health{Node: n.Name, Status: StatusOK, Latency: time.Millisecond, Running: &zero}
	}
	plan, claims, err := s.RouteClaimed(func(claimed map[string]int) (*Plan, error) {
		return RouteWith(RouteRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Nodes: scaleNodes, Health: health, Claimed: claimed})
	})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Claims, error) { claims.Close(); return nil, err }
	if err := s.Update("shared", func(n *Node) error {
		if n.DriverOpts == nil {
			n.DriverOpts = map[string]string{}
		}
		n.DriverOpts[fmt.Sprintf("k%02d", i)] = "v"
		return nil
	}); err != nil {
		return fail(err)
	}
	bx := &enginetest.FakeBuildx{}
	for _, a := range plan.Assignments {
		if _, err := ApplyBuilder(context.Background(), bx, s, NodeBuilderName(a.Node), NodeBuilder(a.Node, scaleNodes)); err != nil {
			return fail(err)
		}
	}
	bs := &buildstate.Store{Dir: dir}
	if err := bs.Record(scaleKey, "registry.example/app", fmt.Sprintf("linux/p%02d", i), buildstate.Platform{Digest: fmt.Sprintf("sha256:%064d", i), Node: plan.Assignments[0].Node, Result: "built"}); err != nil {
		return fail(err)
	}
	return claims, nil
}

func prepareScale(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "xbuild")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(localNode("shared")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// spread counts the routed builds per node.
func spread(held []map[string]string) map[string]int {
	out := map[string]int{}
	for _, h := range held {
		for _, node := range h {
			out[node]++
		}
	}
	return out
}

// checkScale asserts that n concurrent builds spread evenly over both
// nodes of each platform (each routed with the others' claims in view),
// while they hold their claims, and that nothing was lost afterwards.
func checkScale(t *testing.T, dir string, n int, whileHeld map[string]int, routed map[string]int) {
	t.Helper()
	want := map[string]int{"a1": n / 2, "a2": n / 2, "r1": n / 2, "r2": n / 2}
	if !maps.Equal(routed, want) {
		t.Errorf("%d concurrent builds routed %v, want %v", n, routed, want)
	}
	if !maps.Equal(whileHeld, want) {
		t.Errorf("live claims while the builds ran: %v, want %v", whileHeld, want)
	}
	after, err := ReadClaims(dir)
	if err != nil || len(after) != 0 {
		t.Errorf("live claims after the builds: %v, %v; want none", after, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "claims", "*.claim")); len(left) != 0 {
		t.Errorf("claim files left: %v", left)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := s.Get("shared")
	if err != nil || len(shared.DriverOpts) != n {
		t.Errorf("the shared node after %d updates: %d driver options (%v); want every update kept", n, len(shared.DriverOpts), err)
	}
	for _, node := range []string{"a1", "a2", "r1", "r2"} {
		rec, err := s.SyncState(NodeBuilderName(node))
		if err != nil || len(rec) != 1 || rec[node] == "" {
			t.Errorf("builder %s's record: %v, %v; want node %s", NodeBuilderName(node), rec, err, node)
		}
	}
	st, err := (&buildstate.Store{Dir: dir}).Load(scaleKey)
	if err != nil || len(st.Platforms) != n {
		t.Errorf("build state: %d platforms recorded (%v), want %d", len(st.Platforms), err, n)
	}
	for _, sub := range []string{"nodes", "builders", "builds", "claims"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("stray temporary file %s/%s", sub, e.Name())
			}
		}
	}
}

// TestConcurrentBuildsGoroutines runs scaleBuild from 12 goroutines at
// once, each with its own Store, and holds every build's claims until all
// have routed.
func TestConcurrentBuildsGoroutines(t *testing.T) {
	t.Parallel()
	const n = 12
	dir := prepareScale(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	claims := make([]*Claims, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			claims[i], errs[i] = scaleBuild(dir, i)
		})
	}
	close(start)
	wg.Wait()
	var held []map[string]string
	for i, c := range claims {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		held = append(held, c.Held())
	}
	whileHeld, err := ReadClaims(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		c.Close()
	}
	checkScale(t, dir, n, whileHeld, spread(held))
}

// TestConcurrentBuildsProcesses runs scaleBuild in 10 copies of the test
// binary released at once (see TestScaleHelperProcess); each holds its
// claims until the test has seen them all, then exits without releasing
// them: the kernel drops their locks, and the next routing removes the
// stale files.
func TestConcurrentBuildsProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 10
	dir := prepareScale(t)
	sig := t.TempDir()
	var cmds []*exec.Cmd
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScaleHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "XBUILD_SCALE_HELPER_DIR="+dir, "XBUILD_SCALE_HELPER_SIG="+sig, fmt.Sprintf("XBUILD_SCALE_HELPER_I=%d", i))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() && out.Len() > 0 {
				t.Logf("process %d:\n%s", i, out)
			}
		})
	}
	exited := make([]chan error, n)
	for i, cmd := range cmds {
		exited[i] = make(chan error, 1)
		go func() { exited[i] <- cmd.Wait() }()
	}
	writeFile(t, filepath.Join(sig, "go"), nil, 0o600)
	var held []map[string]string
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < n; {
		b, err := os.ReadFile(filepath.Join(sig, fmt.Sprintf("routed-%d", i)))
		if err != nil {
			select {
			case err := <-exited[i]:
				t.Fatalf("process %d exited before it routed: %v", i, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d did not route within 60 s", i)
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		var h map[string]string
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		held = append(held, h)
		i++
	}
	whileHeld, err := ReadClaims(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sig, "done"), nil, 0o600)
	for i := range cmds {
		if err := <-exited[i]; err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	// the processes are gone without releasing: a routing cleans up
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := s.RouteClaimed(func(claimed map[string]int) (*Plan, error) {
		if len(claimed) != 0 {
			return nil, fmt.Errorf("claims of exited processes count: %v", claimed)
		}
		return &Plan{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	checkScale(t, dir, n, whileHeld, spread(held))
}

// TestScaleHelperProcess is the child of TestConcurrentBuildsProcesses;
// run directly it does nothing.
func TestScaleHelperProcess(t *testing.T) {
	dir := os.Getenv("XBUILD_SCALE_HELPER_DIR")
	if dir == "" {
		return
	}
	sig := os.Getenv("XBUILD_SCALE_HELPER_SIG")
	wait := func(name string) {
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(filepath.Join(sig, name)); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never came", name)
			}
		}
	}
	wait("go")
	i, _ := strconv.Atoi(os.Getenv("XBUILD_SCALE_HELPER_I"))
	claims, err := scaleBuild(dir, i)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims.Held())
	routed := filepath.Join(sig, fmt.Sprintf("routed-%d", i))
	writeFile(t, routed+".tmp", b, 0o600)
	if err := os.Rename(routed+".tmp", routed); err != nil { // the test polls for it: whole or not there
		t.Fatal(err)
	}
	wait("done")
	// the claims must outlive the wait: once unreachable, the garbage
	// collector may close their files (os.File's finalizer), and with them
	// the locks that make them live (what the flaky "live claims while the
	// builds ran" failures were)
	runtime.KeepAlive(claims)
	os.Exit(0) // the claims stay unreleased: the kernel drops their locks
}

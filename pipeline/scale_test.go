package pipeline

import (
	"context"
	"errors"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// A platform pinned to a node (--node) whose node is lost mid-build fails,
// naming the node, instead of moving to another one (here: qemu, with
// --allow-emulation); nothing is published.
func TestPipelinePinnedNodeLostIsNotRerouted(t *testing.T) {
	cfg := pushConfig()
	cfg.AllowEmulation = true
	cfg.Nodes = []string{"linux/arm64=arm1"}
	h := newHarness(t, cfg)
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	loseNode(h, "xbuild-node-arm1", "linux/arm64", "/run/arm1.sock")
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "build" {
		t.Fatalf("want a build error, got %v", err)
	}
	want := "linux/arm64: node arm1 was lost mid-build (unreachable: dial unix: connection refused); it is pinned to arm1 (--node), so it is not built on another node: bring arm1 back and run the build again, or drop the pin"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant it to contain\n%s", err, want)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Errorf("builds = %s (a pinned platform must not move to qemu)", got)
	}
	if len(reg.tags) != 0 || len(reg.merged) != 0 {
		t.Errorf("something was published: merged %q tags %v", reg.merged, reg.tags)
	}
}

// A pinned node that is down at plan time fails the plan naming it, even
// when another node (qemu, emulation allowed) could build the platform.
func TestPipelinePinnedNodeDownFailsThePlan(t *testing.T) {
	cfg := pushConfig()
	cfg.AllowEmulation = true
	cfg.Nodes = []string{"arm1"}
	h := newHarness(t, cfg, "arm1")
	h.state.Registry = pushedRegistry("gzip")
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "plan" {
		t.Fatalf("want a plan error, got %v", err)
	}
	if !strings.Contains(err.Error(), "linux/arm64: pinned to node arm1, which is unreachable") || !strings.Contains(err.Error(), "a pinned platform is not routed to another node") {
		t.Errorf("error: %v", err)
	}
	if len(h.eng.buildsOn()) != 0 {
		t.Errorf("builds ran: %v", h.eng.buildsOn())
	}
	if claimed, err := nodes.ReadClaims(h.state.StateDir); err != nil || len(claimed) != 0 {
		t.Errorf("claims after a failed plan: %v %v", claimed, err)
	}
}

// --node also pins in a dry run, which says so.
func TestPipelinePinnedDryRun(t *testing.T) {
	cfg := pushConfig()
	cfg.Nodes = []string{"linux/amd64=qemu"}
	cfg.AllowEmulation = true
	h := newHarness(t, cfg)
	h.state.Options.DryRun = true
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if !strings.Contains(h.out.String(), "  linux/amd64    -> qemu, emulated (QEMU), pinned (--node)\n") {
		t.Errorf("plan:\n%s", h.out)
	}
}

// Each platform's node is claimed from routing until its build ends: a
// build routed meanwhile sees the claims, and nothing is left claimed
// when the builds are over.
func TestPipelineClaimsWhileBuilding(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Registry = pushedRegistry("gzip")
	var mu sync.Mutex
	seen := map[string]map[string]int{}
	h.eng.onBuild = func(_ context.Context, spec engine.BuildSpec) error {
		claimed, err := nodes.ReadClaims(h.state.StateDir)
		mu.Lock()
		defer mu.Unlock()
		seen[spec.Platforms[0]] = claimed
		return err
	}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	// each build saw its own claim; the other one's, unless it had ended
	for p, claimed := range seen {
		own := map[string]string{"linux/amd64": "amd1", "linux/arm64": "arm1"}[p]
		if claimed[own] != 1 || len(claimed) > 2 {
			t.Errorf("claims during the %s build: %v, want %s claimed once", p, claimed, own)
		}
	}
	if len(seen) != 2 {
		t.Errorf("builds seen: %v", seen)
	}
	if claimed, err := nodes.ReadClaims(h.state.StateDir); err != nil || len(claimed) != 0 {
		t.Errorf("claims after the build: %v %v", claimed, err)
	}
}

// Two builds routed one after the other from one node registry, the first
// still holding its claims, go to different nodes of the same platform.
func TestPipelineConcurrentPlansSpread(t *testing.T) {
	cfg := pushConfig()
	cfg.Platforms = []string{"linux/amd64"}
	first := newHarness(t, cfg)
	if err := first.state.Store.Put(nodes.Node{Name: "amd2", Kind: nodes.KindLocal, Builder: "xbuild", Endpoint: "unix:///run/amd2.sock", Platforms: []string{"linux/amd64"}}); err != nil {
		t.Fatal(err)
	}
	first.eng.probes["unix:///run/amd2.sock"] = []string{"linux/amd64"}
	// amd2 answers slower: without the first run's claims, both would pick amd1
	slow := *first.state.Checker
	slow.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "/run/amd2.sock" {
			time.Sleep(30 * time.Millisecond)
		}
		return first.dialer.Dial(ctx, network, addr)
	}
	first.state.Checker = &slow
	list, _ := first.state.Store.List()
	plan := func(s *State) string {
		t.Helper()
		s.Nodes = list
		if err := (PlanStep{}).Run(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		return s.Plan.Assignments[0].Node
	}
	second := *first.state // the same registry and engine, another run
	second.Claims, second.Plan = nil, nil
	a := plan(first.state)
	b := plan(&second)
	if a != "amd1" || b != "amd2" {
		t.Errorf("two runs at once routed linux/amd64 to %s and %s, want amd1 and amd2", a, b)
	}
	claimed, _ := nodes.ReadClaims(first.state.StateDir)
	if !maps.Equal(claimed, map[string]int{"amd1": 1, "amd2": 1}) {
		t.Errorf("claims: %v", claimed)
	}
	if !strings.Contains(second.Plan.Assignments[0].Reason, "running builds: amd1 ") {
		t.Errorf("the second plan does not say why: %q", second.Plan.Assignments[0].Reason)
	}
	first.state.Claims.Close()
	second.Claims.Close()
	if claimed, _ := nodes.ReadClaims(first.state.StateDir); len(claimed) != 0 {
		t.Errorf("claims after both ended: %v", claimed)
	}
}

// --node without any registered node is an error, not ignored.
func TestPipelinePinWithoutNodes(t *testing.T) {
	cfg := pushConfig()
	cfg.Nodes = []string{"amd1"}
	h := newHarness(t, cfg)
	h.noRegisteredNodes(t)
	err := Run(context.Background(), h.state, Steps())
	want := "plan: --node amd1: no node is registered, so there is nothing to pin to (register nodes with xbuild nodes add, or drop --node to build on this machine)"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant\n%s", err, want)
	}
}

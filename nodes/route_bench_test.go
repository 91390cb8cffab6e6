package nodes

import (
	"fmt"
	"testing"
	"time"
)

// benchFleet is a ten-node registry: four amd64 and four arm64 native
// nodes, one emulated node for both, and one kubernetes node (not
// health-checked), with the daemon-reported platforms and latencies a
// health check returns.
func benchFleet() ([]Node, map[string]Health) {
	var ns []Node
	health := map[string]Health{}
	add := func(n Node, h Health) {
		h.Node = n.Name
		ns = append(ns, n)
		health[n.Name] = h
	}
	for i := range 4 {
		add(Node{Name: fmt.Sprintf("amd%d", i+1), Kind: KindBuildKit, Endpoint: fmt.Sprintf("tcp://10.0.1.%d:1234", i+1), Platforms: []string{"linux/amd64"}},
			Health{Status: StatusOK, Latency: time.Duration(4-i) * time.Millisecond, Platforms: []string{"linux/amd64", "linux/amd64/v2", "linux/386"}})
		add(Node{Name: fmt.Sprintf("arm%d", i+1), Kind: KindBuildKit, Endpoint: fmt.Sprintf("tcp://10.0.2.%d:1234", i+1), Platforms: []string{"linux/arm64", "linux/arm/v7"}},
			Health{Status: StatusOK, Latency: time.Duration(10+i) * time.Millisecond, Platforms: []string{"linux/arm64", "linux/arm/v7", "linux/arm/v6"}})
	}
	add(Node{Name: "qemu", Kind: KindBuildKit, Endpoint: "tcp://10.0.3.1:1234", Platforms: []string{"linux/amd64", "linux/arm64", "linux/riscv64"}, Emulated: true},
		Health{Status: StatusOK, Latency: 2 * time.Millisecond, Platforms: []string{"linux/amd64", "linux/arm64", "linux/riscv64"}})
	add(Node{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}},
		Health{Status: StatusUnsupported})
	return ns, health
}

// BenchmarkRoute measures Route over a ten-node registry: the everyday
// two-platform routing, four platforms at once, the emulation fallback
// with every arm64 node down, and the refusal (error text for every
// candidate) when emulation is not allowed.
func BenchmarkRoute(b *testing.B) {
	fleet, healthy := benchFleet()
	armDown := map[string]Health{}
	for k, v := range healthy {
		if len(k) > 3 && k[:3] == "arm" {
			v = Health{Node: k, Status: StatusTimeout, Error: "dial tcp 10.0.2.1:1234: no answer within 2.5s"}
		}
		if k == "k8s" {
			continue // leave it unchecked: not usable
		}
		armDown[k] = v
	}
	cases := []struct {
		name      string
		platforms []string
		health    map[string]Health
		emulation bool
		wantErr   bool
	}{
		{"2-platforms", []string{"linux/amd64", "linux/arm64"}, healthy, false, false},
		{"4-platforms", []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64"}, healthy, true, false},
		{"fallback", []string{"linux/amd64", "linux/arm64"}, armDown, true, false},
		{"refused", []string{"linux/amd64", "linux/arm64"}, armDown, false, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := Route(tc.platforms, fleet, tc.health, tc.emulation)
				if (err != nil) != tc.wantErr {
					b.Fatalf("Route: err = %v, want error %v", err, tc.wantErr)
				}
			}
		})
	}
}

// BenchmarkPlanNodes measures turning a routing into buildx builder nodes
// (what the build step passes to buildx create), after DefaultRouting.
func BenchmarkPlanNodes(b *testing.B) {
	fleet, _ := benchFleet()
	b.ReportAllocs()
	for b.Loop() {
		plan, err := DefaultRouting(fleet)
		if err != nil {
			b.Fatal(err)
		}
		if bns := PlanNodes(plan, fleet); len(bns) == 0 {
			b.Fatal("no builder nodes")
		}
	}
}

package nodes

import (
	"reflect"
	"testing"
	"time"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	node := func(name string, emulated bool, platforms ...string) Node {
		return Node{Name: name, Kind: KindBuildKit, Endpoint: "tcp://" + name + ":1234", Platforms: platforms, Emulated: emulated}
	}
	amd1 := node("amd1", false, "linux/amd64")
	amd2 := node("amd2", false, "linux/amd64")
	arm1 := node("arm1", false, "linux/arm64")
	arm2 := node("arm2", false, "linux/arm64", "linux/arm/v7")
	arm3 := node("arm3", false, "linux/arm/v7")
	qemu := node("qemu", true, "linux/arm64", "linux/riscv64")
	k8s := Node{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}}
	dockerEmu := Node{Name: "dqemu", Kind: KindDocker, Endpoint: "tcp://dqemu:2376", Platforms: []string{"linux/arm64"}, Emulated: true}

	ok := func(ms int, platforms ...string) Health {
		return Health{Status: StatusOK, Latency: time.Duration(ms) * time.Millisecond, Platforms: platforms}
	}
	down := Health{Status: StatusUnreachable, Error: "dial tcp 10.0.0.2:1234: i/o timeout"}
	slow := Health{Status: StatusTimeout, Error: "TLS handshake with 10.0.0.3:1234 did not finish within 5s"}
	badTLS := Health{Status: StatusTLSError, Error: "the server certificate is not signed by the CA in /c/ca.pem (--tls-ca)"}
	unsupported := Health{Status: StatusUnsupported}
	health := func(pairs ...any) map[string]Health {
		m := map[string]Health{}
		for i := 0; i < len(pairs); i += 2 {
			m[pairs[i].(string)] = pairs[i+1].(Health)
		}
		return m
	}
	const picked2 = "native; picked from 2 healthy native nodes (least busy, then lowest latency, then name)"

	tests := []struct {
		name      string
		platforms []string
		nodes     []Node
		health    map[string]Health
		emulation bool
		want      *Plan
		err       string
	}{
		{
			name:      "one native node per platform",
			platforms: []string{"linux/amd64", "linux/arm64"},
			nodes:     []Node{arm1, amd1},
			health:    health("amd1", ok(10), "arm1", ok(30)),
			want: &Plan{Assignments: []Assignment{
				{Platform: "linux/amd64", Node: "amd1", Reason: "native"},
				{Platform: "linux/arm64", Node: "arm1", Reason: "native"},
			}},
		},
		{
			name:      "lowest latency wins among idle nodes",
			platforms: []string{"linux/amd64"},
			nodes:     []Node{amd1, amd2},
			health:    health("amd1", ok(20), "amd2", ok(10)),
			want:      &Plan{Assignments: []Assignment{{Platform: "linux/amd64", Node: "amd2", Reason: picked2}}},
		},
		{
			name:      "name breaks a latency tie",
			platforms: []string{"linux/amd64"},
			nodes:     []Node{amd2, amd1},
			health:    health("amd1", ok(10), "amd2", ok(10)),
			want:      &Plan{Assignments: []Assignment{{Platform: "linux/amd64", Node: "amd1", Reason: picked2}}},
		},
		{
			name:      "least busy beats lower latency",
			platforms: []string{"linux/arm64", "linux/arm/v7"},
			nodes:     []Node{arm1, arm2, arm3},
			health:    health("arm1", ok(50), "arm2", ok(1), "arm3", ok(100)),
			want: &Plan{Assignments: []Assignment{
				{Platform: "linux/arm64", Node: "arm2", Reason: picked2},
				{Platform: "linux/arm/v7", Node: "arm3", Reason: picked2},
			}},
		},
		{
			name:      "duplicates dropped",
			platforms: []string{"linux/arm64", "linux/arm64", "linux/arm/v7"},
			nodes:     []Node{arm2},
			health:    health("arm2", ok(5, "linux/arm64", "linux/arm/v7")),
			want: &Plan{Assignments: []Assignment{
				{Platform: "linux/arm64", Node: "arm2", Reason: "native"},
				{Platform: "linux/arm/v7", Node: "arm2", Reason: "native"},
			}},
		},
		{
			name:      "fallback to emulation with a loud warning",
			platforms: []string{"linux/amd64", "linux/arm64"},
			nodes:     []Node{amd1, arm1, qemu},
			health:    health("amd1", ok(10), "arm1", down, "qemu", ok(10)),
			emulation: true,
			want: &Plan{
				Assignments: []Assignment{
					{Platform: "linux/amd64", Node: "amd1", Reason: "native"},
					{Platform: "linux/arm64", Node: "qemu", Emulated: true, Reason: "emulated through QEMU: no healthy native node"},
				},
				Warnings: []string{"linux/arm64: native node arm1 is unreachable (dial tcp 10.0.0.2:1234: i/o timeout); building it on emulated node qemu through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)"},
			},
		},
		{
			name:      "several natives down",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{arm2, qemu, arm1},
			health:    health("arm1", down, "arm2", slow, "qemu", ok(10)),
			emulation: true,
			want: &Plan{
				Assignments: []Assignment{{Platform: "linux/arm64", Node: "qemu", Emulated: true, Reason: "emulated through QEMU: no healthy native node"}},
				Warnings:    []string{"linux/arm64: native nodes are unusable: arm1 is unreachable (dial tcp 10.0.0.2:1234: i/o timeout), arm2 timed out (TLS handshake with 10.0.0.3:1234 did not finish within 5s); building it on emulated node qemu through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)"},
			},
		},
		{
			name:      "only an emulated node, emulation allowed",
			platforms: []string{"linux/riscv64"},
			nodes:     []Node{qemu, amd1},
			health:    health("amd1", ok(1), "qemu", ok(10)),
			emulation: true,
			want: &Plan{
				Assignments: []Assignment{{Platform: "linux/riscv64", Node: "qemu", Emulated: true, Reason: "emulated through QEMU: no native node is registered"}},
				Warnings:    []string{"linux/riscv64: no native node is registered for linux/riscv64; building it on emulated node qemu through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)"},
			},
		},
		{
			name:      "healthy native node is preferred to emulation",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{qemu, arm1},
			health:    health("arm1", ok(300), "qemu", ok(1)),
			emulation: true,
			want:      &Plan{Assignments: []Assignment{{Platform: "linux/arm64", Node: "arm1", Reason: "native"}}},
		},
		{
			name:      "checked node before an unchecked kubernetes node",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{k8s, arm1},
			health:    health("arm1", ok(30), "k8s", unsupported),
			want:      &Plan{Assignments: []Assignment{{Platform: "linux/arm64", Node: "arm1", Reason: picked2}}},
		},
		{
			name:      "kubernetes node when the checked one is down",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{k8s, arm1},
			health:    health("arm1", down, "k8s", unsupported),
			want:      &Plan{Assignments: []Assignment{{Platform: "linux/arm64", Node: "k8s", Reason: "native; not health-checked (kubernetes node)"}}},
		},
		{
			name:      "emulated docker node is not held to its daemon's platforms",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{dockerEmu},
			health:    health("dqemu", ok(3, "linux/amd64")),
			emulation: true,
			want: &Plan{
				Assignments: []Assignment{{Platform: "linux/arm64", Node: "dqemu", Emulated: true, Reason: "emulated through QEMU: no native node is registered"}},
				Warnings:    []string{"linux/arm64: no native node is registered for linux/arm64; building it on emulated node dqemu through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)"},
			},
		},

		{
			name:      "native down, emulation not allowed",
			platforms: []string{"linux/amd64", "linux/arm64"},
			nodes:     []Node{amd1, arm1, qemu},
			health:    health("amd1", ok(10), "arm1", down, "qemu", ok(10)),
			err: "linux/arm64: no healthy native node:\n" +
				"  - arm1 (native) is unreachable: dial tcp 10.0.0.2:1234: i/o timeout\n" +
				"  - qemu (emulated) is healthy, but emulation is not allowed\n" +
				"  to fix: bring arm1 back and check with xbuild nodes check; or pass --allow-emulation to build it through QEMU on qemu (5-20x slower); or register a native node with xbuild nodes add NAME --endpoint URL --platform linux/arm64",
		},
		{
			name:      "everything down, emulation allowed",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{qemu, arm1, arm2},
			health:    health("arm1", down, "arm2", badTLS, "qemu", slow),
			emulation: true,
			err: "linux/arm64: no healthy native node:\n" +
				"  - arm1 (native) is unreachable: dial tcp 10.0.0.2:1234: i/o timeout\n" +
				"  - arm2 (native) failed the TLS check: the server certificate is not signed by the CA in /c/ca.pem (--tls-ca)\n" +
				"  - qemu (emulated) timed out: TLS handshake with 10.0.0.3:1234 did not finish within 5s\n" +
				"  to fix: bring arm1, arm2, qemu back and check with xbuild nodes check; or register a native node with xbuild nodes add NAME --endpoint URL --platform linux/arm64",
		},
		{
			name:      "only an emulated node, emulation not allowed",
			platforms: []string{"linux/riscv64"},
			nodes:     []Node{qemu},
			health:    health("qemu", ok(10)),
			err: "linux/riscv64: no native node is registered:\n" +
				"  - qemu (emulated) is healthy, but emulation is not allowed\n" +
				"  to fix: pass --allow-emulation to build it through QEMU on qemu (5-20x slower); or register a native node with xbuild nodes add NAME --endpoint URL --platform linux/riscv64",
		},
		{
			name:      "node not health-checked, daemon without the platform",
			platforms: []string{"linux/arm64"},
			nodes:     []Node{arm1, arm2, qemu},
			health:    health("arm2", ok(1, "linux/amd64"), "qemu", ok(1, "linux/amd64", "linux/386")),
			emulation: true,
			err: "linux/arm64: no healthy native node:\n" +
				"  - arm1 (native) was not health-checked\n" +
				"  - arm2 (native) does not offer linux/arm64: its daemon reports linux/amd64\n" +
				"  - qemu (emulated) does not offer linux/arm64: its daemon reports linux/amd64, linux/386; install QEMU there: docker run --privileged --rm tonistiigi/binfmt --install arm64\n" +
				"  to fix: health-check arm1 first; or make arm2, qemu offer linux/arm64, or correct the registered platforms (xbuild nodes rm, then add with the right --platform); or register a native node with xbuild nodes add NAME --endpoint URL --platform linux/arm64",
		},
		{
			name:      "no node lists the platform, several platforms fail",
			platforms: []string{"linux/s390x", "linux/amd64", "linux/arm/v6"},
			nodes:     []Node{amd1, arm2},
			health:    health("amd1", ok(1), "arm2", ok(1)),
			err: "linux/s390x: no registered node builds it: register one with xbuild nodes add NAME --endpoint URL --platform linux/s390x (add --emulated for a node that builds it through QEMU)\n" +
				"linux/arm/v6: no registered node builds it: register one with xbuild nodes add NAME --endpoint URL --platform linux/arm/v6 (add --emulated for a node that builds it through QEMU)",
		},
		{
			name: "no platforms",
			err:  "no platforms requested: pass --platform, e.g. --platform linux/amd64,linux/arm64, or set platforms in xbuild.yaml",
		},
	}
	for _, tt := range tests {
		got, err := Route(tt.platforms, tt.nodes, tt.health, tt.emulation)
		if errString(err) != tt.err {
			t.Errorf("%s: error =\n%s\nwant\n%s", tt.name, errString(err), tt.err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// TestRouteSpreadsLoad routes many platforms over two nodes that build all
// of them: they alternate.
func TestRouteSpreadsLoad(t *testing.T) {
	t.Parallel()
	all := []string{"linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7"}
	nodes := []Node{
		{Name: "a", Kind: KindLocal, Endpoint: "unix:///a", Platforms: all},
		{Name: "b", Kind: KindLocal, Endpoint: "unix:///b", Platforms: all},
	}
	plan, err := Route(all, nodes, map[string]Health{"a": {Status: StatusOK, Latency: 1}, "b": {Status: StatusOK, Latency: 2}}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range plan.Assignments {
		got = append(got, a.Platform+"="+a.Node)
	}
	assertStrings(t, got, []string{"linux/amd64=a", "linux/386=b", "linux/arm64=a", "linux/arm/v7=b"})
}

// TestRouteWith: load (running builds, claims, this plan) before latency,
// and pins.
func TestRouteWith(t *testing.T) {
	t.Parallel()
	node := func(name string, emulated bool, platforms ...string) Node {
		return Node{Name: name, Kind: KindBuildKit, Endpoint: "tcp://" + name + ":1234", Platforms: platforms, Emulated: emulated}
	}
	amd1 := node("amd1", false, "linux/amd64")
	amd2 := node("amd2", false, "linux/amd64")
	arm1 := node("arm1", false, "linux/arm64")
	a := node("a", false, "linux/amd64", "linux/386")
	b := node("b", false, "linux/amd64", "linux/386")
	qemu := node("qemu", true, "linux/amd64", "linux/arm64")
	k8s := Node{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}}
	ok := func(ms, running int) Health {
		return Health{Status: StatusOK, Latency: time.Duration(ms) * time.Millisecond, Running: &running}
	}
	unknownLoad := Health{Status: StatusOK, Latency: time.Millisecond}
	down := Health{Status: StatusUnreachable, Error: "dial tcp 10.0.0.2:1234: connect: no route to host"}
	const picked2 = "native; picked from 2 healthy native nodes (least busy, then lowest latency, then name)"
	const pinnedWarn = "linux/amd64: pinned to an emulated node; building it on emulated node qemu through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)"

	tests := []struct {
		name string
		req  RouteRequest
		want []string // PLATFORM=NODE (reason)
		warn []string
		err  string
	}{
		{
			name: "running builds beat latency",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, amd2},
				Health: map[string]Health{"amd1": ok(1, 2), "amd2": ok(20, 0)}},
			want: []string{"linux/amd64=amd2 (" + picked2 + "; running builds: amd1 2, amd2 0)"},
		},
		{
			name: "a claim counts before the build reaches the node",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, amd2},
				Health: map[string]Health{"amd1": ok(1, 0), "amd2": ok(20, 0)}, Claimed: map[string]int{"amd1": 1}},
			want: []string{"linux/amd64=amd2 (" + picked2 + "; running builds: amd1 1, amd2 0)"},
		},
		{
			// amd1's one claimed build is the one its BuildKit runs: 1, not 2
			name: "claims and running builds are the same builds, not added",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, amd2},
				Health: map[string]Health{"amd1": ok(1, 1), "amd2": ok(2, 1)}, Claimed: map[string]int{"amd1": 1}},
			want: []string{"linux/amd64=amd1 (" + picked2 + "; running builds: amd1 1, amd2 1)"},
		},
		{
			name: "running builds and this plan's platforms add up",
			req: RouteRequest{Platforms: []string{"linux/amd64", "linux/386"}, Nodes: []Node{a, b},
				Health: map[string]Health{"a": ok(1, 1), "b": ok(2, 0)}},
			want: []string{"linux/amd64=b (" + picked2 + "; running builds: a 1, b 0)", "linux/386=a (" + picked2 + "; running builds: a 1, b 0)"},
		},
		{
			name: "an unknown load counts as none",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, amd2},
				Health: map[string]Health{"amd1": unknownLoad, "amd2": ok(2, 0)}},
			want: []string{"linux/amd64=amd1 (" + picked2 + ")"},
		},
		{
			name: "a pin beats load and latency",
			req: RouteRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Nodes: []Node{amd1, amd2, arm1},
				Health: map[string]Health{"amd1": ok(9, 3), "amd2": ok(1, 0), "arm1": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "amd1"}},
			want: []string{"linux/amd64=amd1 (native; pinned (--node))", "linux/arm64=arm1 (native)"},
		},
		{
			name: "a pinned platform counts in this plan's load",
			req: RouteRequest{Platforms: []string{"linux/amd64", "linux/386"}, Nodes: []Node{a, b},
				Health: map[string]Health{"a": ok(1, 0), "b": ok(2, 0)}, Pins: map[string]string{"linux/amd64": "a"}},
			want: []string{"linux/amd64=a (native; pinned (--node))", "linux/386=b (" + picked2 + ")"},
		},
		{
			name: "a pinned node that is down fails the platform, no re-route",
			req: RouteRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Nodes: []Node{amd1, amd2, arm1, qemu}, AllowEmulation: true,
				Health: map[string]Health{"amd1": down, "amd2": ok(1, 0), "arm1": ok(1, 0), "qemu": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "amd1"}},
			err: "linux/amd64: pinned to node amd1, which is unreachable: dial tcp 10.0.0.2:1234: connect: no route to host; a pinned platform is not routed to another node: bring amd1 back (xbuild nodes check amd1), or drop the pin (--node, nodes in xbuild.yaml) to let xbuild pick a healthy node",
		},
		{
			name: "a pinned node that was not checked",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, amd2},
				Health: map[string]Health{"amd2": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "amd1"}},
			err: "linux/amd64: pinned to node amd1, which was not health-checked; a pinned platform is not routed to another node: bring amd1 back (xbuild nodes check amd1), or drop the pin (--node, nodes in xbuild.yaml) to let xbuild pick a healthy node",
		},
		{
			name: "a pin to a node that is not a candidate",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd2},
				Health: map[string]Health{"amd2": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "amd1"}},
			err: "linux/amd64: pinned to node amd1 (--node or nodes in xbuild.yaml), which is not among the nodes that build it: check the name with xbuild nodes ls",
		},
		{
			name: "a pin to a node without the platform",
			req: RouteRequest{Platforms: []string{"linux/arm64"}, Nodes: []Node{amd1, arm1},
				Health: map[string]Health{"amd1": ok(1, 0), "arm1": ok(1, 0)}, Pins: map[string]string{"linux/arm64": "amd1"}},
			err: "linux/arm64: pinned to node amd1, which does not build it (it builds linux/amd64): pin it to a node that does",
		},
		{
			name: "a pin to an emulated node needs allow-emulation",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, qemu},
				Health: map[string]Health{"amd1": ok(1, 0), "qemu": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "qemu"}},
			err: "linux/amd64: pinned to node qemu, which builds it through QEMU: pass --allow-emulation to build it there (5-20x slower), or pin a native node",
		},
		{
			name: "a pin to an emulated node with allow-emulation",
			req: RouteRequest{Platforms: []string{"linux/amd64"}, Nodes: []Node{amd1, qemu}, AllowEmulation: true,
				Health: map[string]Health{"amd1": ok(1, 0), "qemu": ok(1, 0)}, Pins: map[string]string{"linux/amd64": "qemu"}},
			want: []string{"linux/amd64=qemu (pinned (--node); emulated through QEMU) emulated"},
			warn: []string{pinnedWarn},
		},
		{
			name: "a pin to a kubernetes node",
			req: RouteRequest{Platforms: []string{"linux/arm64"}, Nodes: []Node{arm1, k8s},
				Health: map[string]Health{"arm1": ok(1, 0), "k8s": {Status: StatusUnsupported}}, Pins: map[string]string{"linux/arm64": "k8s"}},
			want: []string{"linux/arm64=k8s (native; pinned (--node); not health-checked (kubernetes node))"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RouteWith(tt.req)
			if errString(err) != tt.err {
				t.Fatalf("error =\n%s\nwant\n%s", errString(err), tt.err)
			}
			if err != nil {
				return
			}
			var lines []string
			for _, a := range got.Assignments {
				line := a.Platform + "=" + a.Node + " (" + a.Reason + ")"
				if a.Emulated {
					line += " emulated"
				}
				lines = append(lines, line)
			}
			assertStrings(t, lines, tt.want)
			assertStrings(t, got.Warnings, tt.warn)
		})
	}
}

func TestResolvePins(t *testing.T) {
	t.Parallel()
	nodes := []Node{
		{Name: "amd1", Platforms: []string{"linux/amd64"}},
		{Name: "amd2", Platforms: []string{"linux/386", "linux/amd64"}},
		{Name: "arm1", Platforms: []string{"linux/arm64"}},
		{Name: "qemu", Platforms: []string{"linux/amd64", "linux/arm64"}, Emulated: true},
	}
	both := []string{"linux/amd64", "linux/arm64"}
	tests := []struct {
		name      string
		pins      []Pin
		platforms []string
		want      map[string]string
		err       string
	}{
		{name: "none", platforms: both},
		{name: "one platform", pins: []Pin{{"linux/amd64", "amd2"}}, platforms: both, want: map[string]string{"linux/amd64": "amd2"}},
		{name: "a bare node pins what it builds of the request", pins: []Pin{{"", "amd2"}, {"", "arm1"}}, platforms: both,
			want: map[string]string{"linux/amd64": "amd2", "linux/arm64": "arm1"}},
		{name: "a bare emulated node pins every platform it builds", pins: []Pin{{"", "qemu"}}, platforms: both,
			want: map[string]string{"linux/amd64": "qemu", "linux/arm64": "qemu"}},
		{name: "the same pin twice", pins: []Pin{{"linux/amd64", "amd2"}, {"", "amd2"}}, platforms: both, want: map[string]string{"linux/amd64": "amd2"}},
		{name: "a pin for a platform not requested is left out", pins: []Pin{{"linux/arm64", "arm1"}}, platforms: []string{"linux/amd64"}, want: map[string]string{}},
		{name: "unknown node", pins: []Pin{{"linux/amd64", "amd9"}}, platforms: both,
			err: "--node linux/amd64=amd9: no node amd9 among the nodes of this builder that build linux/amd64, linux/arm64 (they are: amd1, amd2, arm1, qemu); see xbuild nodes ls"},
		{name: "node without the platform", pins: []Pin{{"linux/arm64", "amd1"}}, platforms: both,
			err: "--node linux/arm64=amd1: node amd1 does not build linux/arm64 (it builds linux/amd64)"},
		{name: "a bare node that builds none of the request", pins: []Pin{{"", "arm1"}}, platforms: []string{"linux/amd64"},
			err: "--node arm1: node arm1 builds none of the requested platforms linux/amd64 (it builds linux/arm64)"},
		{name: "two nodes for one platform", pins: []Pin{{"", "amd1"}, {"", "amd2"}}, platforms: both,
			err: "--node: linux/amd64 is pinned to both amd1 and amd2: pin it to one node (PLATFORM=NODE)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePins(tt.pins, tt.platforms, nodes)
			if errString(err) != tt.err {
				t.Fatalf("error =\n%s\nwant\n%s", errString(err), tt.err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pins = %v, want %v", got, tt.want)
			}
		})
	}
}

package nodes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

func TestRegistrarAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		reported []string
		plain    bool // the node speaks no TLS
		req      func(f *regFixture) AddRequest
		want     func(f *regFixture) Node
		result   func(f *regFixture) AddResult // Node and Sync.Changed are checked separately
		buildx   func(f *regFixture) []string
		contexts func(f *regFixture) map[string]engine.DockerContext
		probed   bool
		// left: the node's driver differs from the shared builder's, so
		// only its own builder holds it
		left bool
	}{
		{
			name:     "buildkit over mutual TLS with relative paths",
			reported: []string{"linux/arm64", "linux/arm/v7"},
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "arm1", Endpoint: "tcp://D1.example:1234", Platforms: []string{"linux/aarch64"}, WorkDir: f.certs.dir,
					TLS: &TLS{CA: "client/ca.pem", Cert: "client/cert.pem", Key: "client/../client/key.pem"}}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://d1.example:1234", Platforms: []string{"linux/arm64"}, TLS: f.tls(),
					Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult { return AddResult{Reported: []string{"linux/arm64", "linux/arm/v7"}} },
			buildx: func(f *regFixture) []string {
				opts := " --driver-opt cacert=" + f.certs.tls.CA + " --driver-opt cert=" + f.certs.tls.Cert + " --driver-opt key=" + f.certs.tls.Key +
					" --driver-opt servername=d1.example --timeout 2s tcp://d1.example:1234"
				return []string{"create --name xbuild --node arm1 --driver remote --append --platform linux/arm64" + opts,
					"create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64" + opts}
			},
			probed: true,
		},
		{
			name:     "buildkit with platforms from the node",
			reported: []string{"linux/arm64", "linux/arm/v7"},
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "arm1", Endpoint: "tcp://d1.example:1234", TLS: f.tls(), Builder: "xbuild"}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://d1.example:1234", Platforms: []string{"linux/arm64"}, TLS: f.tls(),
					Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult {
				return AddResult{Reported: []string{"linux/arm64", "linux/arm/v7"}, PlatformsFromNode: true}
			},
			buildx: func(f *regFixture) []string {
				opts := " --driver-opt cacert=" + f.certs.tls.CA + " --driver-opt cert=" + f.certs.tls.Cert + " --driver-opt key=" + f.certs.tls.Key +
					" --driver-opt servername=d1.example --timeout 2s tcp://d1.example:1234"
				return []string{"create --name xbuild --node arm1 --driver remote --append --platform linux/arm64" + opts,
					"create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64" + opts}
			},
			probed: true,
		},
		{
			name:     "docker engine: a context with the PEM material",
			reported: []string{"linux/arm64"},
			req: func(f *regFixture) AddRequest {
				writeFile(t, filepath.Join(f.certs.dir, "bk.toml"), []byte("debug = true\n"), 0o644)
				return AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", Platforms: []string{"linux/arm64"}, TLS: f.tls(),
					DriverOpts: map[string]string{"network": "host"}, BuildkitdConfig: "bk.toml", WorkDir: f.certs.dir}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", Platforms: []string{"linux/arm64"}, TLS: f.tls(),
					DriverOpts: map[string]string{"network": "host"}, BuildkitdConfig: filepath.Join(f.certs.dir, "bk.toml"), Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult { return AddResult{Reported: []string{"linux/arm64"}} },
			buildx: func(f *regFixture) []string {
				// a docker-container node stays out of a builder of remote nodes
				// (buildx cannot mix drivers): it has its own builder
				return []string{"create --name xbuild-node-d1 --node d1 --driver docker-container --platform linux/arm64 --driver-opt network=host --buildkitd-config " +
					filepath.Join(f.certs.dir, "bk.toml") + " --timeout 2s xbuild-d1"}
			},
			left: true,
			contexts: func(f *regFixture) map[string]engine.DockerContext {
				return map[string]engine.DockerContext{"xbuild-d1": {Name: "xbuild-d1", Host: "tcp://d1.example:2376", Description: "xbuild node d1",
					CA: f.certs.set.CACert, Cert: f.certs.set.ClientCert, Key: f.certs.set.ClientKey}}
			},
			probed: true,
		},
		{
			name:     "emulated node on this machine, QEMU registered",
			reported: []string{"linux/amd64", "linux/riscv64", "linux/s390x"},
			plain:    true,
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "qemu", Endpoint: "unix:///run/qemu.sock", Platforms: []string{"linux/s390x", "linux/riscv64"}, Emulated: true}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "qemu", Kind: KindLocal, Endpoint: "unix:///run/qemu.sock", Platforms: []string{"linux/riscv64", "linux/s390x"}, Emulated: true,
					Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult {
				return AddResult{Reported: []string{"linux/amd64", "linux/riscv64", "linux/s390x"}}
			},
			buildx: func(f *regFixture) []string {
				return []string{"create --name xbuild --node qemu --driver remote --append --platform linux/riscv64,linux/s390x --timeout 2s unix:///run/qemu.sock",
					"create --name xbuild-node-qemu --node qemu --driver remote --platform linux/riscv64,linux/s390x --timeout 2s unix:///run/qemu.sock"}
			},
			probed: true,
		},
		{
			name:     "emulated node records all it reports",
			reported: []string{"linux/s390x", "linux/amd64", "linux/riscv64"},
			plain:    true,
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "qemu", Endpoint: "unix:///run/qemu.sock", Emulated: true}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "qemu", Kind: KindLocal, Endpoint: "unix:///run/qemu.sock", Platforms: []string{"linux/amd64", "linux/riscv64", "linux/s390x"}, Emulated: true,
					Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult {
				return AddResult{Reported: []string{"linux/s390x", "linux/amd64", "linux/riscv64"}, PlatformsFromNode: true}
			},
			buildx: func(f *regFixture) []string {
				// amd64 stays on the native amd1 in the shared builder; its own builder has all it builds
				return []string{"create --name xbuild --node qemu --driver remote --append --platform linux/riscv64,linux/s390x --timeout 2s unix:///run/qemu.sock",
					"create --name xbuild-node-qemu --node qemu --driver remote --platform linux/amd64,linux/riscv64,linux/s390x --timeout 2s unix:///run/qemu.sock"}
			},
			probed: true,
		},
		{
			name: "kubernetes: not contacted",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "k8s", Endpoint: "kubernetes://buildkit?context=prod", Platforms: []string{"linux/arm64"},
					DriverOpts: map[string]string{"nodeselector": "kubernetes.io/arch=arm64"}}
			},
			want: func(f *regFixture) Node {
				return Node{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit?context=prod", Platforms: []string{"linux/arm64"},
					DriverOpts: map[string]string{"nodeselector": "kubernetes.io/arch=arm64"}, Builder: "xbuild", Added: f.now, SchemaVersion: 1}
			},
			result: func(f *regFixture) AddResult { return AddResult{} },
			buildx: func(f *regFixture) []string {
				return []string{"create --name xbuild-node-k8s --node k8s --driver kubernetes --platform linux/arm64 --driver-opt namespace=buildkit --driver-opt nodeselector=kubernetes.io/arch=arm64 --timeout 2s prod"}
			},
			left: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRegFixture(t, tt.reported...)
			if tt.plain {
				f.dial.fx = nil
			}
			res, err := f.r.Add(context.Background(), tt.req(f))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(f)
			stored, err := f.store.Get(want.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, want) || !reflect.DeepEqual(res.Node, want) {
				t.Errorf("node:\nstored %+v\nresult %+v\nwant   %+v", stored, res.Node, want)
			}
			wantRes := tt.result(f)
			if !reflect.DeepEqual(res.Reported, wantRes.Reported) || res.PlatformsFromNode != wantRes.PlatformsFromNode {
				t.Errorf("result reported %q from node %v, want %q %v", res.Reported, res.PlatformsFromNode, wantRes.Reported, wantRes.PlatformsFromNode)
			}
			wantNodes, wantChanged, wantLeft := 2, []string{"create " + want.Name}, 0
			if tt.left {
				wantNodes, wantChanged, wantLeft = 1, nil, 1
			}
			if res.Sync == nil || res.Sync.Builder != "xbuild" || len(res.Sync.Nodes) != wantNodes || !reflect.DeepEqual(res.Sync.Changed, wantChanged) || len(res.Sync.Left) != wantLeft {
				t.Errorf("sync result %+v", res.Sync)
			}
			assertStrings(t, f.bx.calls, tt.buildx(f))
			wantCtx := map[string]engine.DockerContext{}
			if tt.contexts != nil {
				wantCtx = tt.contexts(f)
			}
			if !reflect.DeepEqual(f.contexts.m, wantCtx) {
				t.Errorf("docker contexts:\n%+v\nwant\n%+v", f.contexts.m, wantCtx)
			}
			if probes, dials := len(f.prober.targets()), f.dial.dials.Load(); tt.probed != (probes == 1 && dials == 1) || !tt.probed && (probes != 0 || dials != 0) {
				t.Errorf("%d probes and %d dials, want probed=%v (one of each)", probes, dials, tt.probed)
			}
			if len(f.warnings) != 0 {
				t.Errorf("warnings: %q", f.warnings)
			}
		})
	}
}

// Every refused add leaves the registry directory and the docker
// contexts exactly as they were, whether it was refused before the first
// write (validation, the node's answer, QEMU) or rolled back after it.
func TestRegistrarAddRefusals(t *testing.T) {
	t.Parallel()
	dockerD1 := func(f *regFixture) AddRequest {
		return AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", Platforms: []string{"linux/arm64"}, TLS: f.tls()}
	}
	unreachable := "\n  (nothing was registered; --skip-check --platform ... registers a node that is offline now)"
	tests := []struct {
		name     string
		reported []string
		setup    func(t *testing.T, f *regFixture)
		req      func(f *regFixture) AddRequest
		err      func(f *regFixture) string
		invalid  bool
		contact  bool     // the node was dialled and probed
		buildx   []string // the buildx calls made (failed ones are not recorded)
	}{
		{
			name: "bad name",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "bad/name", Endpoint: "unix:///run/x.sock", Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return `node name "bad/name" contains '/': use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'`
			},
			invalid: true,
		},
		{
			name: "name clash",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "amd1", Endpoint: "tcp://d1.example:1234", TLS: f.tls(), Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return "node amd1 already exists (unix:///run/amd1.sock): remove it first with xbuild nodes rm amd1, or choose another name"
			},
		},
		{
			name: "name clash ignoring case",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "AMD1", Endpoint: "unix:///run/x.sock", Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return "node AMD1 clashes with existing node amd1 (unix:///run/amd1.sock), names are compared ignoring case: remove it first with xbuild nodes rm amd1, or choose another name"
			},
		},
		{
			// issue 18: one daemon registered twice was caught only by buildx, sometimes
			name: "the endpoint of a registered node, written another way",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "amd1again", Endpoint: "unix:///run/../run/amd1.sock", Platforms: []string{"linux/arm64"}, Emulated: true, SkipCheck: true}
			},
			err: func(f *regFixture) string {
				return "node amd1again: its endpoint unix:///run/amd1.sock is node amd1's: one daemon is one node, whose platforms (and --emulated) say what it builds; remove amd1 first (xbuild nodes rm amd1) to register it again, or check the endpoint"
			},
		},
		{
			// bug: the refused add used to rewrite the existing node's context first
			name:     "docker name clash keeps the existing node's context",
			reported: []string{"linux/arm64"},
			setup: func(t *testing.T, f *regFixture) {
				f.mustAdd(t, dockerD1(f))
				f.other = writeCerts(t, f.now, 365, "d2.example")
			},
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d2.example:2376", Platforms: []string{"linux/arm64"}, TLS: &f.other.tls}
			},
			err: func(f *regFixture) string {
				return "node d1 already exists (tcp://d1.example:2376): remove it first with xbuild nodes rm d1, or choose another name"
			},
		},
		{
			name: "bad endpoint",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "d1.example:1234", Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return `node n1: endpoint "d1.example:1234" has no scheme: did you mean tcp://d1.example:1234?`
			},
		},
		{
			name: "kind does not fit the endpoint",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Kind: KindLocal, Endpoint: "tcp://d1.example:1234", TLS: f.tls(), Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return "node n1: a local node needs a unix:// endpoint, not tcp://d1.example:1234"
			},
		},
		{
			name: "tcp without TLS",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return "node n1: tcp://d1.example:1234 is reached over TCP, which needs mutual TLS: pass --tls-ca, --tls-cert and --tls-key (" + certsHint + "), or --insecure to accept an unencrypted, unauthenticated connection that anyone who can reach the port can use"
			},
		},
		{
			name:  "key of another certificate",
			setup: func(t *testing.T, f *regFixture) { f.other = writeCerts(t, f.now, 365, "d1.example") },
			req: func(f *regFixture) AddRequest {
				files := f.certs.tls
				files.Key = f.other.tls.Key
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: &files, Platforms: []string{"linux/amd64"}}
			},
			err: func(f *regFixture) string {
				return "node n1: --tls-key " + f.other.tls.Key + " does not belong to the certificate in --tls-cert " + f.certs.tls.Cert + ": pass the key that was generated with that certificate (" + certsHint + ")"
			},
		},
		{
			// bug: an unanswered docker node used to leave its context behind
			name:    "docker node does not answer",
			setup:   func(t *testing.T, f *regFixture) { f.dial.refuse = true },
			req:     dockerD1,
			contact: true,
			err: func(f *regFixture) string {
				return "node d1 (tcp://d1.example:2376) is unreachable: dial tcp d1.example:2376: connect: connection refused\n  nothing listens on d1.example:2376: is buildkitd (or dockerd) running there, on port 2376?" + unreachable
			},
		},
		{
			name:     "server certificate from another CA",
			reported: []string{"linux/arm64"},
			setup: func(t *testing.T, f *regFixture) {
				f.other = writeCerts(t, f.now, 365, "d1.example")
				f.dial.fx = &f.other
			},
			req:     dockerD1,
			contact: true,
			err: func(f *regFixture) string {
				return "node d1 (tcp://d1.example:2376) is tls-error: the server certificate is not signed by the CA in " + f.certs.tls.CA + " (--tls-ca)\n  use the ca.pem generated together with the node's server certificate (xbuild nodes certs), or start the node with a server certificate signed by this CA" + unreachable
			},
		},
		{
			name:     "platform the node does not build",
			reported: []string{"linux/arm64", "linux/arm/v7"},
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: f.tls(), Platforms: []string{"linux/arm64", "linux/s390x"}}
			},
			contact: true,
			err: func(f *regFixture) string {
				return "node n1 does not build linux/s390x: it reports linux/arm64, linux/arm/v7; fix --platform, or install QEMU (binfmt) on the node and add it with --emulated"
			},
		},
		{
			name: "buildkitd config missing",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", TLS: f.tls(), BuildkitdConfig: "nope.toml", WorkDir: f.certs.dir}
			},
			err: func(f *regFixture) string {
				return "--buildkitd-config nope.toml: stat " + filepath.Join(f.certs.dir, "nope.toml") + ": no such file or directory"
			},
		},
		{
			name: "node reports no platforms",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: f.tls()}
			},
			contact: true,
			err:     func(f *regFixture) string { return "node n1 reported no platforms; pass --platform" },
		},
		{
			name: "not contacted without platforms",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: f.tls(), SkipCheck: true}
			},
			err: func(f *regFixture) string {
				return "node n1: --platform is needed when the node is not contacted (--skip-check)"
			},
			invalid: true,
		},
		{
			name: "kubernetes without platforms",
			req:  func(f *regFixture) AddRequest { return AddRequest{Name: "k8s", Endpoint: "kubernetes://buildkit"} },
			err: func(f *regFixture) string {
				return "node k8s: --platform is needed when the node is not contacted (kubernetes nodes are not probed)"
			},
			invalid: true,
		},
		{
			name: "QEMU missing for an emulated local node",
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "q", Endpoint: "unix:///run/q.sock", Emulated: true, Platforms: []string{"linux/ppc64le", "linux/s390x"}, SkipCheck: true}
			},
			err: func(f *regFixture) string { return "node q: " + EmulationHint([]string{"linux/ppc64le"}) },
		},
		{
			name:     "builder sync fails",
			reported: []string{"linux/arm64"},
			setup:    func(t *testing.T, f *regFixture) { f.bx.fail = "--node n1" },
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: f.tls(), Platforms: []string{"linux/arm64"}}
			},
			contact: true,
			err: func(f *regFixture) string {
				return "syncing buildx builder xbuild (create n1): boom\n  nothing was registered"
			},
		},
		{
			// bug: the failed add deleted a context that was there before
			name:     "docker builder sync fails, an older context is put back",
			reported: []string{"linux/arm64"},
			setup: func(t *testing.T, f *regFixture) {
				f.bx.fail = "--node d1"
				f.contexts.m["xbuild-d1"] = engine.DockerContext{Name: "xbuild-d1", Host: "tcp://10.9.9.9:2376", CA: []byte("old CA"), Description: "left over"}
			},
			req:     dockerD1,
			contact: true,
			err: func(f *regFixture) string {
				return "syncing buildx builder xbuild-node-d1 (create d1): boom\n  nothing was registered"
			},
		},
		{
			name:  "kubernetes builder sync fails",
			setup: func(t *testing.T, f *regFixture) { f.bx.fail = "--node k8s" },
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "k8s", Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}}
			},
			err: func(f *regFixture) string {
				return "syncing buildx builder xbuild-node-k8s (create k8s): boom\n  kubernetes nodes use this machine's kubeconfig (KUBECONFIG or ~/.kube/config): check that `kubectl -n buildkit get pods` works; nothing was registered"
			},
		},
		{
			// the new native riscv64 node takes riscv64 from the emulated
			// node: qemu is updated, then zz fails; the rollback syncs
			// qemu back
			name:     "builder sync fails part way",
			reported: []string{"linux/riscv64", "linux/s390x"},
			setup: func(t *testing.T, f *regFixture) {
				f.dial.fx = nil
				f.mustAdd(t, AddRequest{Name: "qemu", Endpoint: "unix:///run/qemu.sock", Emulated: true, Platforms: []string{"linux/riscv64", "linux/s390x"}})
				f.bx.fail = "--node zz"
			},
			req: func(f *regFixture) AddRequest {
				return AddRequest{Name: "zz", Endpoint: "unix:///run/zz.sock", Platforms: []string{"linux/riscv64"}}
			},
			contact: true,
			err: func(f *regFixture) string {
				return "syncing buildx builder xbuild (create zz): boom\n  nothing was registered"
			},
			buildx: []string{
				"create --name xbuild --node qemu --driver remote --append --platform linux/s390x --timeout 2s unix:///run/qemu.sock",
				"create --name xbuild --node qemu --driver remote --append --platform linux/riscv64,linux/s390x --timeout 2s unix:///run/qemu.sock",
			},
		},
		{
			name:     "docker context cannot be written",
			reported: []string{"linux/arm64"},
			setup:    func(t *testing.T, f *regFixture) { f.contexts.failEnsure = errBoom },
			req:      dockerD1,
			contact:  true,
			err:      func(f *regFixture) string { return "node d1: boom; nothing was registered" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRegFixture(t, tt.reported...)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			req := tt.req(f)
			before, contexts := snapshot(t, f.store.Dir()), f.contexts.state()

			res, err := f.r.Add(context.Background(), req)
			if res != nil || errString(err) != tt.err(f) {
				t.Errorf("Add = %+v, error\n%s\nwant\n%s", res, errString(err), tt.err(f))
			}
			if errors.Is(err, ErrInvalidRequest) != tt.invalid {
				t.Errorf("errors.Is(err, ErrInvalidRequest) = %v, want %v", !tt.invalid, tt.invalid)
			}
			assertSnapshot(t, f.store.Dir(), before)
			if !reflect.DeepEqual(f.contexts.state(), contexts) {
				t.Errorf("docker contexts changed:\n%+v\nwant\n%+v", f.contexts.state(), contexts)
			}
			if probes, dials := len(f.prober.targets()), int(f.dial.dials.Load()); tt.contact != (dials == 1) || probes > dials {
				t.Errorf("%d dials, %d probes; want contacted=%v", dials, probes, tt.contact)
			}
			assertStrings(t, f.bx.calls, tt.buildx)
		})
	}
}

// The TLS files are read once, before the node is contacted: the handshake,
// the probe and the docker context all use that one reading, so files that
// vanish after it change nothing.
func TestRegistrarReadsTLSOnce(t *testing.T) {
	t.Parallel()
	f := newRegFixture(t, "linux/arm64")
	inner := f.prober.fn
	f.prober.fn = func(ctx context.Context, pt engine.ProbeTarget) (*engine.ProbeResult, error) {
		for _, p := range []string{f.certs.tls.CA, f.certs.tls.Cert, f.certs.tls.Key} {
			if err := os.Remove(p); err != nil {
				t.Error(err)
			}
		}
		return inner(ctx, pt)
	}
	_, err := f.r.Add(context.Background(), AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", TLS: f.tls(), Platforms: []string{"linux/arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	dc := f.contexts.m["xbuild-d1"]
	if string(dc.CA) != string(f.certs.set.CACert) || string(dc.Cert) != string(f.certs.set.ClientCert) || string(dc.Key) != string(f.certs.set.ClientKey) {
		t.Errorf("docker context TLS material is not the files' contents")
	}
	calls := f.prober.targets()
	if len(calls) != 1 || calls[0].TLS == nil || calls[0].TLS.ServerName != "d1.example" || len(calls[0].TLS.Certificates) != 1 {
		t.Fatalf("probe targets %+v", calls)
	}
}

func TestRegistrarAddWarns(t *testing.T) {
	t.Parallel()
	f := newRegFixture(t, "linux/amd64")
	soon := writeCerts(t, f.now.Add(-360*24*time.Hour), 365, "d1.example")
	f.dial.fx = &soon
	_, err := f.r.Add(context.Background(), AddRequest{Name: "n1", Endpoint: "tcp://d1.example:1234", TLS: &soon.tls, Platforms: []string{"linux/amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	expires := day(soon.set.NotAfter) + " (in 5 days)"
	assertStrings(t, f.warnings, []string{
		"node n1: --tls-cert " + soon.tls.Cert + ": the client certificate expires on " + expires + ": renew it with xbuild nodes certs",
		"node n1: --tls-ca " + soon.tls.CA + ": the CA certificate expires on " + expires + ": renew it with xbuild nodes certs",
		"the server certificate of node n1 expires on " + expires + ": renew it with xbuild nodes certs and restart the daemon with it",
	})

	g := newRegFixture(t, "linux/amd64")
	g.dial.fx = nil
	if _, err := g.r.Add(context.Background(), AddRequest{Name: "n2", Endpoint: "tcp://d1.example:1234", Insecure: true, Platforms: []string{"linux/amd64"}}); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, g.warnings, []string{"node n2 is reached without TLS (--insecure): anyone on the network can use or impersonate it"})
}

// A rollback that cannot finish says so, and does not claim that nothing
// was registered.
func TestRegistrarAddRollbackFails(t *testing.T) {
	t.Parallel()
	f := newRegFixture(t, "linux/arm64")
	f.bx.fail = "--node d1"
	f.contexts.failRestore = errors.New("restore broke")
	_, err := f.r.Add(context.Background(), AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", TLS: f.tls(), Platforms: []string{"linux/arm64"}})
	want := "syncing buildx builder xbuild-node-d1 (create d1): boom\n  undoing the change failed too, so check xbuild nodes ls and docker context ls: restore broke"
	if errString(err) != want {
		t.Errorf("error\n%s\nwant\n%s", errString(err), want)
	}
	if _, err := f.store.Get("d1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("d1 is registered after the rollback: %v", err)
	}
}

func TestIsLocalEndpoint(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		"unix:///run/buildkit/buildkitd.sock": true,
		"tcp://127.0.0.1:1234":                true,
		"tcp://[::1]:1234":                    true,
		"tcp://localhost:1234":                true,
		"tcp://10.0.0.2:1234":                 false,
		"tcp://arm1.example:1234":             false,
		"kubernetes://buildkit":               false,
		"nonsense":                            false,
	}
	for ep, w := range want {
		if got := isLocalEndpoint(ep); got != w {
			t.Errorf("isLocalEndpoint(%q) = %v, want %v", ep, got, w)
		}
	}
}

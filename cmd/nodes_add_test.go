package cmd

import (
	"context"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

const usageTail = "Run 'xbuild --help' or 'xbuild COMMAND --help' for usage.\n"

// The flags map to one registrar request; nothing is checked here that the
// registrar checks.
func TestNodesAddFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		want   func(e *nodesEnv) nodes.AddRequest
		code   int
		stderr string
	}{
		{
			name: "defaults",
			args: []string{"arm1", "--endpoint", "tcp://arm1:1234"},
			want: func(e *nodesEnv) nodes.AddRequest {
				return nodes.AddRequest{Name: "arm1", Endpoint: "tcp://arm1:1234", Builder: "xbuild", Timeout: 5 * time.Second}
			},
		},
		{
			name: "every flag",
			args: []string{"d1", "--kind", "docker", "--endpoint", "tcp://d1:2376", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/s390x", "--emulated",
				"--tls-ca", "c/ca.pem", "--tls-cert", "c/cert.pem", "--tls-key", "/abs/key.pem", "--tls-servername", "d1.internal",
				"--driver-opt", "image=reg/bk:1", "--driver-opt", "network=host", "--driver-opt", "env.A=x=y", "--buildkitd-config", "bk.toml",
				"--timeout", "2s", "--skip-check", "--builder", "ci"},
			want: func(e *nodesEnv) nodes.AddRequest {
				return nodes.AddRequest{Name: "d1", Kind: nodes.KindDocker, Endpoint: "tcp://d1:2376", Platforms: []string{"linux/amd64", "linux/arm64", "linux/s390x"},
					Emulated: true, TLS: &nodes.TLS{CA: "c/ca.pem", Cert: "c/cert.pem", Key: "/abs/key.pem", ServerName: "d1.internal"},
					DriverOpts: map[string]string{"image": "reg/bk:1", "network": "host", "env.A": "x=y"}, BuildkitdConfig: "bk.toml",
					Builder: "ci", WorkDir: e.workDir, Timeout: 2 * time.Second, SkipCheck: true}
			},
		},
		{
			name: "insecure",
			args: []string{"n", "--endpoint", "tcp://n:1234", "--insecure", "--platform", "linux/arm64"},
			want: func(e *nodesEnv) nodes.AddRequest {
				return nodes.AddRequest{Name: "n", Endpoint: "tcp://n:1234", Insecure: true, Platforms: []string{"linux/arm64"}, Builder: "xbuild", Timeout: 5 * time.Second}
			},
		},
		{
			name:   "driver option without a value",
			args:   []string{"n", "--endpoint", "tcp://n:1234", "--driver-opt", "image"},
			code:   ExitUsage,
			stderr: "Error: --driver-opt \"image\": use KEY=VALUE\n" + usageTail,
		},
		{
			name:   "no endpoint",
			args:   []string{"n"},
			code:   ExitUsage,
			stderr: "Error: required flag(s) \"endpoint\" not set\n" + usageTail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newNodesEnv(t)
			var got nodes.AddRequest
			ran := false
			c := newNodesAddCmd(e.f, func(_ context.Context, opts *nodesAddOptions) error {
				ran = true
				var err error
				got, err = opts.request()
				return err
			})
			if code := e.run(c, tt.args...); code != tt.code || e.err.String() != tt.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, e.err, tt.code, tt.stderr)
			}
			if tt.want == nil {
				return
			}
			if want := tt.want(e); !ran || !reflect.DeepEqual(got, want) {
				t.Errorf("request:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

// nodes add end to end through the factory: flags, the registrar with fake
// engine, dialer and docker contexts, a real registry in a temporary
// directory, and what is printed.
func TestNodesAdd(t *testing.T) {
	t.Parallel()
	refused := "Error: node n1 (tcp://node.example:1234) is unreachable: dial tcp node.example:1234: connect: connection refused\n" +
		"  nothing listens on node.example:1234: is buildkitd (or dockerd) running there, on port 1234?\n" +
		"  (nothing was registered; --skip-check --platform ... registers a node that is offline now)\n"
	tests := []struct {
		name      string
		reported  []string
		setup     func(t *testing.T, e *nodesEnv)
		args      func(e *nodesEnv) []string
		code      int
		stderr    string
		stored    string // the node that must be registered afterwards
		buildx    func(e *nodesEnv) []string
		contexts  func(e *nodesEnv) map[string]engine.DockerContext
		probeKind string // the kind the engine was asked to probe
	}{
		{
			name:     "buildkit with platforms from the node",
			reported: []string{"linux/arm64", "linux/arm/v7"},
			args: func(e *nodesEnv) []string {
				return append([]string{"arm1", "--endpoint", "tcp://node.example:1234"}, e.tlsArgs()...)
			},
			stderr: "Node arm1 reports linux/arm64, linux/arm/v7; recording linux/arm64 (pass --platform to choose).\n" +
				"Added node arm1: buildkit tcp://node.example:1234, linux/arm64, native.\n" +
				"buildx builder xbuild: arm1 [linux/arm64]\n",
			stored: "arm1",
			buildx: func(e *nodesEnv) []string {
				c := filepath.Join(e.workDir, "certs", "client")
				opts := " --driver-opt cacert=" + filepath.Join(c, "ca.pem") + " --driver-opt cert=" + filepath.Join(c, "cert.pem") +
					" --driver-opt key=" + filepath.Join(c, "key.pem") + " --driver-opt servername=node.example --timeout 2s tcp://node.example:1234"
				// the shared builder, then the node's own, which xbuild builds on
				return []string{"create --name xbuild --node arm1 --driver remote --platform linux/arm64" + opts,
					"create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64" + opts}
			},
			probeKind: "buildkit",
		},
		{
			name:     "docker engine",
			reported: []string{"linux/amd64"},
			args: func(e *nodesEnv) []string {
				return append([]string{"d1", "--kind", "docker", "--endpoint", "tcp://node.example:2376", "--platform", "linux/amd64"}, e.tlsArgs()...)
			},
			stderr: "Added node d1: docker tcp://node.example:2376, linux/amd64, native.\nbuildx builder xbuild: d1 [linux/amd64]\n",
			stored: "d1",
			buildx: func(e *nodesEnv) []string {
				return []string{"create --name xbuild --node d1 --driver docker-container --platform linux/amd64 --timeout 2s xbuild-d1",
					"create --name xbuild-node-d1 --node d1 --driver docker-container --platform linux/amd64 --timeout 2s xbuild-d1"}
			},
			contexts: func(e *nodesEnv) map[string]engine.DockerContext {
				return map[string]engine.DockerContext{"xbuild-d1": {Name: "xbuild-d1", Host: "tcp://node.example:2376", Description: "xbuild node d1",
					CA: e.set.CACert, Cert: e.set.ClientCert, Key: e.set.ClientKey}}
			},
			probeKind: "docker",
		},
		{
			name: "insecure emulated node not contacted",
			args: func(e *nodesEnv) []string {
				return []string{"q", "--endpoint", "tcp://node.example:1234", "--insecure", "--emulated", "--platform", "linux/arm64", "--skip-check"}
			},
			stderr: "WARNING: node q is reached without TLS (--insecure): anyone on the network can use or impersonate it\nAdded node q: buildkit tcp://node.example:1234, linux/arm64, emulated (fallback only).\nbuildx builder xbuild: q [linux/arm64]\n",
			stored: "q",
			buildx: func(e *nodesEnv) []string {
				return []string{"create --name xbuild --node q --driver remote --platform linux/arm64 --timeout 2s tcp://node.example:1234",
					"create --name xbuild-node-q --node q --driver remote --platform linux/arm64 --timeout 2s tcp://node.example:1234"}
			},
		},
		{
			name:   "bad name",
			args:   func(e *nodesEnv) []string { return []string{"bad/name", "--endpoint", "unix:///run/x.sock"} },
			code:   ExitUsage,
			stderr: "Error: node name \"bad/name\" contains '/': use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'\n" + usageTail,
		},
		{
			name: "not contacted without platforms",
			args: func(e *nodesEnv) []string {
				return append([]string{"n1", "--endpoint", "tcp://node.example:1234", "--skip-check"}, e.tlsArgs()...)
			},
			code:   ExitUsage,
			stderr: "Error: node n1: --platform is needed when the node is not contacted (--skip-check)\n" + usageTail,
		},
		{
			name:  "node refuses the connection",
			setup: func(t *testing.T, e *nodesEnv) { e.refuse = true },
			args: func(e *nodesEnv) []string {
				return append([]string{"n1", "--endpoint", "tcp://node.example:1234", "--platform", "linux/amd64"}, e.tlsArgs()...)
			},
			code:   ExitFailure,
			stderr: refused,
		},
		{
			name: "name in use",
			setup: func(t *testing.T, e *nodesEnv) {
				e.mustAdd(t, "n1", "--endpoint", "unix:///run/n1.sock", "--platform", "linux/amd64", "--skip-check")
			},
			args: func(e *nodesEnv) []string {
				return []string{"n1", "--endpoint", "unix:///run/other.sock", "--platform", "linux/amd64", "--skip-check"}
			},
			code:   ExitFailure,
			stderr: "Error: node n1 already exists (unix:///run/n1.sock): remove it first with xbuild nodes rm n1, or choose another name\n",
			stored: "n1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newNodesEnv(t, tt.reported...)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			if code := e.run(NewNodesAddCmd(e.f), tt.args(e)...); code != tt.code || e.err.String() != tt.stderr || e.out.Len() != 0 {
				t.Errorf("exit %d\nstderr %q\nstdout %q\nwant exit %d\nstderr %q", code, e.err, e.out, tt.code, tt.stderr)
			}
			st, err := nodes.Open(e.configDir)
			if err != nil {
				t.Fatal(err)
			}
			list, errs := st.List()
			var names []string
			for _, n := range list {
				names = append(names, n.Name)
			}
			if want := []string{tt.stored}; tt.stored != "" && !reflect.DeepEqual(names, want) || tt.stored == "" && len(names) != 0 || len(errs) != 0 {
				t.Errorf("registered %q (%v), want %q", names, errs, tt.stored)
			}
			var wantCalls []string
			if tt.buildx != nil {
				wantCalls = tt.buildx(e)
			}
			if !reflect.DeepEqual(e.eng.calls, wantCalls) {
				t.Errorf("buildx calls:\n%q\nwant\n%q", e.eng.calls, wantCalls)
			}
			wantCtx := map[string]engine.DockerContext{}
			if tt.contexts != nil {
				wantCtx = tt.contexts(e)
			}
			if !reflect.DeepEqual(e.contexts.m, wantCtx) {
				t.Errorf("docker contexts %+v\nwant %+v", e.contexts.m, wantCtx)
			}
			if tt.probeKind == "" && len(e.eng.probes) != 0 || tt.probeKind != "" && (len(e.eng.probes) != 1 || e.eng.probes[0].Kind != tt.probeKind || e.eng.probes[0].TLS == nil) {
				t.Errorf("probes %+v, want one of a %q node over TLS", e.eng.probes, tt.probeKind)
			}
		})
	}
}

func closedLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Bug: a refused `nodes add --kind docker` (the name exists) rewrote the
// existing node's docker context before saying "already exists".
func TestNodesAddRefusedDockerKeepsContext(t *testing.T) {
	t.Parallel()
	e := newNodesEnv(t)
	first := append([]string{"d1", "--kind", "docker", "--endpoint", "tcp://10.0.0.1:2376", "--platform", "linux/amd64", "--skip-check"}, e.tlsArgs()...)
	if code := e.run(NewNodesAddCmd(e.f), first...); code != 0 {
		t.Fatal(e.err)
	}
	before := e.contextsState()
	if len(before) != 1 {
		t.Fatalf("contexts after the first add: %v", before)
	}
	other := newNodesEnv(t) // a second, unrelated set of certificates
	second := []string{"d1", "--kind", "docker", "--endpoint", "tcp://10.0.0.2:2376", "--platform", "linux/amd64", "--skip-check",
		"--tls-ca", filepath.Join(other.workDir, "certs/client/ca.pem"), "--tls-cert", filepath.Join(other.workDir, "certs/client/cert.pem"), "--tls-key", filepath.Join(other.workDir, "certs/client/key.pem")}
	e.err.Reset()
	if code := e.run(NewNodesAddCmd(e.f), second...); code != ExitFailure || !strings.Contains(e.err.String(), "node d1 already exists") {
		t.Fatalf("second add: exit %d, %s", code, e.err)
	}
	if !reflect.DeepEqual(e.contexts.m, before) {
		t.Errorf("a refused add changed the existing node's docker context:\ngot  %+v\nwant %+v", e.contexts.m, before)
	}
}

// Bug: a docker node that did not answer left its docker context behind
// while saying "nothing was registered".
func TestNodesAddUnreachableDockerLeavesNoContext(t *testing.T) {
	t.Parallel()
	e := newNodesEnv(t)
	e.f.Dial = nil // the real dialer, to a loopback port nobody listens on
	args := append([]string{"d1", "--kind", "docker", "--endpoint", "tcp://" + closedLoopbackPort(t), "--platform", "linux/amd64", "--timeout", "2s"}, e.tlsArgs()...)
	if code := e.run(NewNodesAddCmd(e.f), args...); code != ExitFailure || !strings.Contains(e.err.String(), "nothing was registered") {
		t.Fatalf("add: exit %d, %s", code, e.err)
	}
	if len(e.contexts.m) != 0 {
		t.Errorf("a refused add left docker contexts behind: %+v", e.contexts.m)
	}
}

// Bug: a failed builder sync deleted the node's docker context even when
// one was there before; it is put back as it was.
func TestNodesAddSyncFailureRestoresContext(t *testing.T) {
	t.Parallel()
	e := newNodesEnv(t)
	e.eng.failOn = "--node d1"
	stale := engine.DockerContext{Name: "xbuild-d1", Host: "tcp://10.9.9.9:2376", Description: "left over"}
	e.contexts.m["xbuild-d1"] = stale
	args := append([]string{"d1", "--kind", "docker", "--endpoint", "tcp://10.0.0.1:2376", "--platform", "linux/amd64", "--skip-check"}, e.tlsArgs()...)
	if code := e.run(NewNodesAddCmd(e.f), args...); code != ExitFailure || e.err.String() != "Error: syncing buildx builder xbuild (create d1): buildx says no\n  nothing was registered\n" {
		t.Fatalf("add: exit %d, %q", code, e.err)
	}
	if want := map[string]engine.DockerContext{"xbuild-d1": stale}; !reflect.DeepEqual(e.contexts.m, want) {
		t.Errorf("after a failed sync the docker contexts are\n  %+v\nwant\n  %+v", e.contexts.m, want)
	}
}

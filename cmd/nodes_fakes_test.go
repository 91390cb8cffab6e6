package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/nodes"
)

// fakeEngine records buildx calls (failing those whose arguments contain
// failOn) and answers probes with platforms. Other Engine methods are not
// used by the nodes commands and panic.
type fakeEngine struct {
	engine.Engine
	// bx keeps builders as buildx does, refusals included
	bx     enginetest.FakeBuildx
	mu     sync.Mutex
	failOn string
	// onBuildx, when set, runs before each buildx call (a test's Ctrl-C)
	onBuildx  func(ctx context.Context, args []string)
	calls     []string
	platforms []string
	probes    []engine.ProbeTarget
	// running is the load each endpoint reports (missing: unknown)
	running map[string]int
}

func (e *fakeEngine) Buildx(ctx context.Context, inv engine.Invocation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	line := strings.Join(inv.Args, " ")
	e.calls = append(e.calls, line)
	if e.onBuildx != nil {
		e.onBuildx(ctx, inv.Args)
		if err := ctx.Err(); err != nil {
			return err // buildx stops on a cancelled context
		}
	}
	if e.failOn != "" && strings.Contains(line, e.failOn) {
		return errors.New("buildx says no")
	}
	return e.bx.Buildx(context.Background(), inv)
}

func (e *fakeEngine) ReadBuilder(name string) (*engine.StoredBuilder, error) {
	return e.bx.ReadBuilder(name)
}

func (e *fakeEngine) Probe(_ context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.probes = append(e.probes, t)
	res := &engine.ProbeResult{BuildKitVersion: "v0.34.2", Platforms: e.platforms}
	if n, ok := e.running[t.Endpoint]; ok {
		res.Running = &n
	}
	return res, nil
}

func (e *fakeEngine) Describe() string { return "fake" }

// fakeContexts is a docker context store in memory.
type fakeContexts struct {
	m map[string]engine.DockerContext
}

func (c *fakeContexts) Ensure(dc engine.DockerContext) error { c.m[dc.Name] = dc; return nil }
func (c *fakeContexts) Remove(name string) error             { delete(c.m, name); return nil }

func (c *fakeContexts) Snapshot(name string) (engine.DockerContextSnapshot, error) {
	s := engine.DockerContextSnapshot{Name: name, Files: map[string]engine.SnapshotFile{}}
	if dc, ok := c.m[name]; ok {
		b, err := json.Marshal(dc)
		if err != nil {
			return s, err
		}
		s.Files["context.json"] = engine.SnapshotFile{Data: b}
	}
	return s, nil
}

func (c *fakeContexts) Restore(s engine.DockerContextSnapshot) error {
	delete(c.m, s.Name)
	if f, ok := s.Files["context.json"]; ok {
		var dc engine.DockerContext
		if err := json.Unmarshal(f.Data, &dc); err != nil {
			return err
		}
		c.m[s.Name] = dc
	}
	return nil
}

// nodesEnv is a Factory with fakes for the nodes commands: a temporary
// XBUILD_CONFIG_DIR, a fake engine, fake docker contexts, a working
// directory holding certificates for host node.example (certs/client/...),
// and nodes answering in memory (see memDial).
type nodesEnv struct {
	f         *Factory
	out, err  *bytes.Buffer
	eng       *fakeEngine
	contexts  *fakeContexts
	configDir string
	workDir   string
	set       *nodes.CertSet
	refuse    bool
}

func newNodesEnv(t *testing.T, platforms ...string) *nodesEnv {
	t.Helper()
	io, out, errOut := iostreams.Test()
	e := &nodesEnv{out: out, err: errOut, eng: &fakeEngine{platforms: platforms}, contexts: &fakeContexts{m: map[string]engine.DockerContext{}},
		configDir: filepath.Join(t.TempDir(), "xbuild"), workDir: t.TempDir()}
	set, err := nodes.GenerateCerts(nodes.CertOptions{Hosts: []string{"node.example"}, Days: 365})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Write(filepath.Join(e.workDir, "certs"), false); err != nil {
		t.Fatal(err)
	}
	e.set = set
	env := map[string]string{"XBUILD_CONFIG_DIR": e.configDir}
	e.f = NewFactory(io, func(k string) string { return env[k] })
	e.f.NewEngine = func(string) (engine.Engine, error) { return e.eng, nil }
	e.f.DockerContexts = e.contexts
	e.f.Getwd = func() (string, error) { return e.workDir, nil }
	e.f.Dial = e.memDial
	return e
}

// tlsArgs are the --tls-* flags for the environment's client material,
// relative to its working directory.
func (e *nodesEnv) tlsArgs() []string {
	return []string{"--tls-ca", "certs/client/ca.pem", "--tls-cert", "certs/client/cert.pem", "--tls-key", "certs/client/key.pem"}
}

// memDial answers in memory, without a socket: a node refusing the
// connection when refuse is set, else one that completes a mutual TLS
// handshake with the environment's server certificate when the client
// starts one, and then reads until the client hangs up.
func (e *nodesEnv) memDial(_ context.Context, network, addr string) (net.Conn, error) {
	if e.refuse {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: memAddr(addr), Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	}
	cert, err := tls.X509KeyPair(e.set.ServerCert, e.set.ServerKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.set.CACert)
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		_ = server.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
		if tc.Handshake() != nil {
			return
		}
		_, _ = io.Copy(io.Discard, tc)
	}()
	return client, nil
}

// run executes a command built by the factory and returns its exit code
// as Main would, with the error printed to the error stream.
func (e *nodesEnv) run(c *cobra.Command, args ...string) int {
	c.SetArgs(args)
	c.SetOut(e.f.IO.Out)
	c.SetErr(e.f.IO.ErrOut)
	c.SilenceUsage, c.SilenceErrors = true, true // as the root command does
	ctx := context.Background()
	return handleError(e.f.IO, c.ExecuteContext(ctx), ctx)
}

// contextsState is a copy of the docker contexts.
func (e *nodesEnv) contextsState() map[string]engine.DockerContext { return maps.Clone(e.contexts.m) }

// memAddr is the address of an in-memory connection.
type memAddr string

func (a memAddr) Network() string { return "tcp" }
func (a memAddr) String() string  { return string(a) }

// mustAdd registers a node the test starts from, then forgets what it
// printed and ran.
func (e *nodesEnv) mustAdd(t *testing.T, args ...string) {
	t.Helper()
	if code := e.run(NewNodesAddCmd(e.f), args...); code != ExitOK {
		t.Fatalf("nodes add %q: exit %d\n%s", args, code, e.err)
	}
	e.eng.calls, e.eng.probes = nil, nil
	e.err.Reset()
	e.out.Reset()
}

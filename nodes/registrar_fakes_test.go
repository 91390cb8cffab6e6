package nodes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
)

// fakeContexts is a docker context store in memory.
type fakeContexts struct {
	m       map[string]engine.DockerContext
	ensured []string
	// failEnsure makes Ensure fail after it has written the context,
	// failRestore makes Restore fail without doing anything.
	failEnsure, failRestore error
}

func newFakeContexts() *fakeContexts { return &fakeContexts{m: map[string]engine.DockerContext{}} }

func (c *fakeContexts) Ensure(dc engine.DockerContext) error {
	c.ensured = append(c.ensured, dc.Name)
	c.m[dc.Name] = dc
	return c.failEnsure
}

func (c *fakeContexts) Remove(name string) error { delete(c.m, name); return nil }

func (c *fakeContexts) Snapshot(name string) (engine.DockerContextSnapshot, error) {
	s := engine.DockerContextSnapshot{Name: name, Files: map[string]engine.SnapshotFile{}}
	if dc, ok := c.m[name]; ok {
		b, err := json.Marshal(dc)
		if err != nil {
			return s, err
		}
		s.Files["context.json"] = engine.SnapshotFile{Mode: 0o644, Data: b}
	}
	return s, nil
}

func (c *fakeContexts) Restore(s engine.DockerContextSnapshot) error {
	if c.failRestore != nil {
		return c.failRestore
	}
	delete(c.m, s.Name)
	f, ok := s.Files["context.json"]
	if !ok {
		return nil
	}
	var dc engine.DockerContext
	if err := json.Unmarshal(f.Data, &dc); err != nil {
		return err
	}
	c.m[s.Name] = dc
	return nil
}

// state is a copy of the contexts, for before/after comparisons.
func (c *fakeContexts) state() map[string]engine.DockerContext { return maps.Clone(c.m) }

// memDialer answers every dial in memory, without a socket: as a TLS node
// holding fx's server certificate (and requiring a client certificate
// from fx's CA) when fx is set, else as a plain socket; with refuse set,
// as a port nobody listens on.
type memDialer struct {
	fx     *certFixture
	refuse bool
	dials  atomic.Int32
}

func (d *memDialer) Dial(_ context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	if d.refuse {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: fakeAddr(addr), Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	}
	client, server := net.Pipe()
	var cfg *tls.Config
	if d.fx != nil {
		cert, err := tls.X509KeyPair(d.fx.set.ServerCert, d.fx.set.ServerKey)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(d.fx.set.CACert)
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	}
	go func() {
		defer server.Close()
		_ = server.SetDeadline(time.Now().Add(10 * time.Second))
		var c net.Conn = server
		if cfg != nil {
			tc := tls.Server(server, cfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
		}
		_, _ = io.Copy(io.Discard, c)
	}()
	return client, nil
}

// regFixture is a Registrar on a registry that already holds node amd1
// (synced into builder xbuild), with a recording buildx, a prober
// answering with reported, a dialer, fake docker contexts and a fake
// binfmt_misc that has QEMU for riscv64, s390x and amd64.
type regFixture struct {
	r        *Registrar
	store    *Store
	bx       *recorder
	prober   *fakeProber
	dial     *memDialer
	contexts *fakeContexts
	warnings []string
	certs    certFixture
	// other is a second, unrelated set some tests make
	other certFixture
	now   time.Time
}

func newRegFixture(t *testing.T, reported ...string) *regFixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	f := &regFixture{store: openStore(t), bx: &recorder{}, contexts: newFakeContexts(), now: now}
	f.certs = writeCerts(t, now, 365, "d1.example")
	f.dial = &memDialer{fx: &f.certs}
	f.prober = answer("v0.34.2", reported...)
	f.r = &Registrar{
		Store: f.store, Buildx: f.bx, Prober: f.prober, Dial: f.dial.Dial, Contexts: f.contexts,
		BinfmtDir: binfmtDir(t, "enabled", map[string]string{"qemu-riscv64": riscvByName, "qemu-s390x": s390x, "qemu-x86_64": x8664}),
		Now:       func() time.Time { return now },
		Warn:      func(msg string) { f.warnings = append(f.warnings, msg) },
	}
	if err := f.store.Put(Node{Name: "amd1", Endpoint: "unix:///run/amd1.sock", Platforms: []string{"linux/amd64"}, Added: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := SyncBuilder(context.Background(), f.bx, f.store, DefaultBuilder); err != nil {
		t.Fatal(err)
	}
	f.bx.calls = nil
	return f
}

// tls is the fixture's client TLS files.
func (f *regFixture) tls() *TLS {
	t := f.certs.tls
	return &t
}

// reset forgets the calls and warnings so far.
func (f *regFixture) reset() {
	f.bx.calls, f.warnings, f.contexts.ensured = nil, nil, nil
	f.prober.mu.Lock()
	f.prober.calls = nil
	f.prober.mu.Unlock()
	f.dial.dials.Store(0)
}

// mustAdd adds a node the test needs as a starting point.
func (f *regFixture) mustAdd(t *testing.T, req AddRequest) {
	t.Helper()
	if _, err := f.r.Add(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	f.reset()
}

var errBoom = errors.New("boom")

// recorder is a buildx that keeps builders as buildx does
// (enginetest.FakeBuildx), records the commands it accepts and refuses one
// whose arguments contain fail.
type recorder struct {
	enginetest.FakeBuildx
	calls []string
	fail  string
}

func (r *recorder) Buildx(ctx context.Context, inv engine.Invocation) error {
	line := strings.Join(inv.Args, " ")
	if r.fail != "" && strings.Contains(line, r.fail) {
		return errors.New("boom")
	}
	r.calls = append(r.calls, line)
	return r.FakeBuildx.Buildx(ctx, inv)
}

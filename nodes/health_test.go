package nodes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// fakeProber answers probes from a function and records the targets.
type fakeProber struct {
	mu    sync.Mutex
	calls []engine.ProbeTarget
	fn    func(ctx context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error)
}

func (p *fakeProber) Probe(ctx context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error) {
	p.mu.Lock()
	p.calls = append(p.calls, t)
	p.mu.Unlock()
	return p.fn(ctx, t)
}

func (p *fakeProber) targets() []engine.ProbeTarget {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]engine.ProbeTarget(nil), p.calls...)
}

// assertProbeTarget checks that the probe got the node's kind and endpoint
// and, for a TLS node, a configuration built from the node's files: its CA
// as the only root, its client certificate, the server name to verify.
func assertProbeTarget(t *testing.T, got engine.ProbeTarget, n Node) {
	t.Helper()
	if got.Kind != string(n.Kind) || got.Endpoint != n.Endpoint {
		t.Errorf("probe target %s %s, want %s %s", got.Kind, got.Endpoint, n.Kind, n.Endpoint)
	}
	if n.TLS == nil {
		if got.TLS != nil {
			t.Errorf("probe target of a node without TLS has a TLS configuration")
		}
		return
	}
	if got.TLS == nil {
		t.Fatalf("probe target of a TLS node has no TLS configuration")
	}
	ca, err := os.ReadFile(n.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	pair, err := tls.LoadX509KeyPair(n.TLS.Cert, n.TLS.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.TLS.RootCAs.Equal(roots) {
		t.Errorf("probe roots are not the node's CA %s", n.TLS.CA)
	}
	if len(got.TLS.Certificates) != 1 || !reflect.DeepEqual(got.TLS.Certificates[0].Certificate, pair.Certificate) {
		t.Errorf("probe client certificate is not the node's %s", n.TLS.Cert)
	}
	if want := n.clientTLS().ServerName; got.TLS.ServerName != want || got.TLS.MinVersion != tls.VersionTLS12 {
		t.Errorf("probe server name %q min version %x, want %q TLS 1.2", got.TLS.ServerName, got.TLS.MinVersion, want)
	}
}

func answer(version string, platforms ...string) *fakeProber {
	return &fakeProber{fn: func(context.Context, engine.ProbeTarget) (*engine.ProbeResult, error) {
		return &engine.ProbeResult{BuildKitVersion: version, Platforms: platforms}, nil
	}}
}

// serve runs a listener until the test ends, handing each connection to
// handle in its own goroutine.
func serve(t *testing.T, ln net.Listener, handle func(net.Conn)) string {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go handle(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// startTLSServer is a node that requires a client certificate signed by
// clientCA, and then reads until the client hangs up.
func startTLSServer(t *testing.T, fx certFixture, clientCA []byte, maxVersion uint16) string {
	t.Helper()
	return startTLSServerWith(t, fx, clientCA, func(c *tls.Config) { c.MaxVersion = maxVersion })
}

// startTLSServerWith is startTLSServer with the server's TLS config
// adjusted by tweak (ALPN protocols, versions).
func startTLSServerWith(t *testing.T, fx certFixture, clientCA []byte, tweak func(*tls.Config)) string {
	t.Helper()
	cert, err := tls.X509KeyPair(fx.set.ServerCert, fx.set.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCA)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	tweak(cfg)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	})
}

// startSilentServer accepts connections and never says a word.
func startSilentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// startHTTPServer answers anything with plain HTTP, like a dockerd without TLS.
func startHTTPServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Read(make([]byte, 1024))
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func tlsNode(name, addr string, files TLS) Node {
	return Node{Name: name, Kind: KindBuildKit, Endpoint: "tcp://" + addr, Platforms: []string{"linux/amd64"}, TLS: &files}
}

func TestCheckTLSMatrix(t *testing.T) {
	t.Parallel()
	now := time.Now()
	good := writeCerts(t, now, 365, "127.0.0.1")
	named := writeCerts(t, now, 365, "node.example")
	other := writeCerts(t, now, 365, "127.0.0.1")

	srvGood := startTLSServer(t, good, good.set.CACert, 0)
	srvNamed := startTLSServer(t, named, named.set.CACert, 0)
	stranger := writeCerts(t, now, 365, "stranger.example")
	srvStranger := startTLSServer(t, stranger, good.set.CACert, 0)
	srvRejects13 := startTLSServer(t, good, other.set.CACert, 0)
	srvRejects12 := startTLSServer(t, good, other.set.CACert, tls.VersionTLS12)
	srvGood12 := startTLSServer(t, good, good.set.CACert, tls.VersionTLS12)
	// dockerd's TLS listener speaks HTTP/1.1 only, and a Go server refuses a
	// client whose ALPN offer has no protocol in common with it
	srvHTTP1 := startTLSServerWith(t, good, good.set.CACert, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	silent := startSilentServer(t)
	plainHTTP := startHTTPServer(t)
	closed := closedPort(t)

	withServerName := named.tls
	withServerName.ServerName = "node.example"
	noKey := good.tls
	noKey.Key = filepath.Join(t.TempDir(), "key.pem")
	halfTLS := good.tls
	halfTLS.Cert = ""
	insecure := Node{Name: "plain", Kind: KindBuildKit, Endpoint: "tcp://" + silent, Platforms: []string{"linux/amd64"}, Insecure: true}

	rejectHint := "the node trusts a different CA than the one that signed " + good.tls.Cert + " (--tls-cert): start it with --tlscacert set to the CA in " + good.tls.CA + ", or use a client certificate from the node's CA"
	tests := []struct {
		name    string
		node    Node
		timeout time.Duration
		want    Health // Latency, cert dates and warnings are checked separately
		probed  bool
	}{
		{name: "ok", node: tlsNode("ok", srvGood, good.tls), probed: true,
			want: Health{Node: "ok", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/386"}}},
		{name: "ok tls 1.2", node: tlsNode("ok12", srvGood12, good.tls), probed: true,
			want: Health{Node: "ok12", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/386"}}},
		{name: "ok http/1.1 only (dockerd)", node: tlsNode("dockerd", srvHTTP1, good.tls), probed: true,
			want: Health{Node: "dockerd", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/386"}}},
		{name: "server name override", node: tlsNode("named", srvNamed, withServerName), probed: true,
			want: Health{Node: "named", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/386"}}},
		{name: "insecure", node: insecure, probed: true,
			want: Health{Node: "plain", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/386"}, Insecure: true}},
		{name: "wrong CA", node: tlsNode("wrongca", srvGood, other.tls), want: Health{Node: "wrongca", Status: StatusTLSError,
			Error: "the server certificate is not signed by the CA in " + other.tls.CA + " (--tls-ca)",
			Hint:  "use the ca.pem generated together with the node's server certificate (xbuild nodes certs), or start the node with a server certificate signed by this CA"}},
		{name: "wrong server name", node: tlsNode("named", srvNamed, named.tls), want: Health{Node: "named", Status: StatusTLSError,
			Error: "the server certificate is valid for node.example, not 127.0.0.1: pass --tls-servername node.example",
			Hint:  "or regenerate the node's certificates with xbuild nodes certs --host 127.0.0.1"}},
		{name: "a stranger's certificate with another name", node: tlsNode("strange", srvStranger, good.tls), want: Health{Node: "strange", Status: StatusTLSError,
			Error: "the server presented a certificate for stranger.example that is not signed by the CA in " + good.tls.CA + " (--tls-ca)",
			Hint:  "this is probably not your node: check the endpoint's address and port; if it is, start it with a server certificate from this CA (xbuild nodes certs)"}},
		{name: "client cert rejected tls 1.3", node: tlsNode("rej13", srvRejects13, good.tls), want: Health{Node: "rej13", Status: StatusTLSError,
			Error: "the node rejected xbuild's client certificate (tls: unknown certificate authority)", Hint: rejectHint}},
		{name: "client cert rejected tls 1.2", node: tlsNode("rej12", srvRejects12, good.tls), want: Health{Node: "rej12", Status: StatusTLSError,
			Error: "the node rejected xbuild's client certificate (tls: unknown certificate authority)", Hint: rejectHint}},
		{name: "client key missing", node: tlsNode("nokey", srvGood, noKey), want: Health{Node: "nokey", Status: StatusTLSError,
			Error: "--tls-key " + noKey.Key + " does not exist: check the path (" + hint + ")"}},
		{name: "client cert not given", node: tlsNode("half", srvGood, halfTLS), want: Health{Node: "half", Status: StatusTLSError,
			Error: "TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: --tls-cert",
			Hint:  "fix the node: xbuild nodes rm half, then xbuild nodes add with the right --tls-* flags"}},
		{name: "plain http", node: tlsNode("http", plainHTTP, good.tls), want: Health{Node: "http", Status: StatusTLSError,
			Error: "the node answered plain HTTP, not TLS",
			Hint:  "start dockerd with --tlsverify --tlscacert --tlscert --tlskey, or buildkitd with --tlscacert --tlscert --tlskey; or check the port"}},
		{name: "unreachable", node: tlsNode("closed", closed, good.tls), want: Health{Node: "closed", Status: StatusUnreachable,
			Error: "dial tcp " + closed + ": connect: connection refused",
			Hint:  "nothing listens on " + closed + ": is buildkitd (or dockerd) running there, on port " + closed[strings.LastIndex(closed, ":")+1:] + "?"}},
		{name: "timeout", node: tlsNode("silent", silent, good.tls), timeout: 300 * time.Millisecond, want: Health{Node: "silent", Status: StatusTimeout,
			Error: "TLS handshake with " + silent + " did not finish within 300ms",
			Hint:  "something accepts connections on " + silent + " but does not complete a TLS handshake: check the port and the daemon's health"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := answer("v0.34.2", "linux/amd64", "linux/x86_64", "linux/i386")
			c := &Checker{Prober: p, Timeout: 5 * time.Second}
			if tt.timeout != 0 {
				c.Timeout = tt.timeout
			}
			got := c.Check(context.Background(), []Node{tt.node})[0]
			if got.Status == StatusOK && (got.Latency <= 0 || got.Latency > c.Timeout) {
				t.Errorf("latency %v", got.Latency)
			}
			if tt.node.TLS != nil && got.Status == StatusOK {
				fx := good
				if tt.node.Name == "named" {
					fx = named
				}
				notAfter := fx.set.NotAfter.Truncate(time.Second)
				if !got.ServerCertNotAfter.Equal(notAfter) || !got.ClientCertNotAfter.Equal(notAfter) {
					t.Errorf("cert dates %v %v, want %v", got.ServerCertNotAfter, got.ClientCertNotAfter, notAfter)
				}
			}
			var warnings []string
			if tt.node.Insecure {
				warnings = []string{"node plain is insecure: tcp://" + silent + " is used without TLS, so anyone who can reach the port can use the daemon and read what it builds"}
			}
			assertStrings(t, got.Warnings, warnings)
			got.Latency, got.ServerCertNotAfter, got.ClientCertNotAfter, got.Warnings = 0, time.Time{}, time.Time{}, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check:\ngot  %+v\nwant %+v", got, tt.want)
			}
			calls := p.targets()
			if tt.probed != (len(calls) == 1) {
				t.Fatalf("prober called %d times, want probed=%v", len(calls), tt.probed)
			}
			if tt.probed {
				assertProbeTarget(t, calls[0], tt.node)
			}
		})
	}
}

func TestCheckDeadNodesInParallel(t *testing.T) {
	t.Parallel()
	fx := writeCerts(t, time.Now(), 365, "127.0.0.1")
	var list []Node
	for i := range 5 {
		list = append(list, tlsNode(fmt.Sprintf("dead%d", i), startSilentServer(t), fx.tls))
	}
	// One more whose daemon ignores its context entirely.
	sock := filepath.Join(t.TempDir(), "bk.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	list = append(list, Node{Name: "stuck", Kind: KindLocal, Endpoint: "unix://" + sock, Platforms: []string{"linux/amd64"}})
	stuck := &fakeProber{fn: func(context.Context, engine.ProbeTarget) (*engine.ProbeResult, error) {
		time.Sleep(5 * time.Second)
		return nil, errors.New("too late")
	}}
	const timeout = 300 * time.Millisecond
	c := &Checker{Prober: stuck, Timeout: timeout}
	start := time.Now()
	got := c.Check(context.Background(), list)
	elapsed := time.Since(start)
	if elapsed > 5*timeout {
		t.Errorf("checking %d dead nodes took %v; with a %v timeout per node, in parallel, it must stay well under %v", len(list), elapsed, timeout, 5*timeout)
	}
	for i, h := range got {
		if h.Node != list[i].Name || h.Status != StatusTimeout {
			t.Errorf("result %d: %s %s %q, want %s timeout", i, h.Node, h.Status, h.Error, list[i].Name)
		}
	}
	if want := "the daemon did not answer within 300ms"; got[5].Error != want {
		t.Errorf("stuck prober: %q, want %q", got[5].Error, want)
	}
	t.Logf("%d dead nodes checked in %v", len(list), elapsed)
}

func TestCheckParentContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Checker{Timeout: time.Second} // the real dialer gives up at once

	got := c.Check(ctx, []Node{{Name: "a", Kind: KindBuildKit, Endpoint: "tcp://10.0.0.2:1234", Platforms: []string{"linux/amd64"}, Insecure: true}})
	want := Health{Node: "a", Status: StatusError, Error: "dial tcp 10.0.0.2:1234: operation was canceled", Hint: "the check was cancelled before it finished", Insecure: true,
		Warnings: []string{"node a is insecure: tcp://10.0.0.2:1234 is used without TLS, so anyone who can reach the port can use the daemon and read what it builds"}}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("cancelled check:\ngot  %+v\nwant %+v", got[0], want)
	}
}

// failDial returns a dialer that fails with err without touching the network.
func failDial(err error) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: fakeAddr(addr), Err: err}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func TestCheckDialFailures(t *testing.T) {
	t.Parallel()
	arm1 := Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://10.0.0.2:1234", Platforms: []string{"linux/arm64"}, Insecure: true}
	dns := arm1
	dns.Endpoint = "tcp://arm1.invalid:1234"
	tests := []struct {
		name   string
		node   Node
		dial   func(context.Context, string, string) (net.Conn, error)
		status Status
		err    string
		hint   string
	}{
		{name: "refused", node: arm1, dial: failDial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}), status: StatusUnreachable,
			err: "dial tcp 10.0.0.2:1234: connect: connection refused", hint: "nothing listens on 10.0.0.2:1234: is buildkitd (or dockerd) running there, on port 1234?"},
		{name: "no route", node: arm1, dial: failDial(&os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH}), status: StatusUnreachable,
			err: "dial tcp 10.0.0.2:1234: connect: no route to host", hint: "no route to 10.0.0.2: check the address and the network"},
		{name: "dns", node: dns, dial: failDial(&net.DNSError{Err: "no such host", Name: "arm1.invalid", IsNotFound: true}), status: StatusUnreachable,
			err: "dial tcp arm1.invalid:1234: lookup arm1.invalid: no such host", hint: "the host name arm1.invalid does not resolve: check the endpoint"},
		{name: "timeout", node: arm1, dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done()
			return nil, &net.OpError{Op: "dial", Net: network, Addr: fakeAddr(addr), Err: ctx.Err()}
		}, status: StatusTimeout, err: "dial tcp 10.0.0.2:1234: no answer within 50ms", hint: "the host is down, or a firewall drops packets to 10.0.0.2:1234"},
		{name: "other", node: arm1, dial: failDial(errors.New("boom")), status: StatusUnreachable,
			err: "dial tcp 10.0.0.2:1234: boom", hint: "check that the node is up and reachable from this machine"},
	}
	for _, tt := range tests {
		p := answer("v1")
		c := &Checker{Prober: p, Dial: tt.dial, Timeout: 50 * time.Millisecond}
		got := c.Check(context.Background(), []Node{tt.node})[0]
		if got.Status != tt.status || got.Error != tt.err || got.Hint != tt.hint {
			t.Errorf("%s: got %s %q %q\nwant %s %q %q", tt.name, got.Status, got.Error, got.Hint, tt.status, tt.err, tt.hint)
		}
		if len(p.targets()) != 0 {
			t.Errorf("%s: probed a node that cannot be dialled", tt.name)
		}
	}
}

func TestCheckUnixAndKubernetes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "buildkitd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	missing := filepath.Join(dir, "nope.sock")
	list := []Node{
		{Name: "local", Kind: KindLocal, Endpoint: "unix://" + sock, Platforms: []string{"linux/amd64"}},
		{Name: "gone", Kind: KindLocal, Endpoint: "unix://" + missing, Platforms: []string{"linux/amd64"}},
		{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}},
		{Name: "broken", Kind: KindLocal, Endpoint: "local", Platforms: []string{"linux/amd64"}},
	}
	p := answer("v0.34.2", "linux/amd64")
	got := (&Checker{Prober: p, Timeout: 2 * time.Second}).Check(context.Background(), list)
	for i := range got {
		got[i].Latency = 0
	}
	want := []Health{
		{Node: "local", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64"}},
		{Node: "gone", Status: StatusUnreachable, Error: "dial unix " + missing + ": connect: no such file or directory", Hint: "the socket " + missing + " does not exist: is the daemon running?"},
		{Node: "k8s", Status: StatusUnsupported, Warnings: []string{"node k8s is not health-checked: buildx starts its BuildKit pods in namespace buildkit at build time (kubectl -n buildkit get pods shows them)"}},
		{Node: "broken", Status: StatusError, Error: `endpoint "local" has no scheme: use tcp://HOST:PORT (e.g. tcp://arm1.example.com:1234 for buildkitd, tcp://arm1.example.com:2376 for dockerd), unix:///run/buildkit/buildkitd.sock, or kubernetes://NAMESPACE[?context=KUBECONTEXT]`, Hint: "fix the node: xbuild nodes rm broken, then xbuild nodes add"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Check:\ngot  %+v\nwant %+v", got, want)
	}
	if !got[2].Healthy() {
		t.Error("an unsupported (kubernetes) node must count as healthy")
	}
	if calls := p.targets(); len(calls) != 1 {
		t.Errorf("probes: %+v", calls)
	} else {
		assertProbeTarget(t, calls[0], list[0])
	}
}

func TestCheckProbeOutcomes(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "bk.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	node := Node{Name: "n", Kind: KindLocal, Endpoint: "unix://" + sock, Platforms: []string{"linux/arm64", "linux/amd64"}}
	tests := []struct {
		name string
		res  *engine.ProbeResult
		err  error
		want Health
	}{
		{name: "ok, platform missing", res: &engine.ProbeResult{BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/amd64/v2"}},
			want: Health{Node: "n", Status: StatusOK, BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/amd64/v2"},
				Warnings: []string{"node n is registered for linux/arm64, but its daemon reports only linux/amd64, linux/amd64/v2: check the node's platforms"}}},
		{name: "no result", want: Health{Node: "n", Status: StatusError, Error: "the daemon returned no result", Hint: "the daemon answered with an error: check its log"}},
		{name: "tls", err: errors.New("rpc error: code = Unavailable desc = connection error: transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"),
			want: Health{Node: "n", Status: StatusTLSError, Error: "rpc error: code = Unavailable desc = connection error: transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority", Hint: "check the node's TLS material (xbuild nodes inspect) and the daemon's --tlscacert"}},
		{name: "refused", err: errors.New("connection error: dial unix " + sock + ": connect: connection refused"),
			want: Health{Node: "n", Status: StatusUnreachable, Error: "connection error: dial unix " + sock + ": connect: connection refused", Hint: "the daemon stopped listening during the check: is it restarting?"}},
		{name: "deadline", err: errors.New("rpc error: code = DeadlineExceeded desc = context deadline exceeded"),
			want: Health{Node: "n", Status: StatusTimeout, Error: "the daemon did not answer within 2s", Hint: "the connection works but the daemon did not answer within 2s: check its health and load"}},
		{name: "other", err: errors.New("rpc error: code = Unimplemented desc = unknown service moby.buildkit.v1.Control"),
			want: Health{Node: "n", Status: StatusError, Error: "rpc error: code = Unimplemented desc = unknown service moby.buildkit.v1.Control", Hint: "the daemon answered with an error: check its log"}},
	}
	for _, tt := range tests {
		p := &fakeProber{fn: func(context.Context, engine.ProbeTarget) (*engine.ProbeResult, error) { return tt.res, tt.err }}
		got := (&Checker{Prober: p, Timeout: 2 * time.Second}).Check(context.Background(), []Node{node})[0]
		got.Latency = 0
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestCheckExpiryWarnings(t *testing.T) {
	t.Parallel()
	now := time.Now()
	fx := writeCerts(t, now, 10, "127.0.0.1")
	addr := startTLSServer(t, fx, fx.set.CACert, 0)
	c := &Checker{Timeout: 5 * time.Second, Now: func() time.Time { return now }}
	got := c.Check(context.Background(), []Node{tlsNode("soon", addr, fx.tls)})[0]
	expires := day(fx.set.NotAfter)
	assertStrings(t, got.Warnings, []string{
		"--tls-cert " + fx.tls.Cert + ": the client certificate expires on " + expires + " (in 9 days): renew it with xbuild nodes certs",
		"--tls-ca " + fx.tls.CA + ": the CA certificate expires on " + expires + " (in 9 days): renew it with xbuild nodes certs",
		"the server certificate of node soon expires on " + expires + " (in 9 days): renew it with xbuild nodes certs and restart the daemon with it",
	})
	if got.Status != StatusOK {
		t.Errorf("status %s: %s", got.Status, got.Error)
	}
}

func TestHealthy(t *testing.T) {
	t.Parallel()
	want := map[Status]bool{StatusOK: true, StatusUnsupported: true, StatusUnreachable: false, StatusTLSError: false, StatusTimeout: false, StatusError: false, "": false}
	for s, w := range want {
		if got := (Health{Status: s}).Healthy(); got != w {
			t.Errorf("Health{%q}.Healthy() = %v", s, got)
		}
	}
}

// The load the probe reports (running builds) is the health's, unknown
// staying unknown; a node that fails its check has no load.
func TestCheckCarriesRunningBuilds(t *testing.T) {
	t.Parallel()
	silent := startSilentServer(t)
	three := 3
	tests := []struct {
		name    string
		running *int
		fail    bool
		want    string
	}{
		{name: "three running", running: &three, want: "3"},
		{name: "unknown", want: "unknown"},
		{name: "probe fails", running: &three, fail: true, want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &fakeProber{fn: func(context.Context, engine.ProbeTarget) (*engine.ProbeResult, error) {
				if tt.fail {
					return nil, errors.New("daemon error")
				}
				return &engine.ProbeResult{BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64"}, Running: tt.running}, nil
			}}
			n := Node{Name: "n", Kind: KindBuildKit, Endpoint: "tcp://" + silent, Platforms: []string{"linux/amd64"}, Insecure: true}
			h := (&Checker{Prober: p, Timeout: 5 * time.Second}).Check(context.Background(), []Node{n})[0]
			got := "unknown"
			if h.Running != nil {
				got = fmt.Sprint(*h.Running)
			}
			if got != tt.want || h.RunningBuilds() != map[string]int{"3": 3, "unknown": 0}[tt.want] {
				t.Errorf("running %s (RunningBuilds %d), want %s; health %+v", got, h.RunningBuilds(), tt.want, h)
			}
		})
	}
}

package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	apitypes "github.com/moby/buildkit/api/types"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// testPKI is a CA with one server certificate for 127.0.0.1 and one
// client certificate, as `xbuild nodes certs` makes them.
type testPKI struct {
	ca             *x509.Certificate
	caKey          *ecdsa.PrivateKey
	server, client tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	p := testPKI{}
	p.caKey = genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, p.caKey.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.server = p.leaf(t, 2, x509.ExtKeyUsageServerAuth)
	p.client = p.leaf(t, 3, x509.ExtKeyUsageClientAuth)
	return p
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p testPKI) leaf(t *testing.T, serial int64, eku x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "probe test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (p testPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

// serverConfig requires a client certificate from this CA.
func (p testPKI) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool()}
}

// clientConfig is what nodes hands the probe.
func (p testPKI) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.pool(), Certificates: []tls.Certificate{p.client}, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// fakeControl answers ListWorkers like a buildkitd on amd64 with QEMU, and
// its build history with the active records in active (noHistory: like a
// daemon without the history API).
type fakeControl struct {
	controlapi.UnimplementedControlServer
	active    []string
	noHistory bool
}

func (f fakeControl) ListenBuildHistory(req *controlapi.BuildHistoryRequest, srv controlapi.Control_ListenBuildHistoryServer) error {
	if f.noHistory {
		return f.UnimplementedControlServer.ListenBuildHistory(req, srv)
	}
	if !req.ActiveOnly || !req.EarlyExit {
		return fmt.Errorf("the probe must ask for active records only, with early exit: got %+v", req)
	}
	for _, ref := range f.active {
		if err := srv.Send(&controlapi.BuildHistoryEvent{Type: controlapi.BuildHistoryEventType_STARTED, Record: &controlapi.BuildHistoryRecord{Ref: ref}}); err != nil {
			return err
		}
	}
	return nil
}

func (fakeControl) ListWorkers(context.Context, *controlapi.ListWorkersRequest) (*controlapi.ListWorkersResponse, error) {
	return &controlapi.ListWorkersResponse{Record: []*apitypes.WorkerRecord{{
		ID:              "w1",
		Platforms:       []*pb.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}},
		BuildkitVersion: &apitypes.BuildkitVersion{Version: "v0.34.2"},
	}}}, nil
}

func startBuildKit(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	return startFakeBuildKit(t, cfg, fakeControl{active: []string{"build-a", "build-b"}})
}

func startFakeBuildKit(t *testing.T, cfg *tls.Config, ctl fakeControl) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	controlapi.RegisterControlServer(s, ctl)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return "tcp://" + ln.Addr().String()
}

func startDockerd(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/version") {
			_ = json.NewEncoder(w).Encode(map[string]string{"Version": "29.1.0", "Os": "linux", "Arch": "arm64", "ApiVersion": "1.52"})
			return
		}
		w.Header().Set("Api-Version", "1.52")
		_, _ = w.Write([]byte("OK"))
	}))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

// The probe speaks mutual TLS from the configuration it is given, with no
// file: a BuildKit daemon over gRPC and a Docker engine over HTTPS.
func TestProbeMutualTLS(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	bk := startBuildKit(t, pki.serverConfig())
	idle := startFakeBuildKit(t, pki.serverConfig(), fakeControl{})
	old := startFakeBuildKit(t, pki.serverConfig(), fakeControl{noHistory: true})
	dockerd := startDockerd(t, pki.serverConfig())
	noClientCert := pki.clientConfig()
	noClientCert.Certificates = nil
	tests := []struct {
		name   string
		target ProbeTarget
		want   *ProbeResult
		err    string
	}{
		{name: "buildkit", target: ProbeTarget{Kind: "buildkit", Endpoint: bk, TLS: pki.clientConfig()},
			want: &ProbeResult{BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/arm64"}, Running: intPtr(2)}},
		{name: "buildkit, idle", target: ProbeTarget{Kind: "buildkit", Endpoint: idle, TLS: pki.clientConfig()},
			want: &ProbeResult{BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/arm64"}, Running: intPtr(0)}},
		// health does not depend on the history: the load is unknown
		{name: "buildkit without build history", target: ProbeTarget{Kind: "buildkit", Endpoint: old, TLS: pki.clientConfig()},
			want: &ProbeResult{BuildKitVersion: "v0.34.2", Platforms: []string{"linux/amd64", "linux/arm64"}}},
		{name: "buildkit, server from another CA", target: ProbeTarget{Kind: "buildkit", Endpoint: bk, TLS: other.clientConfig()},
			err: "certificate signed by unknown authority"},
		// the rejection comes as an alert or a broken pipe, as TLS 1.3 timing has it
		{name: "buildkit, no client certificate", target: ProbeTarget{Kind: "buildkit", Endpoint: bk, TLS: noClientCert},
			err: "failed to list workers: Unavailable"},
		{name: "docker", target: ProbeTarget{Kind: "docker", Endpoint: dockerd, TLS: pki.clientConfig()},
			want: &ProbeResult{BuildKitVersion: "docker 29.1.0", Platforms: []string{"linux/arm64"}}},
		{name: "docker, server from another CA", target: ProbeTarget{Kind: "docker", Endpoint: dockerd, TLS: other.clientConfig()},
			err: "certificate signed by unknown authority"},
		{name: "docker, no client certificate", target: ProbeTarget{Kind: "docker", Endpoint: dockerd, TLS: noClientCert},
			err: "certificate required"},
	}
	e := &engine{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			given := tt.target.TLS.Clone()
			got, err := e.Probe(ctx, tt.target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Probe error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Probe = %+v (running %s), want %+v (running %s)", got, fmtRunning(got.Running), tt.want, fmtRunning(tt.want.Running))
			}
			if !reflect.DeepEqual(tt.target.TLS.NextProtos, given.NextProtos) || tt.target.TLS.ServerName != given.ServerName {
				t.Errorf("the probe changed the caller's TLS configuration: NextProtos %q, ServerName %q", tt.target.TLS.NextProtos, tt.target.TLS.ServerName)
			}
		})
	}
}

func intPtr(n int) *int { return &n }

func fmtRunning(n *int) string {
	if n == nil {
		return "unknown"
	}
	return fmt.Sprint(*n)
}

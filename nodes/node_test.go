package nodes

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	const allowed = "use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'"
	tests := []struct{ in, err string }{
		{in: "arm1"},
		{in: "Graviton_3.eu-west-1"},
		{in: "a"},
		{in: strings.Repeat("x", 63)},
		{in: "9lives"},
		{in: "", err: "name is empty: " + allowed},
		{in: strings.Repeat("x", 64), err: `name "` + strings.Repeat("x", 64) + `" is 64 characters long: ` + allowed},
		{in: "-arm", err: `name "-arm" starts with "-": ` + allowed},
		{in: ".arm", err: `name ".arm" starts with ".": ` + allowed},
		{in: "arm 1", err: `name "arm 1" contains ' ': ` + allowed},
		{in: "../etc", err: `name "../etc" starts with ".": ` + allowed},
		{in: "a/b", err: `name "a/b" contains '/': ` + allowed},
		{in: "ärm", err: `name "ärm" contains 'ä': ` + allowed},
	}
	for _, tt := range tests {
		if got := errString(ValidateName(tt.in)); got != tt.err {
			t.Errorf("ValidateName(%q) = %q\nwant %q", tt.in, got, tt.err)
		}
	}
}

func TestInferKind(t *testing.T) {
	t.Parallel()
	tcp, unix, kube := Endpoint{Scheme: "tcp", Host: "h", Port: 1}, Endpoint{Scheme: "unix", Path: "/s"}, Endpoint{Scheme: "kubernetes", Namespace: "bk"}
	tests := []struct {
		ep       Endpoint
		explicit string
		want     Kind
		err      string
	}{
		{ep: tcp, want: KindBuildKit},
		{ep: unix, want: KindLocal},
		{ep: kube, want: KindKubernetes},
		{ep: tcp, explicit: "docker", want: KindDocker},
		{ep: unix, explicit: "docker", want: KindDocker},
		{ep: unix, explicit: "buildkit", want: KindBuildKit},
		{ep: kube, explicit: "kubernetes", want: KindKubernetes},
		{ep: tcp, explicit: "local", err: "a local node needs a unix:// endpoint, not tcp://h:1"},
		{ep: tcp, explicit: "kubernetes", err: "a kubernetes node needs a kubernetes:// endpoint, not tcp://h:1"},
		{ep: kube, explicit: "buildkit", err: "a buildkit node needs a tcp:// or unix:// endpoint, not kubernetes://bk"},
		{ep: tcp, explicit: "Docker", err: `kind "Docker" is not known: use buildkit, docker, kubernetes, local`},
		{ep: Endpoint{}, err: `cannot tell the node kind of endpoint "": use tcp://HOST:PORT (e.g. tcp://arm1.example.com:1234 for buildkitd, tcp://arm1.example.com:2376 for dockerd), unix:///run/buildkit/buildkitd.sock, or kubernetes://NAMESPACE[?context=KUBECONTEXT]`},
	}
	for _, tt := range tests {
		got, err := InferKind(tt.ep, tt.explicit)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("InferKind(%v, %q) = %q, %q; want %q, %q", tt.ep, tt.explicit, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestCheckTransport(t *testing.T) {
	t.Parallel()
	tcp, _ := ParseEndpoint("tcp://arm1:1234")
	unix, _ := ParseEndpoint("unix:///run/buildkit/buildkitd.sock")
	full := &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem"}
	tests := []struct {
		name     string
		ep       Endpoint
		tls      *TLS
		insecure bool
		err      string
	}{
		{name: "tcp with tls", ep: tcp, tls: full},
		{name: "tcp insecure", ep: tcp, insecure: true},
		{name: "unix plain", ep: unix},
		{name: "tcp bare", ep: tcp, err: "tcp://arm1:1234 is reached over TCP, which needs mutual TLS: pass --tls-ca, --tls-cert and --tls-key (xbuild nodes certs --out DIR --host HOST writes a matching set: pass DIR/client/ca.pem, DIR/client/cert.pem and DIR/client/key.pem), or --insecure to accept an unencrypted, unauthenticated connection that anyone who can reach the port can use"},
		{name: "tcp both", ep: tcp, tls: full, insecure: true, err: "--insecure and --tls-* exclude each other: with TLS material the node is verified, so drop --insecure"},
		{name: "unix tls", ep: unix, tls: full, err: "--tls-* flags apply only to tcp:// endpoints, not unix:///run/buildkit/buildkitd.sock"},
		{name: "unix insecure", ep: unix, insecure: true, err: "--insecure applies only to tcp:// endpoints, not unix:///run/buildkit/buildkitd.sock"},
		{name: "missing key", ep: tcp, tls: &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem"}, err: "TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: --tls-key"},
		{name: "missing two", ep: tcp, tls: &TLS{Cert: "/c/cert.pem"}, err: "TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: --tls-ca, --tls-key"},
		{name: "relative", ep: tcp, tls: &TLS{CA: "/c/ca.pem", Cert: "cert.pem", Key: "/c/key.pem"}, err: "--tls-cert cert.pem: give an absolute path (the registry is read from any directory)"},
	}
	for _, tt := range tests {
		if got := errString(CheckTransport(tt.ep, tt.tls, tt.insecure)); got != tt.err {
			t.Errorf("%s: CheckTransport = %q\nwant %q", tt.name, got, tt.err)
		}
	}
}

func TestNormalized(t *testing.T) {
	t.Parallel()
	tlsFiles := &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem"}
	added := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		in   Node
		want Node
		err  string
	}{
		{
			name: "buildkit defaults",
			in:   Node{Name: "arm1", Endpoint: "TCP://Arm1:1234/", Platforms: []string{"linux/aarch64", "linux/arm64", "linux/arm"}, TLS: tlsFiles, Added: added},
			want: Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://arm1:1234", Platforms: []string{"linux/arm/v7", "linux/arm64"}, TLS: tlsFiles, Builder: "xbuild", Added: added.UTC(), SchemaVersion: 1},
		},
		{
			name: "local",
			in:   Node{Name: "here", Endpoint: "unix:///run/buildkit/buildkitd.sock", Platforms: []string{"linux/amd64"}, Builder: "ci", TLS: &TLS{}},
			want: Node{Name: "here", Kind: KindLocal, Endpoint: "unix:///run/buildkit/buildkitd.sock", Platforms: []string{"linux/amd64"}, Builder: "ci", SchemaVersion: 1},
		},
		{
			name: "kubernetes with matching namespace option",
			in:   Node{Name: "k8s", Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}, DriverOpts: map[string]string{"namespace": "buildkit", "replicas": "2"}},
			want: Node{Name: "k8s", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"}, DriverOpts: map[string]string{"namespace": "buildkit", "replicas": "2"}, Builder: "xbuild", SchemaVersion: 1},
		},
		{
			name: "emulated insecure docker",
			in:   Node{Name: "qemu", Kind: KindDocker, Endpoint: "tcp://10.0.0.9:2375", Platforms: []string{"linux/riscv64"}, Emulated: true, Insecure: true},
			want: Node{Name: "qemu", Kind: KindDocker, Endpoint: "tcp://10.0.0.9:2375", Platforms: []string{"linux/riscv64"}, Emulated: true, Insecure: true, Builder: "xbuild", SchemaVersion: 1},
		},
		{name: "bad name", in: Node{Name: "-x"}, err: `node name "-x" starts with "-": use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'`},
		{name: "bad endpoint", in: Node{Name: "x", Endpoint: "arm1:1234"}, err: `node x: endpoint "arm1:1234" has no scheme: did you mean tcp://arm1:1234?`},
		{name: "kind mismatch", in: Node{Name: "x", Kind: KindLocal, Endpoint: "tcp://a:1"}, err: "node x: a local node needs a unix:// endpoint, not tcp://a:1"},
		{name: "no platforms", in: Node{Name: "x", Endpoint: "unix:///s"}, err: "node x: no platforms: pass --platform with the platforms the node builds, e.g. --platform linux/arm64"},
		{name: "bad platform", in: Node{Name: "x", Endpoint: "unix:///s", Platforms: []string{"arm64"}}, err: `node x: platform "arm64" has no OS: use os/arch, e.g. linux/arm64`},
		{name: "bad builder", in: Node{Name: "x", Endpoint: "unix:///s", Platforms: []string{"linux/amd64"}, Builder: "my builder"}, err: `node x: builder name "my builder" contains ' ': use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'`},
		{name: "tcp without tls", in: Node{Name: "x", Endpoint: "tcp://127.0.0.1:1234", Platforms: []string{"linux/amd64"}}, err: "node x: tcp://127.0.0.1:1234 is reached over TCP, which needs mutual TLS: pass --tls-ca, --tls-cert and --tls-key (xbuild nodes certs --out DIR --host HOST writes a matching set: pass DIR/client/ca.pem, DIR/client/cert.pem and DIR/client/key.pem), or --insecure to accept an unencrypted, unauthenticated connection that anyone who can reach the port can use"},
		{name: "reserved driver opt", in: Node{Name: "x", Endpoint: "tcp://a:1", Platforms: []string{"linux/amd64"}, TLS: tlsFiles, DriverOpts: map[string]string{"cacert": "/x"}}, err: "node x: driver option cacert is set by xbuild from --tls-ca: pass that flag instead of --driver-opt cacert=..."},
		{name: "bad driver opt key", in: Node{Name: "x", Endpoint: "unix:///s", Platforms: []string{"linux/amd64"}, DriverOpts: map[string]string{"a b": "1"}}, err: `node x: driver option key "a b" is not a word: use --driver-opt key=value`},
		{name: "driver opt newline", in: Node{Name: "x", Endpoint: "unix:///s", Platforms: []string{"linux/amd64"}, DriverOpts: map[string]string{"image": "a\nb"}}, err: "node x: driver option image has a line break in its value"},
		{name: "namespace clash", in: Node{Name: "x", Endpoint: "kubernetes://bk", Platforms: []string{"linux/amd64"}, DriverOpts: map[string]string{"namespace": "other"}}, err: "node x: driver option namespace=other contradicts the endpoint's namespace bk: the namespace comes from kubernetes://NAMESPACE"},
		{name: "newer schema", in: Node{Name: "x", Endpoint: "unix:///s", Platforms: []string{"linux/amd64"}, SchemaVersion: 2}, err: "node x: schema version 2 was written by a newer xbuild (this one reads up to 1): upgrade xbuild"},
	}
	for _, tt := range tests {
		got, err := tt.in.Normalized()
		if errString(err) != tt.err {
			t.Errorf("%s: error = %q\nwant %q", tt.name, errString(err), tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestClientTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    Node
		want TLS
	}{
		{
			n:    Node{Kind: KindBuildKit, Endpoint: "tcp://arm1:1234", TLS: &TLS{CA: "/ca", Cert: "/cert", Key: "/key"}},
			want: TLS{CA: "/ca", Cert: "/cert", Key: "/key", ServerName: "arm1"},
		},
		{
			n:    Node{Kind: KindDocker, Endpoint: "tcp://10.0.0.2:2376", TLS: &TLS{CA: "/ca", Cert: "/cert", Key: "/key", ServerName: "arm1.internal"}},
			want: TLS{CA: "/ca", Cert: "/cert", Key: "/key", ServerName: "arm1.internal"},
		},
		{
			n:    Node{Kind: KindLocal, Endpoint: "unix:///run/buildkit/buildkitd.sock"},
			want: TLS{},
		},
	}
	for _, tt := range tests {
		if got := tt.n.clientTLS(); got != tt.want {
			t.Errorf("clientTLS() = %+v, want %+v", got, tt.want)
		}
	}
	if tests[0].n.TLS.ServerName != "" {
		t.Errorf("clientTLS changed the node's own TLS: %+v", *tests[0].n.TLS)
	}
}

func TestProbeTarget(t *testing.T) {
	t.Parallel()
	fx := writeCerts(t, t0, 365, "arm1.example")
	mat, err := LoadTLS(fx.tls, t0)
	if err != nil {
		t.Fatal(err)
	}
	files := fx.tls
	n := Node{Kind: KindBuildKit, Endpoint: "tcp://arm1.example:1234", TLS: &files}
	clock := func() time.Time { return t0 }
	got := n.probeTarget(mat, clock)
	if got.Kind != "buildkit" || got.Endpoint != "tcp://arm1.example:1234" || got.TLS == nil {
		t.Fatalf("probeTarget = %+v", got)
	}
	assertProbeTarget(t, got, n)
	if got.TLS.Time == nil || !got.TLS.Time().Equal(t0) {
		t.Error("the probe's TLS clock is not the checker's")
	}
	local := Node{Kind: KindLocal, Endpoint: "unix:///run/buildkit/buildkitd.sock"}
	if got := local.probeTarget(nil, clock); got != (engine.ProbeTarget{Kind: "local", Endpoint: "unix:///run/buildkit/buildkitd.sock"}) {
		t.Errorf("probeTarget without TLS = %+v", got)
	}
}

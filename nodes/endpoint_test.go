package nodes

import (
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	const examples = "use tcp://HOST:PORT (e.g. tcp://arm1.example.com:1234 for buildkitd, tcp://arm1.example.com:2376 for dockerd), unix:///run/buildkit/buildkitd.sock, or kubernetes://NAMESPACE[?context=KUBECONTEXT]"
	tests := []struct {
		in        string
		want      Endpoint
		canonical string
		address   string
		remote    bool
		err       string
	}{
		{in: "tcp://10.0.0.2:1234", want: Endpoint{Scheme: "tcp", Host: "10.0.0.2", Port: 1234}, canonical: "tcp://10.0.0.2:1234", address: "10.0.0.2:1234", remote: true},
		{in: "tcp://127.0.0.1:1234", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 1234}, canonical: "tcp://127.0.0.1:1234", address: "127.0.0.1:1234", remote: true},
		{in: "TCP://Arm1.Example.com:2376/", want: Endpoint{Scheme: "tcp", Host: "arm1.example.com", Port: 2376}, canonical: "tcp://arm1.example.com:2376", address: "arm1.example.com:2376", remote: true},
		{in: "tcp://[::1]:1234", want: Endpoint{Scheme: "tcp", Host: "::1", Port: 1234}, canonical: "tcp://[::1]:1234", address: "[::1]:1234", remote: true},
		{in: "unix:///run/buildkit/buildkitd.sock", want: Endpoint{Scheme: "unix", Path: "/run/buildkit/buildkitd.sock"}, canonical: "unix:///run/buildkit/buildkitd.sock", address: "/run/buildkit/buildkitd.sock"},
		{in: "unix:///run/../var/run/docker.sock", want: Endpoint{Scheme: "unix", Path: "/var/run/docker.sock"}, canonical: "unix:///var/run/docker.sock", address: "/var/run/docker.sock"},
		{in: "kubernetes://buildkit", want: Endpoint{Scheme: "kubernetes", Namespace: "buildkit"}, canonical: "kubernetes://buildkit"},
		{in: "kubernetes://buildkit?context=arn:aws:eks:eu-west-1:1:cluster/ci", want: Endpoint{Scheme: "kubernetes", Namespace: "buildkit", Context: "arn:aws:eks:eu-west-1:1:cluster/ci"}, canonical: "kubernetes://buildkit?context=arn:aws:eks:eu-west-1:1:cluster/ci"},
		{in: "kubernetes://buildkit?context=a%26b", want: Endpoint{Scheme: "kubernetes", Namespace: "buildkit", Context: "a&b"}, canonical: "kubernetes://buildkit?context=a%26b"},

		{in: "", err: "endpoint is empty: " + examples},
		{in: "10.0.0.2:1234", err: `endpoint "10.0.0.2:1234" has no scheme: did you mean tcp://10.0.0.2:1234?`},
		{in: "arm1", err: `endpoint "arm1" has no scheme: ` + examples},
		{in: "tcp://arm1", err: `endpoint "tcp://arm1" has no port: add it, e.g. tcp://arm1:1234 (buildkitd) or tcp://arm1:2376 (dockerd)`},
		{in: "tcp://[::1]", err: `endpoint "tcp://[::1]" has no port: add it, e.g. tcp://[::1]:1234 (buildkitd) or tcp://[::1]:2376 (dockerd)`},
		{in: "tcp://:1234", err: `endpoint "tcp://:1234" has no host: ` + examples},
		{in: "tcp://arm1:0", err: `endpoint "tcp://arm1:0": port "0" is not a number from 1 to 65535`},
		{in: "tcp://arm1:70000", err: `endpoint "tcp://arm1:70000": port "70000" is not a number from 1 to 65535`},
		{in: "tcp://u:p@arm1:1234", err: `endpoint "tcp://u:p@arm1:1234" must not carry a user or password: ` + examples},
		{in: "tcp://arm1:1234/x", err: `endpoint "tcp://arm1:1234/x" must be just tcp://HOST:PORT, without a path or query: ` + examples},
		{in: "https://arm1:2376", err: `endpoint "https://arm1:2376": use tcp://arm1:2376 instead of https:// (TLS is configured with --tls-ca, --tls-cert and --tls-key)`},
		{in: "ssh://me@arm1", err: `endpoint "ssh://me@arm1": ssh:// endpoints are not supported; expose buildkitd or dockerd over TCP with mutual TLS (xbuild nodes certs) and ` + examples},
		{in: "npipe:////./pipe/docker", err: `endpoint "npipe:////./pipe/docker" has unsupported scheme "npipe": ` + examples},
		{in: "unix://run/buildkit.sock", err: `endpoint "unix://run/buildkit.sock": a unix socket path must be absolute, with three slashes: unix:///run/buildkit.sock`},
		{in: "unix:", err: `endpoint "unix:" has no scheme: ` + examples},
		{in: "unix://", err: `endpoint "unix://" has no absolute socket path: e.g. unix:///run/buildkit/buildkitd.sock`},
		{in: "kubernetes://", err: `endpoint "kubernetes://" has no namespace: e.g. kubernetes://buildkit or kubernetes://buildkit?context=prod`},
		{in: "kubernetes://Build_Kit", err: `endpoint "kubernetes://Build_Kit": namespace "Build_Kit" is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63 characters)`},
		{in: "kubernetes://buildkit?ctx=prod", err: `endpoint "kubernetes://buildkit?ctx=prod": only one ?context=KUBECONTEXT is accepted after the namespace`},
		{in: "kubernetes://buildkit/pods", err: `endpoint "kubernetes://buildkit/pods" must be kubernetes://NAMESPACE[?context=KUBECONTEXT]`},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if errString(err) != tt.err {
			t.Errorf("ParseEndpoint(%q) error = %q\nwant %q", tt.in, errString(err), tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if got != tt.want || got.String() != tt.canonical || got.Address() != tt.address || got.IsRemote() != tt.remote {
			t.Errorf("ParseEndpoint(%q) = %#v (%q, %q, remote %v); want %#v (%q, %q, remote %v)", tt.in, got, got.String(), got.Address(), got.IsRemote(), tt.want, tt.canonical, tt.address, tt.remote)
		}
		again, err := ParseEndpoint(got.String())
		if err != nil || again != got {
			t.Errorf("canonical form %q does not round-trip: %#v, %v", got.String(), again, err)
		}
	}
}

package nodes

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// endpointExamples is appended to every endpoint error.
const endpointExamples = "use tcp://HOST:PORT (e.g. tcp://arm1.example.com:1234 for buildkitd, tcp://arm1.example.com:2376 for dockerd), unix:///run/buildkit/buildkitd.sock, or kubernetes://NAMESPACE[?context=KUBECONTEXT]"

// Endpoint is a parsed node endpoint. Three forms are accepted:
//
//	tcp://HOST:PORT                      buildkitd or dockerd over TCP (TLS required)
//	unix:///ABSOLUTE/PATH                a local buildkitd or docker socket
//	kubernetes://NAMESPACE[?context=CTX] BuildKit pods the buildx kubernetes driver manages
//
// The port of a tcp endpoint is required: buildkitd (1234) and dockerd
// (2376) differ, and a guessed port fails later with a less clear error.
type Endpoint struct {
	// Scheme is tcp, unix or kubernetes.
	Scheme string
	// Host and Port are set for tcp; Host has no brackets for IPv6.
	Host string
	Port int
	// Path is the socket path for unix.
	Path string
	// Namespace and Context are set for kubernetes; Context is the kubeconfig
	// context ("" means the current one).
	Namespace string
	Context   string
}

// ParseEndpoint parses and validates a node endpoint (see Endpoint).
func ParseEndpoint(raw string) (Endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Endpoint{}, fmt.Errorf("endpoint is empty: %s", endpointExamples)
	}
	if !strings.Contains(raw, "://") {
		if h, p, err := net.SplitHostPort(raw); err == nil && h != "" && isPort(p) {
			return Endpoint{}, fmt.Errorf("endpoint %q has no scheme: did you mean tcp://%s?", raw, raw)
		}
		return Endpoint{}, fmt.Errorf("endpoint %q has no scheme: %s", raw, endpointExamples)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q is not a valid URL: %s", raw, endpointExamples)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp":
		return parseTCP(raw, u)
	case "unix":
		return parseUnix(raw, u)
	case "kubernetes":
		return parseKube(raw, u)
	case "http", "https":
		return Endpoint{}, fmt.Errorf("endpoint %q: use tcp://%s instead of %s:// (TLS is configured with --tls-ca, --tls-cert and --tls-key)", raw, u.Host, u.Scheme)
	case "ssh":
		return Endpoint{}, fmt.Errorf("endpoint %q: ssh:// endpoints are not supported; expose buildkitd or dockerd over TCP with mutual TLS (xbuild nodes certs) and %s", raw, endpointExamples)
	default:
		return Endpoint{}, fmt.Errorf("endpoint %q has unsupported scheme %q: %s", raw, u.Scheme, endpointExamples)
	}
}

func parseTCP(raw string, u *url.URL) (Endpoint, error) {
	if u.User != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q must not carry a user or password: %s", raw, endpointExamples)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("endpoint %q must be just tcp://HOST:PORT, without a path or query: %s", raw, endpointExamples)
	}
	host, portStr := u.Hostname(), u.Port()
	if host == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q has no host: %s", raw, endpointExamples)
	}
	if portStr == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q has no port: add it, e.g. tcp://%s:1234 (buildkitd) or tcp://%s:2376 (dockerd)", raw, hostForURL(host), hostForURL(host))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return Endpoint{}, fmt.Errorf("endpoint %q: port %q is not a number from 1 to 65535", raw, portStr)
	}
	return Endpoint{Scheme: "tcp", Host: strings.ToLower(host), Port: port}, nil
}

func parseUnix(raw string, u *url.URL) (Endpoint, error) {
	if u.Host != "" {
		return Endpoint{}, fmt.Errorf("endpoint %q: a unix socket path must be absolute, with three slashes: unix:///%s%s", raw, u.Host, u.Path)
	}
	if u.Path == "" || !path.IsAbs(u.Path) {
		return Endpoint{}, fmt.Errorf("endpoint %q has no absolute socket path: e.g. unix:///run/buildkit/buildkitd.sock", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("endpoint %q must be just unix:///PATH, without a query: e.g. unix:///run/buildkit/buildkitd.sock", raw)
	}
	return Endpoint{Scheme: "unix", Path: path.Clean(u.Path)}, nil
}

func parseKube(raw string, u *url.URL) (Endpoint, error) {
	ns := u.Host
	if ns == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q has no namespace: e.g. kubernetes://buildkit or kubernetes://buildkit?context=prod", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.User != nil || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("endpoint %q must be kubernetes://NAMESPACE[?context=KUBECONTEXT]", raw)
	}
	if !isDNSLabel(ns) {
		return Endpoint{}, fmt.Errorf("endpoint %q: namespace %q is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63 characters)", raw, ns)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q has an unreadable query: %v", raw, err)
	}
	ep := Endpoint{Scheme: "kubernetes", Namespace: ns}
	for k, v := range q {
		if k != "context" || len(v) != 1 || v[0] == "" {
			return Endpoint{}, fmt.Errorf("endpoint %q: only one ?context=KUBECONTEXT is accepted after the namespace", raw)
		}
		ep.Context = v[0]
	}
	return ep, nil
}

// String renders the endpoint in its canonical form, the one stored in the
// node registry and handed to buildx.
func (e Endpoint) String() string {
	switch e.Scheme {
	case "tcp":
		return "tcp://" + e.Address()
	case "unix":
		return "unix://" + e.Path
	case "kubernetes":
		s := "kubernetes://" + e.Namespace
		if e.Context != "" {
			ctx := e.Context
			if strings.ContainsAny(ctx, "&#%+ ?=") {
				ctx = url.QueryEscape(ctx)
			}
			s += "?context=" + ctx
		}
		return s
	}
	return ""
}

// Address is host:port for a tcp endpoint (what a dialer takes), the
// socket path for a unix one, "" otherwise.
func (e Endpoint) Address() string {
	switch e.Scheme {
	case "tcp":
		return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	case "unix":
		return e.Path
	}
	return ""
}

// IsRemote reports whether the endpoint is reached over TCP. Every tcp
// endpoint, loopback included, needs TLS (or an explicit --insecure): a
// port open on 127.0.0.1 is still open to every local user and container,
// and an SSH tunnel or port forward can make it anything but local.
// Unix sockets are protected by file permissions and never use TLS.
func (e Endpoint) IsRemote() bool { return e.Scheme == "tcp" }

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

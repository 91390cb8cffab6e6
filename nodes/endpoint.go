package nodes

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
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
	bracketed := strings.HasPrefix(u.Host, "[")
	if !bracketed && strings.Contains(host, ":") {
		// tcp://::1:1234 is [::1]:1234 to net/url, [::1:1234] to a reader
		return Endpoint{}, fmt.Errorf("endpoint %q: write an IPv6 address in brackets, e.g. tcp://[fd00::12]:1234", raw)
	}
	if portStr == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q has no port: add it, e.g. tcp://%s:1234 (buildkitd) or tcp://%s:2376 (dockerd)", raw, urlHost(host), urlHost(host))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return Endpoint{}, fmt.Errorf("endpoint %q: port %q is not a number from 1 to 65535", raw, portStr)
	}
	h, err := canonicalHost(host, bracketed)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	return Endpoint{Scheme: "tcp", Host: h, Port: port}, nil
}

// hostHelp ends the errors about an endpoint's host.
const hostHelp = "a host is a DNS name (letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters), an IPv4 address or an IPv6 address in brackets"

// canonicalHost checks a tcp endpoint's host and writes it in the one form
// String prints and ParseEndpoint reads back: IP addresses as net/netip
// writes them (lower-case, shortest; an IPv6 zone kept as written), DNS
// names in lower case without a trailing dot.
func canonicalHost(host string, bracketed bool) (string, error) {
	if bracketed {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return "", fmt.Errorf("host %q is not an IPv6 address: %s", host, hostHelp)
		}
		if z := addr.Zone(); !isZone(z) {
			return "", fmt.Errorf("zone %q of host %q is not an interface name (letters, digits, '.', '-' and '_')", z, host)
		}
		return addr.String(), nil
	}
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is4() {
		return addr.String(), nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if why := dnsNameProblem(name, true); why != "" {
		return "", fmt.Errorf("host %q is not valid (%s): %s", host, why, hostHelp)
	}
	return name, nil
}

// dnsNameProblem says why name is not a DNS name of RFC 1123 labels (1 to
// 63 letters, digits or '-', not starting or ending with '-', joined by
// single dots, 253 characters at most), "" when it is one. underscore
// also allows '_', which resolvers accept (container and service names).
// A name whose last label is all digits is refused: it is an IPv4
// address written wrongly (010.0.0.1, 10.1), never a name.
func dnsNameProblem(name string, underscore bool) string {
	if name == "" {
		return "empty"
	}
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "empty label"
		case len(l) > 63:
			return fmt.Sprintf("label %q is longer than 63 characters", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with '-'", l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || underscore && r == '_') {
				return fmt.Sprintf("contains %q", r)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "not an IPv4 address, and a DNS name does not end in a number"
	}
	return ""
}

// isZone reports an IPv6 zone (an interface name or index) that prints
// and parses back unchanged; "" (no zone) is one.
func isZone(z string) bool {
	for _, r := range z {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
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
	p := path.Clean(u.Path)
	// docker reads a unix:// host as a raw path and buildx through
	// net/url: only a path that both read alike can be stored
	for _, r := range p {
		if r == '%' || r == '?' || r == '#' || r < 0x20 || r == 0x7f {
			return Endpoint{}, fmt.Errorf("endpoint %q: socket path %q contains %q: xbuild cannot write it in a URL that docker and buildx read back; use a path without '%%', '?', '#' or control characters", raw, p, r)
		}
	}
	if strings.TrimRightFunc(p, unicode.IsSpace) != p {
		// ParseEndpoint trims the endpoint it reads
		return Endpoint{}, fmt.Errorf("endpoint %q: socket path %q ends in white space, which xbuild cannot store: use a path that does not", raw, p)
	}
	return Endpoint{Scheme: "unix", Path: p}, nil
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
// node registry and handed to buildx. ParseEndpoint reads it back to the
// same Endpoint: an IPv6 host is bracketed, its zone percent-encoded
// (tcp://[fe80::1%25eth0]:1234, RFC 6874), and a kubernetes context that
// a query would change is query-escaped.
func (e Endpoint) String() string {
	switch e.Scheme {
	case "tcp":
		return "tcp://" + urlHost(e.Host) + ":" + strconv.Itoa(e.Port)
	case "unix":
		return "unix://" + e.Path
	case "kubernetes":
		s := "kubernetes://" + e.Namespace
		if e.Context != "" {
			ctx := e.Context
			if !querySafe(ctx) {
				ctx = url.QueryEscape(ctx)
			}
			s += "?context=" + ctx
		}
		return s
	}
	return ""
}

// querySafe reports whether s reads back unchanged as a query value
// written raw: letters, digits and -._~:/@!$'()*, only (an EKS context,
// arn:aws:eks:eu-west-1:1:cluster/ci, stays readable).
func querySafe(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~:/@!$'()*,", r)) {
			return false
		}
	}
	return true
}

// urlHost writes a host as a URL's authority needs it: an IPv6 address in
// brackets, with the '%' before a zone encoded as %25.
func urlHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + strings.Replace(h, "%", "%25", 1) + "]"
	}
	return h
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

package nodes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xbuild-dev/xbuild/internal/platform"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// DefaultCheckTimeout bounds one node's health check when Checker.Timeout
// is zero.
const DefaultCheckTimeout = 5 * time.Second

// Prober asks a node's daemon for its version and platforms;
// engine.Engine satisfies it.
type Prober interface {
	Probe(ctx context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error)
}

// Status is the outcome of a node's health check.
type Status string

// The health statuses.
const (
	// StatusOK: connected, TLS verified both ways, the daemon answered.
	StatusOK Status = "ok"
	// StatusUnreachable: the connection was refused, or there is no route
	// or no such host or socket.
	StatusUnreachable Status = "unreachable"
	// StatusTLSError: the TLS material or the handshake failed.
	StatusTLSError Status = "tls-error"
	// StatusTimeout: no answer within the check's timeout.
	StatusTimeout Status = "timeout"
	// StatusError: anything else, such as an invalid node or a daemon error.
	StatusError Status = "error"
	// StatusUnsupported: the node kind cannot be checked directly
	// (kubernetes: buildx starts the BuildKit pods at build time).
	StatusUnsupported Status = "unsupported"
)

// Health is the result of checking one node.
type Health struct {
	Node   string `json:"node"`
	Status Status `json:"status"`
	// Error says what went wrong, Hint what to do about it.
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
	// BuildKitVersion is what the daemon reported ("docker 29.1.0" for a
	// docker node).
	BuildKitVersion string `json:"buildkitVersion,omitempty"`
	// Platforms are the platforms the daemon reported, normalized, in its
	// order (native first).
	Platforms []string `json:"platforms,omitempty"`
	// Running is how many builds the node's BuildKit is running now (its
	// build history, active records only, from anyone's builds); nil when
	// it is unknown: a docker node (its builds run in a BuildKit container
	// the engine's API does not reach), a kubernetes node (not probed), a
	// node that did not answer, or a daemon without a build history.
	Running *int `json:"running"`
	// Latency is the time to connect: TCP (or unix socket) connect plus
	// the TLS handshake.
	Latency            time.Duration `json:"latency"`
	ServerCertNotAfter time.Time     `json:"serverCertNotAfter,omitzero"`
	ClientCertNotAfter time.Time     `json:"clientCertNotAfter,omitzero"`
	// Warnings: certificates expiring soon, an insecure node, a node that
	// was not checked, platforms the daemon does not report.
	Warnings []string `json:"warnings,omitempty"`
	Insecure bool     `json:"insecure,omitempty"`
}

// RunningBuilds is Running, with an unknown load counted as none.
func (h Health) RunningBuilds() int {
	if h.Running == nil {
		return 0
	}
	return *h.Running
}

// Healthy reports whether the node can be given work: it answered (ok), or
// it is of a kind xbuild cannot check (unsupported; a warning says so).
func (h Health) Healthy() bool { return h.Status == StatusOK || h.Status == StatusUnsupported }

// Checker checks nodes' health: all nodes at once, each bounded by Timeout.
type Checker struct {
	// Prober asks the daemon for version and platforms after the
	// connection checks; nil checks only the connection (and TLS).
	Prober Prober
	// Dial opens connections (network "tcp" or "unix"); nil means a
	// net.Dialer. Tests inject failures here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds each node's whole check; zero means DefaultCheckTimeout.
	Timeout time.Duration
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
}

// Check checks every node concurrently and returns the results in the
// order of nodes. It returns within about one Timeout however many nodes
// are dead, even if the Prober ignores its context.
func (c *Checker) Check(ctx context.Context, nodes []Node) []Health {
	out := make([]Health, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i] = c.checkOne(ctx, n) })
	}
	wg.Wait()
	return out
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultCheckTimeout
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.Dial != nil {
		return c.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (c *Checker) checkOne(parent context.Context, n Node) Health {
	h := Health{Node: n.Name, Insecure: n.Insecure}
	ctx, cancel := context.WithTimeout(parent, c.timeout())
	defer cancel()

	ep, err := ParseEndpoint(n.Endpoint)
	if err != nil {
		return h.fail(StatusError, err.Error(), "fix the node: xbuild nodes rm "+n.Name+", then xbuild nodes add")
	}
	if n.Kind == KindKubernetes || ep.Scheme == "kubernetes" {
		h.Status = StatusUnsupported
		h.Warnings = append(h.Warnings, fmt.Sprintf("node %s is not health-checked: buildx starts its BuildKit pods in namespace %s at build time (kubectl -n %s get pods shows them)", n.Name, ep.Namespace, ep.Namespace))
		return h
	}
	if err := CheckTransport(ep, n.TLS, n.Insecure); err != nil {
		return h.fail(StatusTLSError, err.Error(), "fix the node: xbuild nodes rm "+n.Name+", then xbuild nodes add with the right --tls-* flags")
	}
	var mat *TLSMaterial
	if n.TLS != nil {
		mat, err = LoadTLS(*n.TLS, c.now())
		if err != nil {
			return h.fail(StatusTLSError, err.Error(), "")
		}
		h.ClientCertNotAfter = mat.Info.ClientNotAfter
		h.Warnings = append(h.Warnings, mat.Info.Warnings...)
	}
	if n.Insecure {
		h.Warnings = append(h.Warnings, fmt.Sprintf("node %s is insecure: %s is used without TLS, so anyone who can reach the port can use the daemon and read what it builds", n.Name, ep.String()))
	}
	return c.reach(ctx, ep, n, mat, h)
}

// checkLoaded checks a node whose endpoint the caller has parsed and whose
// transport and TLS material it has checked (mat is nil without TLS), so
// nothing is checked or read twice: connect (and the TLS handshake) and
// ask the daemon, bounded by Timeout. Warnings about the material itself
// are the caller's to give.
func (c *Checker) checkLoaded(parent context.Context, ep Endpoint, n Node, mat *TLSMaterial) Health {
	h := Health{Node: n.Name, Insecure: n.Insecure}
	if mat != nil {
		h.ClientCertNotAfter = mat.Info.ClientNotAfter
	}
	ctx, cancel := context.WithTimeout(parent, c.timeout())
	defer cancel()
	return c.reach(ctx, ep, n, mat, h)
}

// reach connects to the node, then asks its daemon for version and
// platforms through the Prober.
func (c *Checker) reach(ctx context.Context, ep Endpoint, n Node, mat *TLSMaterial, h Health) Health {
	if st, msg, hint := c.connect(ctx, ep, n, mat, &h); st != StatusOK {
		return h.fail(st, msg, hint)
	}
	if c.Prober == nil {
		h.Status = StatusOK
		return h
	}
	res, err := c.probe(ctx, n.probeTarget(mat, c.Now))
	if err != nil {
		st, hint := classifyProbe(ctx, err, c.timeout())
		msg := err.Error()
		if st == StatusTimeout {
			msg = fmt.Sprintf("the daemon did not answer within %s", c.timeout())
		}
		return h.fail(st, msg, hint)
	}
	h.Status = StatusOK
	h.BuildKitVersion = res.BuildKitVersion
	h.Running = res.Running
	for _, p := range res.Platforms {
		if p = platform.Loose(p); !slices.Contains(h.Platforms, p) {
			h.Platforms = append(h.Platforms, p)
		}
	}
	if missing := unreported(n, h); len(missing) > 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("node %s is registered for %s, but its daemon reports only %s: check the node's platforms", n.Name, strings.Join(missing, ", "), strings.Join(h.Platforms, ", ")))
	}
	return h
}

func (h Health) fail(st Status, msg, hint string) Health {
	h.Status, h.Error, h.Hint = st, msg, hint
	return h
}

// probe runs the Prober under ctx and returns when ctx ends even if the
// Prober does not (its goroutine then finishes in the background).
func (c *Checker) probe(ctx context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error) {
	type result struct {
		res *engine.ProbeResult
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := c.Prober.Probe(ctx, t)
		if err == nil && res == nil {
			err = fmt.Errorf("the daemon returned no result")
		}
		ch <- result{res, err}
	}()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// unreported lists the node's platforms its daemon does not report. A
// docker engine reports only its native platform, so emulated docker
// nodes are not compared.
func unreported(n Node, h Health) []string {
	if len(h.Platforms) == 0 || !n.DaemonReportsPlatforms() {
		return nil
	}
	var out []string
	for _, p := range n.Platforms {
		if p = platform.Loose(p); !slices.Contains(h.Platforms, p) {
			out = append(out, p)
		}
	}
	return out
}

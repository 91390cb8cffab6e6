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
	"strings"
	"syscall"
	"time"
)

// minAlertWait is the least time connect waits after a TLS 1.3 handshake
// for the server to reject the client certificate (see connect).
const minAlertWait = 150 * time.Millisecond

// connect dials the node and, for TLS nodes, completes a verified TLS
// handshake, filling Latency and ServerCertNotAfter. It returns StatusOK or
// the failure's status, message and hint.
func (c *Checker) connect(ctx context.Context, ep Endpoint, n Node, mat *TLSMaterial, h *Health) (Status, string, string) {
	network := "tcp"
	if ep.Scheme == "unix" {
		network = "unix"
	}
	addr := ep.Address()
	start := time.Now()
	conn, err := c.dial(ctx, network, addr)
	if err != nil {
		st, hint := classifyDial(err, ep)
		msg := err.Error()
		if st == StatusTimeout {
			msg = fmt.Sprintf("dial %s %s: no answer within %s", network, addr, c.timeout())
		}
		return st, msg, hint
	}
	defer conn.Close()
	if mat == nil {
		h.Latency = time.Since(start)
		return StatusOK, "", ""
	}

	cfg := mat.ClientConfig(n.clientTLS().ServerName, c.now)
	// offer HTTP/2 like a gRPC client: BuildKit's server then sends its
	// SETTINGS frame at once, which ends the wait for a TLS 1.3
	// client-certificate rejection below without waiting it out. HTTP/1.1
	// is offered too: dockerd's listener speaks only that, and a Go
	// server refuses an offer with no protocol in common.
	cfg.NextProtos = []string{"h2", "http/1.1"}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return StatusTimeout, fmt.Sprintf("TLS handshake with %s did not finish within %s", addr, c.timeout()),
				"something accepts connections on " + addr + " but does not complete a TLS handshake: check the port and the daemon's health"
		}
		msg, hint := classifyHandshake(err, n, mat, cfg.ServerName, c.now())
		return StatusTLSError, msg, hint
	}
	h.Latency = time.Since(start)
	state := tc.ConnectionState()
	if len(state.PeerCertificates) > 0 {
		h.ServerCertNotAfter = state.PeerCertificates[0].NotAfter
		if left := h.ServerCertNotAfter.Sub(c.now()); left <= ExpiryWarning {
			h.Warnings = append(h.Warnings, fmt.Sprintf("the server certificate of node %s expires on %s (in %s): renew it with xbuild nodes certs and restart the daemon with it", n.Name, day(h.ServerCertNotAfter), daysLeft(left)))
		}
	}
	// Under TLS 1.3 the server checks the client certificate after the
	// client considers the handshake done, and reports a rejection with an
	// alert on the next read. Wait a little for that alert; silence or
	// data (an HTTP/2 SETTINGS frame) means the certificate was accepted.
	if state.Version == tls.VersionTLS13 {
		wait := max(3*h.Latency, minAlertWait)
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = tc.SetReadDeadline(deadline)
		if _, err := tc.Read(make([]byte, 1)); err != nil && !isTimeout(err) && !errors.Is(err, io.EOF) {
			if alert, ok := remoteAlert(err); ok {
				return StatusTLSError, rejectedMessage(alert), rejectedHint(n)
			}
		}
	}
	return StatusOK, "", ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// classifyDial sorts a dial error into unreachable or timeout, with a hint.
func classifyDial(err error, ep Endpoint) (Status, string) {
	var dns *net.DNSError
	switch {
	case isTimeout(err):
		return StatusTimeout, "the host is down, or a firewall drops packets to " + ep.Address()
	case errors.Is(err, context.Canceled):
		return StatusError, "the check was cancelled before it finished"
	case errors.As(err, &dns):
		return StatusUnreachable, fmt.Sprintf("the host name %s does not resolve: check the endpoint", ep.Host)
	case errors.Is(err, syscall.ECONNREFUSED) && ep.Scheme == "unix":
		return StatusUnreachable, "nothing listens on " + ep.Path + ": is the daemon running?"
	case errors.Is(err, syscall.ECONNREFUSED):
		return StatusUnreachable, fmt.Sprintf("nothing listens on %s: is buildkitd (or dockerd) running there, on port %d?", ep.Address(), ep.Port)
	case errors.Is(err, syscall.ENOENT):
		return StatusUnreachable, "the socket " + ep.Path + " does not exist: is the daemon running?"
	case errors.Is(err, syscall.EACCES):
		return StatusUnreachable, "this user may not open " + ep.Path + ": check the socket's group (e.g. the docker group)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return StatusUnreachable, "no route to " + ep.Host + ": check the address and the network"
	}
	return StatusUnreachable, "check that the node is up and reachable from this machine"
}

// classifyHandshake explains a failed TLS handshake (the caller has
// already ruled out a timeout).
func classifyHandshake(err error, n Node, mat *TLSMaterial, serverName string, now time.Time) (msg, hint string) {
	ca := n.TLS.CA
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("the server certificate is not signed by the CA in %s (--tls-ca)", ca),
			"use the ca.pem generated together with the node's server certificate (xbuild nodes certs), or start the node with a server certificate signed by this CA"
	case errors.As(err, &host):
		valid := certNames(host.Certificate)
		// Go checks the name before the chain: a certificate from a stranger
		// (a proxy, another service on that address) lands here too, and
		// must not be answered with "trust that name"
		if host.Certificate == nil || !mat.signs(host.Certificate) {
			return fmt.Sprintf("the server presented a certificate for %s that is not signed by the CA in %s (--tls-ca)", valid, ca),
				"this is probably not your node: check the endpoint's address and port; if it is, start it with a server certificate from this CA (xbuild nodes certs)"
		}
		return fmt.Sprintf("the server certificate is valid for %s, not %s: pass --tls-servername %s", valid, serverName, firstName(host.Certificate)),
			fmt.Sprintf("or regenerate the node's certificates with xbuild nodes certs --host %s", serverName)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		c := invalid.Cert
		if now.Before(c.NotBefore) {
			return fmt.Sprintf("the server certificate is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339)), "check the clocks of this machine and the node"
		}
		return fmt.Sprintf("the server certificate expired on %s", day(c.NotAfter)), "generate new certificates with xbuild nodes certs and restart the daemon with them"
	case errors.As(err, &verr):
		return fmt.Sprintf("the server certificate does not verify: %v", verr.Err), "use the CA and server certificate generated together (xbuild nodes certs)"
	case errors.As(err, &rec):
		if strings.HasPrefix(string(rec.RecordHeader[:]), "HTTP/") {
			return "the node answered plain HTTP, not TLS", "start dockerd with --tlsverify --tlscacert --tlscert --tlskey, or buildkitd with --tlscacert --tlscert --tlskey; or check the port"
		}
		return "the node does not speak TLS on this port", "start buildkitd with --tlscacert --tlscert --tlskey (dockerd with --tlsverify ...), or check the port"
	}
	if alert, ok := remoteAlert(err); ok {
		if isCertAlert(alert) {
			return rejectedMessage(alert), rejectedHint(n)
		}
		return fmt.Sprintf("the node refused the TLS handshake (%s)", alert), "the node's TLS settings (versions, ciphers) do not match xbuild's: TLS 1.2 or later is required"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the node closed the connection during the TLS handshake", "it may not speak TLS on this port, or it rejected xbuild's client certificate: check the daemon's log"
	}
	return fmt.Sprintf("TLS handshake failed: %v", err), "check the node's TLS setup (xbuild nodes certs prints the daemon flags)"
}

// remoteAlert extracts a TLS alert sent by the peer ("tls: bad certificate").
func remoteAlert(err error) (string, bool) {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return op.Err.Error(), true
	}
	return "", false
}

func isCertAlert(alert string) bool {
	for _, s := range []string{"bad certificate", "certificate required", "unknown certificate authority", "certificate unknown", "certificate expired", "unsupported certificate", "certificate revoked", "access denied"} {
		if strings.Contains(alert, s) {
			return true
		}
	}
	return false
}

func rejectedMessage(alert string) string {
	return fmt.Sprintf("the node rejected xbuild's client certificate (%s)", alert)
}

func rejectedHint(n Node) string {
	return fmt.Sprintf("the node trusts a different CA than the one that signed %s (--tls-cert): start it with --tlscacert set to the CA in %s, or use a client certificate from the node's CA", n.TLS.Cert, n.TLS.CA)
}

// certNames lists the names and addresses a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no names"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no names (it has only the common name " + c.Subject.CommonName + ")"
	}
	return strings.Join(names, ", ")
}

func firstName(c *x509.Certificate) string {
	switch {
	case c == nil:
		return "NAME"
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	}
	return "NAME"
}

// classifyProbe sorts a Prober error by its cause.
func classifyProbe(ctx context.Context, err error, timeout time.Duration) (Status, string) {
	msg := err.Error()
	switch {
	case ctx.Err() != nil || isTimeout(err) || strings.Contains(msg, "DeadlineExceeded"):
		return StatusTimeout, fmt.Sprintf("the connection works but the daemon did not answer within %s: check its health and load", timeout)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") || strings.Contains(msg, "certificate"):
		return StatusTLSError, "check the node's TLS material (xbuild nodes inspect) and the daemon's --tlscacert"
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		return StatusUnreachable, "the daemon stopped listening during the check: is it restarting?"
	}
	return StatusError, "the daemon answered with an error: check its log"
}

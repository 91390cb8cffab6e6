package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
)

// Proxy forwards registry requests to the upstream registry unless an armed
// fault takes them.
type Proxy struct {
	table    *Table
	upstream *httputil.ReverseProxy
	logf     func(format string, args ...any)
}

// NewProxy returns a proxy to upstream (scheme://host:port) through rt. The
// client's Host header is kept, so the registry's Location headers (blob
// uploads) point back at the proxy; Authorization passes through unchanged.
func NewProxy(table *Table, upstream *url.URL, rt http.RoundTripper, logf func(string, ...any)) *Proxy {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Host = r.In.Host
		},
		Transport: rt,
		ErrorLog:  log.New(logWriter(logf), "", 0),
	}
	return &Proxy{table: table, upstream: rp, logf: logf}
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := p.table.Take(r.Method, r.URL.Path)
	if f := d.Fault; f != nil {
		p.logf("%s %s -> fault %d: %s", r.Method, r.URL.Path, f.ID, describe(f))
		if f.Action == ActionStatus {
			writeStatus(w, f)
			return
		}
		if err := abort(w, f.Action == ActionReset); err != nil {
			p.logf("fault %d: %v", f.ID, err)
		}
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	p.upstream.ServeHTTP(sw, r)
	p.table.Done(d, sw.status)
	p.logf("%s %s -> passed, registry answered %d", r.Method, r.URL.Path, sw.status)
}

func describe(f *Fault) string {
	if f.Action == ActionStatus {
		return fmt.Sprintf("HTTP %d", f.Status)
	}
	return string(f.Action) + " the connection"
}

// errorCodes are the distribution error codes for injected statuses.
var errorCodes = map[int]string{
	http.StatusUnauthorized:       "UNAUTHORIZED",
	http.StatusForbidden:          "DENIED",
	http.StatusNotFound:           "NAME_UNKNOWN",
	http.StatusTooManyRequests:    "TOOMANYREQUESTS",
	http.StatusServiceUnavailable: "UNAVAILABLE",
}

// writeStatus answers like a registry that returns f.Status.
func writeStatus(w http.ResponseWriter, f *Fault) {
	code, ok := errorCodes[f.Status]
	if !ok {
		code = "UNKNOWN"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	w.WriteHeader(f.Status)
	body := map[string]any{"errors": []map[string]string{{
		"code":    code,
		"message": fmt.Sprintf("faultproxy: injected HTTP %d (fault %d)", f.Status, f.ID),
	}}}
	_ = json.NewEncoder(w).Encode(body)
}

// abort takes the connection over and closes it without an answer: with a
// RST when reset is set, otherwise with a plain FIN. A TLS connection is
// closed underneath TLS, so no close_notify is sent either way.
func abort(w http.ResponseWriter, reset bool) error {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 cannot hand the connection over; the server is HTTP/1.1 only
		return fmt.Errorf("cannot take over the connection (%T is no http.Hijacker)", w)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return fmt.Errorf("taking over the connection: %w", err)
	}
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok && reset {
		if err := tcp.SetLinger(0); err != nil {
			raw.Close()
			return fmt.Errorf("setting SO_LINGER 0 for a reset: %w", err)
		}
	}
	return raw.Close()
}

// statusWriter remembers the status the upstream answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushes).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logWriter turns the reverse proxy's error log into logf lines.
type logWriter func(string, ...any)

func (l logWriter) Write(b []byte) (int, error) {
	l("%s", string(trimNewline(b)))
	return len(b), nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

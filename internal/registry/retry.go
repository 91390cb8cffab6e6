package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// DefaultAttempts is how many times a registry request is tried in all when
// RetryTransport.Attempts is zero: the first try and three retries.
const DefaultAttempts = 4

// RetryTransport retries registry requests that failed for a reason that
// passes: a 5xx answer (500, 502, 503, 504), 429 Too Many Requests or 408,
// a connection reset, refused or closed early, or a timeout. Other 4xx
// answers and authentication failures are returned at once: trying them
// again cannot help. Waits grow 0.5 s, 1 s, 2 s (a Retry-After of up to
// 10 s is honoured), each retry is announced through Notify, and the
// caller's context ends the waiting. Requests whose body cannot be replayed
// (no GetBody) are tried once.
type RetryTransport struct {
	// Base does the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Attempts bounds the tries; zero means DefaultAttempts.
	Attempts int
	// Notify is told about every retry ("registry: PUT https://.../manifests/sha256:...:
	// 503 Service Unavailable; retry 1 of 3 in 0.5s"); nil says nothing.
	Notify func(msg string)
	// Sleep waits between tries; nil is a timer that ends with ctx. Tests
	// replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		attempts = 1
	}
	for try := 1; ; try++ {
		r := req
		if try > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.base().RoundTrip(r)
		why, wait := transient(resp, err)
		if why == "" || try >= attempts || req.Context().Err() != nil {
			return resp, err
		}
		if resp != nil {
			// the answer is thrown away: drain a little so the connection
			// can be reused, then close it
			_, _ = io.CopyN(io.Discard, resp.Body, 4096)
			resp.Body.Close()
		}
		if wait == 0 {
			wait = backoff(try)
		}
		if t.Notify != nil {
			t.Notify(fmt.Sprintf("registry: %s %s: %s; retry %d of %d in %s", req.Method, redactURL(req), why, try, attempts-1, wait))
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func (t *RetryTransport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before retry n (1-based): 0.5 s, 1 s, 2 s, then 4 s.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(n-1, 3)
	return d
}

// transient says why a try is worth repeating ("" when it is not) and how
// long the registry asked to wait (Retry-After), if it did.
func transient(resp *http.Response, err error) (string, time.Duration) {
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			return "", 0
		case errors.Is(err, syscall.ECONNRESET):
			return "connection reset", 0
		case errors.Is(err, syscall.ECONNREFUSED):
			return "connection refused", 0
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return "connection closed before the answer", 0
		case isNetTimeout(err), errors.Is(err, context.DeadlineExceeded):
			return "timed out", 0
		}
		return "", 0
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusTooManyRequests, http.StatusRequestTimeout:
		return resp.Status, retryAfter(resp)
	}
	return "", 0
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter reads a Retry-After in seconds, capped at 10 s.
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, 10*time.Second)
}

// redactURL is the request URL without query (upload URLs carry state
// tokens) or user information.
func redactURL(req *http.Request) string {
	u := *req.URL
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

package registry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flaky answers the first fail requests with status (0: reset the
// connection), then 200 echoing the request body.
func flaky(t *testing.T, fail int32, status int, header map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n.Add(1) <= fail {
			if status == 0 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			return
		}
		_, _ = w.Write(append([]byte("ok:"), body...))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

type recorder struct {
	msgs  []string
	waits []time.Duration
}

func (r *recorder) transport() *RetryTransport {
	return &RetryTransport{
		Notify: func(m string) { r.msgs = append(r.msgs, m) },
		Sleep:  func(_ context.Context, d time.Duration) error { r.waits = append(r.waits, d); return nil },
	}
}

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name      string
		fail      int32
		status    int
		header    map[string]string
		method    string
		wantCode  int
		wantTries int32
		wantWaits []time.Duration
		wantMsg   string // first notification, with the server URL as URL
	}{
		{name: "503 twice then ok", fail: 2, status: 503, method: "PUT", wantCode: 200, wantTries: 3,
			wantWaits: []time.Duration{500 * time.Millisecond, time.Second}, wantMsg: "registry: PUT URL/v2/x/manifests/sha256:1: 503 Service Unavailable; retry 1 of 3 in 500ms"},
		{name: "gives up after four tries", fail: 10, status: 502, method: "GET", wantCode: 502, wantTries: 4,
			wantWaits: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{name: "retry-after honoured, capped at 10s", fail: 1, status: 429, header: map[string]string{"Retry-After": "60"}, method: "GET", wantCode: 200, wantTries: 2,
			wantWaits: []time.Duration{10 * time.Second}},
		{name: "connection reset", fail: 1, status: 0, method: "PUT", wantCode: 200, wantTries: 2,
			wantWaits: []time.Duration{500 * time.Millisecond}},
		{name: "401 not retried", fail: 1, status: 401, method: "GET", wantCode: 401, wantTries: 1},
		{name: "404 not retried", fail: 1, status: 404, method: "HEAD", wantCode: 404, wantTries: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := flaky(t, tc.fail, tc.status, tc.header)
			rec := &recorder{}
			req, _ := http.NewRequest(tc.method, srv.URL+"/v2/x/manifests/sha256:1?_state=secret", strings.NewReader("manifest-body"))
			resp, err := rec.transport().RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || n.Load() != tc.wantTries {
				t.Fatalf("status %d after %d tries; want %d after %d", resp.StatusCode, n.Load(), tc.wantCode, tc.wantTries)
			}
			if tc.wantCode == 200 && tc.method == "PUT" && string(body) != "ok:manifest-body" {
				t.Errorf("the body was not replayed: %q", body)
			}
			if !equalDurations(rec.waits, tc.wantWaits) || len(rec.msgs) != len(tc.wantWaits) {
				t.Errorf("waits %v (%d messages), want %v", rec.waits, len(rec.msgs), tc.wantWaits)
			}
			if tc.wantMsg != "" {
				if want := strings.ReplaceAll(tc.wantMsg, "URL", srv.URL); rec.msgs[0] != want {
					t.Errorf("message %q\nwant    %q", rec.msgs[0], want)
				}
			}
			for _, m := range rec.msgs {
				if strings.Contains(m, "secret") {
					t.Errorf("a retry message shows the query: %s", m)
				}
			}
		})
	}
}

func TestRetryTransportStopsWithContext(t *testing.T) {
	srv, n := flaky(t, 10, 503, nil)
	ctx, cancel := context.WithCancel(context.Background())
	tr := &RetryTransport{Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if _, err := tr.RoundTrip(req); err == nil || n.Load() != 1 {
		t.Errorf("err %v after %d tries; want the context's error after 1", err, n.Load())
	}
}

func TestRetryTransportBodyNotReplayable(t *testing.T) {
	srv, n := flaky(t, 1, 503, nil)
	req, _ := http.NewRequest("PATCH", srv.URL, io.NopCloser(strings.NewReader("stream")))
	req.GetBody = nil
	resp, err := (&RetryTransport{Sleep: func(context.Context, time.Duration) error { return nil }}).RoundTrip(req)
	if err != nil || resp.StatusCode != 503 || n.Load() != 1 {
		t.Errorf("a body that cannot be replayed was retried: %v, %d tries", err, n.Load())
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

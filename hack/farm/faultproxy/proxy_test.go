package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRegistry is the upstream: it records what reached it and answers 201
// with a Location built from the Host it saw, like a registry does.
type fakeRegistry struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (f *fakeRegistry) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	h := http.Header{}
	h.Set("Location", "https://"+r.Host+"/v2/e2e/app/blobs/uploads/next")
	return &http.Response{StatusCode: http.StatusAccepted, Header: h, Body: io.NopCloser(strings.NewReader("from upstream")), Request: r}, nil
}

func (f *fakeRegistry) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func newTestProxy(t *testing.T) (*Proxy, *Table, *fakeRegistry, *[]string) {
	t.Helper()
	up, _ := url.Parse("https://127.0.0.1:15001")
	tab := NewTable(fixedNow, 100)
	reg := &fakeRegistry{}
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	return NewProxy(tab, up, reg, logf), tab, reg, &lines
}

func TestProxyPassesThroughKeepingHostAndAuth(t *testing.T) {
	p, tab, reg, _ := newTestProxy(t)
	req := httptest.NewRequest("POST", "https://registry.xbuild.test:15002/v2/e2e/app/blobs/uploads/?mount=sha256:1", nil)
	req.Header.Set("Authorization", "Basic eGJ1aWxkOnNlY3JldA==")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)

	if reg.count() != 1 {
		t.Fatalf("upstream saw %d requests, want 1", reg.count())
	}
	out := reg.reqs[0]
	if got := out.URL.String(); got != "https://127.0.0.1:15001/v2/e2e/app/blobs/uploads/?mount=sha256:1" {
		t.Errorf("upstream URL %s", got)
	}
	if out.Host != "registry.xbuild.test:15002" {
		t.Errorf("upstream Host %q, want the client's (so Location points back at the proxy)", out.Host)
	}
	if got := out.Header.Get("Authorization"); got != "Basic eGJ1aWxkOnNlY3JldA==" {
		t.Errorf("Authorization %q did not pass through", got)
	}
	if rec.Code != http.StatusAccepted || rec.Body.String() != "from upstream" ||
		rec.Header().Get("Location") != "https://registry.xbuild.test:15002/v2/e2e/app/blobs/uploads/next" {
		t.Errorf("answer %d %q Location %q", rec.Code, rec.Body.String(), rec.Header().Get("Location"))
	}
	want := []Entry{{Time: t0, Method: "POST", Path: "/v2/e2e/app/blobs/uploads/", Outcome: OutcomePassed, Status: http.StatusAccepted}}
	if got := tab.Log(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("log %+v, want %+v", got, want)
	}
}

func TestProxyInjectsStatus(t *testing.T) {
	p, tab, reg, lines := newTestProxy(t)
	if _, err := tab.Arm(Fault{Methods: []string{"PUT"}, Path: "/manifests/", RetryAfter: 7, Count: 1}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("PUT", "https://registry.xbuild.test:15002/v2/e2e/app/manifests/v1", strings.NewReader("{}")))
	if reg.count() != 0 {
		t.Errorf("an injected request reached the registry")
	}
	if rec.Code != 503 {
		t.Errorf("status %d, want 503", rec.Code)
	}
	for k, v := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Docker-Distribution-API-Version": "registry/2.0", "Retry-After": "7"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	wantBody := `{"errors":[{"code":"UNAVAILABLE","message":"faultproxy: injected HTTP 503 (fault 1)"}]}` + "\n"
	if rec.Body.String() != wantBody {
		t.Errorf("body %q, want %q", rec.Body.String(), wantBody)
	}
	if len(*lines) != 1 || (*lines)[0] != "PUT /v2/e2e/app/manifests/v1 -> fault 1: HTTP 503" {
		t.Errorf("log lines %q", *lines)
	}
	// the next one passes
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("PUT", "https://registry.xbuild.test:15002/v2/e2e/app/manifests/v1", strings.NewReader("{}")))
	if rec.Code != http.StatusAccepted || reg.count() != 1 {
		t.Errorf("second PUT: status %d, upstream saw %d", rec.Code, reg.count())
	}
}

// hijackRecorder hands the server side of a pipe over on Hijack.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	server   net.Conn
	hijacked bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	return h.server, bufio.NewReadWriter(bufio.NewReader(h.server), bufio.NewWriter(h.server)), nil
}

func TestProxyAbortsConnection(t *testing.T) {
	for _, action := range []Action{ActionReset, ActionClose} {
		t.Run(string(action), func(t *testing.T) {
			p, tab, reg, _ := newTestProxy(t)
			if _, err := tab.Arm(Fault{Action: action, Count: 1}); err != nil {
				t.Fatal(err)
			}
			client, server := net.Pipe()
			defer client.Close()
			w := &hijackRecorder{ResponseRecorder: httptest.NewRecorder(), server: server}
			got := make(chan []byte, 1)
			go func() {
				client.SetReadDeadline(time.Now().Add(5 * time.Second))
				b, _ := io.ReadAll(client) // ends at EOF once the proxy closes its side
				got <- b
			}()
			p.ServeHTTP(w, httptest.NewRequest("GET", "https://registry.xbuild.test:15002/v2/", nil))
			if !w.hijacked {
				t.Fatal("the connection was not taken over")
			}
			if b := <-got; len(b) != 0 {
				t.Errorf("the client received %q, want nothing", b)
			}
			if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Flushed {
				t.Errorf("something was written through the ResponseWriter: %d %q", w.Code, w.Body.String())
			}
			if reg.count() != 0 {
				t.Errorf("an aborted request reached the registry")
			}
		})
	}
}

func TestProxyAbortWithoutHijackerIsLogged(t *testing.T) {
	p, tab, _, lines := newTestProxy(t)
	if _, err := tab.Arm(Fault{Action: ActionReset, Count: 1}); err != nil {
		t.Fatal(err)
	}
	p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://registry.xbuild.test:15002/v2/", nil))
	want := []string{
		"GET /v2/ -> fault 1: reset the connection",
		"fault 1: cannot take over the connection (*httptest.ResponseRecorder is no http.Hijacker)",
	}
	if strings.Join(*lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines\n got %q\nwant %q", *lines, want)
	}
}

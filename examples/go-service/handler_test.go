package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// do sends one request to h and returns the status, body and response headers.
func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestHandlerRoundTrip(t *testing.T) {
	h := newHandler(NewCache(0))
	steps := []struct {
		method, path, body string
		hdr                map[string]string
		wantCode           int
		wantBody           string
		wantType           string
	}{
		{method: "GET", path: "/v1/cache/greeting", wantCode: 404, wantBody: "not found\n"},
		{method: "PUT", path: "/v1/cache/greeting", body: "hello", hdr: map[string]string{"Content-Type": "text/plain"}, wantCode: 201},
		{method: "GET", path: "/v1/cache/greeting", wantCode: 200, wantBody: "hello", wantType: "text/plain"},
		{method: "PUT", path: "/v1/cache/greeting", body: "hi", wantCode: 204},
		{method: "GET", path: "/v1/cache/greeting", wantCode: 200, wantBody: "hi", wantType: defaultContentType},
		{method: "HEAD", path: "/v1/cache/greeting", wantCode: 200},
		{method: "DELETE", path: "/v1/cache/greeting", wantCode: 204},
		{method: "DELETE", path: "/v1/cache/greeting", wantCode: 404, wantBody: "not found\n"},
		{method: "GET", path: "/v1/cache/greeting", wantCode: 404, wantBody: "not found\n"},
		{method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok\n", wantType: "text/plain; charset=utf-8"},
	}
	for i, s := range steps {
		code, body, hdr := do(t, h, s.method, s.path, s.body, s.hdr)
		if code != s.wantCode || body != s.wantBody {
			t.Fatalf("step %d: %s %s = %d %q; want %d %q", i, s.method, s.path, code, body, s.wantCode, s.wantBody)
		}
		if s.wantType != "" && hdr.Get("Content-Type") != s.wantType {
			t.Fatalf("step %d: Content-Type = %q, want %q", i, hdr.Get("Content-Type"), s.wantType)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	full := NewCache(1)
	full.Put("taken", []byte("x"), "")
	tests := []struct {
		name, method, path, body string
		cache                    *Cache
		wantCode                 int
		wantAllow                string
	}{
		{name: "value too large", method: "PUT", path: "/v1/cache/big", body: strings.Repeat("x", maxValueBytes+1), wantCode: 413},
		{name: "value at the limit", method: "PUT", path: "/v1/cache/big", body: strings.Repeat("x", maxValueBytes), wantCode: 201},
		{name: "key too long", method: "GET", path: "/v1/cache/" + strings.Repeat("k", maxKeyBytes+1), wantCode: 400},
		{name: "cache full", method: "PUT", path: "/v1/cache/new", body: "v", cache: full, wantCode: 507},
		{name: "replace in a full cache", method: "PUT", path: "/v1/cache/taken", body: "v", cache: full, wantCode: 204},
		{name: "wrong method", method: "POST", path: "/v1/cache/k", body: "v", wantCode: 405, wantAllow: "DELETE, GET, HEAD, PUT"},
		{name: "no key", method: "GET", path: "/v1/cache/", wantCode: 404},
		{name: "nested key", method: "GET", path: "/v1/cache/a/b", wantCode: 404},
		{name: "unknown path", method: "GET", path: "/", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cache
			if c == nil {
				c = NewCache(0)
			}
			code, body, hdr := do(t, newHandler(c), tt.method, tt.path, tt.body, nil)
			if code != tt.wantCode {
				t.Fatalf("%s %s = %d %q; want %d", tt.method, tt.path, code, body, tt.wantCode)
			}
			if tt.wantAllow != "" && hdr.Get("Allow") != tt.wantAllow {
				t.Fatalf("Allow = %q, want %q", hdr.Get("Allow"), tt.wantAllow)
			}
		})
	}
}

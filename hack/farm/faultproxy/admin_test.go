package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAdmin(t *testing.T) {
	tab := NewTable(fixedNow, 100)
	h := NewAdmin(tab)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "http://127.0.0.1:15003"+path, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	steps := []struct {
		method, path, body string
		code               int
		want               string // the whole body, "" for none
	}{
		{"POST", "/faults", `{"methods":["put"],"path":"/manifests/","count":2}`, 201,
			"{\n  \"id\": 1,\n  \"methods\": [\n    \"PUT\"\n  ],\n  \"path\": \"/manifests/\",\n  \"action\": \"status\",\n  \"status\": 503,\n  \"count\": 2,\n  \"remaining\": 2,\n  \"injected\": 0,\n  \"skipped\": 0\n}\n"},
		{"POST", "/faults", `{"count":0}`, 400, "{\n  \"error\": \"count 0: a fault must take at least one request\"\n}\n"},
		{"POST", "/faults", `{"count":1,"statuss":503}`, 400, "{\n  \"error\": \"reading the fault: json: unknown field \\\"statuss\\\"\"\n}\n"},
		{"POST", "/faults", `{"action":"reset","count":1}`, 201, ""},
		{"GET", "/counters", "", 200, "{\n  \"injected\": 0,\n  \"passed\": 0\n}\n"},
		{"PUT", "/counters", "", 405, ""},
		{"DELETE", "/faults", "", 204, ""},
		{"GET", "/faults", "", 200, "[]\n"},
		{"POST", "/reset", "", 204, ""},
		{"GET", "/requests", "", 200, "[]\n"},
	}
	for i, s := range steps {
		if s.path == "/faults" && s.method == "DELETE" {
			// the PUT fault takes the first, the reset fault the second, the third passes
			tab.Take("PUT", "/v2/a/manifests/1")
			tab.Take("GET", "/v2/")
			tab.Take("GET", "/v2/")
			if code, body := do("GET", "/counters", ""); code != 200 || body != "{\n  \"injected\": 2,\n  \"passed\": 1\n}\n" {
				t.Fatalf("counters before DELETE: %d %q", code, body)
			}
		}
		code, body := do(s.method, s.path, s.body)
		if code != s.code {
			t.Errorf("step %d: %s %s: status %d, want %d (%s)", i, s.method, s.path, code, s.code, body)
		}
		if s.want != "" && body != s.want {
			t.Errorf("step %d: %s %s: body\n%s\nwant\n%s", i, s.method, s.path, body, s.want)
		}
	}
	if c := tab.Counters(); c != (Counters{}) {
		t.Errorf("after POST /reset: counters %+v", c)
	}
}

func TestAdminFaultsListsState(t *testing.T) {
	tab := NewTable(fixedNow, 100)
	h := NewAdmin(tab)
	if _, err := tab.Arm(Fault{Path: "/x", Count: 3}); err != nil {
		t.Fatal(err)
	}
	tab.Take("GET", "/x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/faults", nil))
	want := "[\n  {\n    \"id\": 1,\n    \"path\": \"/x\",\n    \"action\": \"status\",\n    \"status\": 503,\n    \"count\": 3,\n    \"remaining\": 2,\n    \"injected\": 1,\n    \"skipped\": 0\n  }\n]\n"
	if rec.Body.String() != want {
		t.Errorf("GET /faults\n%s\nwant\n%s", rec.Body.String(), want)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/requests", nil))
	wantLog := "[\n  {\n    \"time\": \"2026-11-23T10:00:00Z\",\n    \"method\": \"GET\",\n    \"path\": \"/x\",\n    \"outcome\": \"injected\",\n    \"action\": \"status\",\n    \"fault\": 1,\n    \"status\": 503\n  }\n]\n"
	if rec.Body.String() != wantLog {
		t.Errorf("GET /requests\n%s\nwant\n%s", rec.Body.String(), wantLog)
	}
}

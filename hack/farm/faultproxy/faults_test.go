package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// outcome renders a decision as "pass" or "fault ID ACTION [STATUS]".
func outcome(d Decision) string {
	if d.Fault == nil {
		return "pass"
	}
	if d.Fault.Action == ActionStatus {
		return fmt.Sprintf("fault %d %d", d.Fault.ID, d.Fault.Status)
	}
	return fmt.Sprintf("fault %d %s", d.Fault.ID, d.Fault.Action)
}

func TestTableTake(t *testing.T) {
	const man = "/v2/e2e/app/manifests/latest"
	const upl = "/v2/e2e/app/blobs/uploads/1234"
	tests := []struct {
		name     string
		faults   []Fault
		requests []string // "METHOD path"
		want     []string
		counters Counters
		state    []int // each fault's Remaining afterwards
	}{
		{
			name:     "nothing armed: everything passes",
			requests: []string{"GET /v2/", "PUT " + man, "HEAD " + man},
			want:     []string{"pass", "pass", "pass"},
			counters: Counters{Passed: 3},
		},
		{
			name:     "exactly count 503s, then the same request passes",
			faults:   []Fault{{Methods: []string{"GET", "HEAD"}, Path: "/manifests/", Count: 2}},
			requests: []string{"GET /v2/", "GET " + man, "HEAD " + man, "GET " + man, "HEAD " + man},
			want:     []string{"pass", "fault 1 503", "fault 1 503", "pass", "pass"},
			counters: Counters{Injected: 2, Passed: 3},
			state:    []int{0},
		},
		{
			name:     "methods are matched case-insensitively and only those",
			faults:   []Fault{{Methods: []string{"patch", " put"}, Path: "/blobs/uploads/", Status: 500, Count: 2}},
			requests: []string{"GET " + upl, "PATCH " + upl, "POST " + upl, "PUT " + upl, "PUT " + upl},
			want:     []string{"pass", "fault 1 500", "pass", "fault 1 500", "pass"},
			counters: Counters{Injected: 2, Passed: 3},
			state:    []int{0},
		},
		{
			name:     "skip lets the first matches through",
			faults:   []Fault{{Path: "/manifests/", Skip: 2, Count: 1, Action: ActionReset}},
			requests: []string{"PUT " + man, "GET /v2/", "PUT " + man, "PUT " + man, "PUT " + man},
			want:     []string{"pass", "pass", "pass", "fault 1 reset", "pass"},
			counters: Counters{Injected: 1, Passed: 4},
			state:    []int{0},
		},
		{
			name: "the first armed fault with requests left takes the request",
			faults: []Fault{
				{Count: 1, Action: ActionClose},
				{Methods: []string{"GET"}, Status: 429, RetryAfter: 2, Count: 2},
			},
			requests: []string{"GET /v2/", "GET /v2/", "PUT " + man, "GET " + man, "GET " + man},
			want:     []string{"fault 1 close", "fault 2 429", "pass", "fault 2 429", "pass"},
			counters: Counters{Injected: 3, Passed: 2},
			state:    []int{0, 0},
		},
		{
			name:     "a path that matches nothing takes nothing",
			faults:   []Fault{{Path: "/tags/list", Count: 5}},
			requests: []string{"GET /v2/", "GET " + man},
			want:     []string{"pass", "pass"},
			counters: Counters{Passed: 2},
			state:    []int{5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := NewTable(fixedNow, 100)
			for _, f := range tt.faults {
				if _, err := tab.Arm(f); err != nil {
					t.Fatalf("Arm(%+v): %v", f, err)
				}
			}
			var got []string
			for _, r := range tt.requests {
				m, p, _ := strings.Cut(r, " ")
				got = append(got, outcome(tab.Take(m, p)))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("outcomes\n got %q\nwant %q", got, tt.want)
			}
			if c := tab.Counters(); c != tt.counters {
				t.Errorf("counters %+v, want %+v", c, tt.counters)
			}
			var state []int
			for _, f := range tab.Faults() {
				state = append(state, f.Remaining)
				if f.Injected != f.Count-f.Remaining {
					t.Errorf("fault %d: injected %d, count %d, remaining %d", f.ID, f.Injected, f.Count, f.Remaining)
				}
			}
			if !reflect.DeepEqual(state, tt.state) {
				t.Errorf("remaining %v, want %v", state, tt.state)
			}
			if n := len(tab.Log()); n != len(tt.requests) {
				t.Errorf("log has %d entries, want %d", n, len(tt.requests))
			}
		})
	}
}

func TestTableArm(t *testing.T) {
	tests := []struct {
		name    string
		in      Fault
		want    Fault // when wantErr is empty
		wantErr string
	}{
		{"defaults: status action, 503", Fault{Count: 1},
			Fault{ID: 1, Action: ActionStatus, Status: 503, Count: 1, Remaining: 1}, ""},
		{"methods upper-cased, state reset", Fault{Methods: []string{"put", "Head"}, Path: "/x", Status: 502, Count: 3, Remaining: 9, Injected: 4},
			Fault{ID: 1, Methods: []string{"PUT", "HEAD"}, Path: "/x", Action: ActionStatus, Status: 502, Count: 3, Remaining: 3}, ""},
		{"reset without status", Fault{Action: ActionReset, Count: 2, Skip: 1},
			Fault{ID: 1, Action: ActionReset, Count: 2, Skip: 1, Remaining: 2}, ""},
		{"unknown action", Fault{Action: "drop", Count: 1}, Fault{}, `unknown action "drop" (want "status", "reset" or "close")`},
		{"status out of range", Fault{Status: 42, Count: 1}, Fault{}, "status 42 is not an HTTP status (100-599)"},
		{"status with close", Fault{Action: ActionClose, Status: 503, Count: 1}, Fault{}, `status 503 makes no sense with action "close", which sends no answer`},
		{"zero count", Fault{}, Fault{}, "count 0: a fault must take at least one request"},
		{"negative skip", Fault{Count: 1, Skip: -1}, Fault{}, "skip -1 is negative"},
		{"retryAfter with reset", Fault{Action: ActionReset, Count: 1, RetryAfter: 3}, Fault{}, `retryAfter 3: only a non-negative value with action "status"`},
		{"empty method", Fault{Methods: []string{"GET", " "}, Count: 1}, Fault{}, "methods[1] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := NewTable(fixedNow, 10)
			in := tt.in
			in.Methods = append([]string(nil), tt.in.Methods...)
			got, err := tab.Arm(in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if n := len(tab.Faults()); n != 0 {
					t.Errorf("a refused fault was armed (%d faults)", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(in.Methods, tt.in.Methods) {
				t.Errorf("Arm changed the caller's methods slice: %q", in.Methods)
			}
		})
	}
}

func TestTableLogLimitDoneAndReset(t *testing.T) {
	tab := NewTable(fixedNow, 3)
	if _, err := tab.Arm(Fault{Path: "/b", Count: 1}); err != nil {
		t.Fatal(err)
	}
	var ds []Decision
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		ds = append(ds, tab.Take("GET", p))
	}
	tab.Done(ds[0], 200) // dropped from the log already: ignored
	tab.Done(ds[3], 201)
	tab.Done(ds[1], 299) // injected: its status stays the injected one (but it was dropped too)
	want := []Entry{
		{Time: t0, Method: "GET", Path: "/c", Outcome: OutcomePassed},
		{Time: t0, Method: "GET", Path: "/d", Outcome: OutcomePassed, Status: 201},
		{Time: t0, Method: "GET", Path: "/e", Outcome: OutcomePassed},
	}
	if got := tab.Log(); !reflect.DeepEqual(got, want) {
		t.Errorf("log\n got %+v\nwant %+v", got, want)
	}
	if c := tab.Counters(); c != (Counters{Injected: 1, Passed: 4}) {
		t.Errorf("counters %+v", c)
	}

	tab.Reset()
	tab.Done(ds[4], 200) // from before the reset: ignored
	if c, l, f := tab.Counters(), tab.Log(), tab.Faults(); c != (Counters{}) || len(l) != 0 || len(f) != 0 {
		t.Fatalf("after Reset: counters %+v, log %+v, faults %+v", c, l, f)
	}
	f, err := tab.Arm(Fault{Count: 1})
	if err != nil || f.ID != 2 {
		t.Fatalf("the first fault after a reset got ID %d (%v), want 2: IDs are never reused", f.ID, err)
	}
	d := tab.Take("PUT", "/x")
	tab.Done(d, 201) // injected: Done does not overwrite its status
	if got := tab.Log(); len(got) != 1 || got[0].Outcome != OutcomeInjected || got[0].Status != 503 || got[0].FaultID != 2 {
		t.Errorf("log after reset %+v", got)
	}

	tab.Clear()
	if c := tab.Counters(); c != (Counters{Injected: 1}) || len(tab.Faults()) != 0 {
		t.Errorf("Clear: counters %+v (want them kept), faults %d", c, len(tab.Faults()))
	}
	if d := tab.Take("PUT", "/x"); d.Fault != nil {
		t.Errorf("a cleared fault still took a request")
	}
}

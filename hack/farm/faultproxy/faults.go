package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Action is what the proxy does with a request a fault takes.
type Action string

// The actions a fault can take.
const (
	// ActionStatus answers with Fault.Status and a registry-style error body.
	ActionStatus Action = "status"
	// ActionReset closes the TCP connection with a RST (SO_LINGER 0), no answer:
	// the client sees "connection reset by peer".
	ActionReset Action = "reset"
	// ActionClose closes the TCP connection without an answer and without a
	// TLS close_notify: the client sees an unexpected EOF.
	ActionClose Action = "close"
)

// Fault is one armed fault: the next Count requests whose method is one of
// Methods (any when empty) and whose URL path contains Path (any when empty)
// are answered by Action instead of the registry, after Skip matching
// requests were let through.
type Fault struct {
	ID         int      `json:"id"`
	Methods    []string `json:"methods,omitempty"`
	Path       string   `json:"path,omitempty"`
	Action     Action   `json:"action"`
	Status     int      `json:"status,omitempty"`
	RetryAfter int      `json:"retryAfter,omitempty"` // seconds, sent as Retry-After with ActionStatus
	Count      int      `json:"count"`
	Skip       int      `json:"skip,omitempty"`
	// Remaining and Injected are the fault's state: requests it will still
	// take, and requests it took.
	Remaining int `json:"remaining"`
	Injected  int `json:"injected"`
	Skipped   int `json:"skipped"`
}

// normalize fills defaults (action status, status 503) and checks f.
func (f *Fault) normalize() error {
	if f.Action == "" {
		f.Action = ActionStatus
	}
	switch f.Action {
	case ActionStatus:
		if f.Status == 0 {
			f.Status = http.StatusServiceUnavailable
		}
		if f.Status < 100 || f.Status > 599 {
			return fmt.Errorf("status %d is not an HTTP status (100-599)", f.Status)
		}
	case ActionReset, ActionClose:
		if f.Status != 0 {
			return fmt.Errorf("status %d makes no sense with action %q, which sends no answer", f.Status, f.Action)
		}
	default:
		return fmt.Errorf("unknown action %q (want %q, %q or %q)", f.Action, ActionStatus, ActionReset, ActionClose)
	}
	if f.Count < 1 {
		return fmt.Errorf("count %d: a fault must take at least one request", f.Count)
	}
	if f.Skip < 0 {
		return fmt.Errorf("skip %d is negative", f.Skip)
	}
	if f.RetryAfter < 0 || (f.RetryAfter > 0 && f.Action != ActionStatus) {
		return fmt.Errorf("retryAfter %d: only a non-negative value with action %q", f.RetryAfter, ActionStatus)
	}
	for i, m := range f.Methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" {
			return fmt.Errorf("methods[%d] is empty", i)
		}
		f.Methods[i] = m
	}
	f.Remaining, f.Injected, f.Skipped = f.Count, 0, 0
	return nil
}

func (f *Fault) matches(method, path string) bool {
	if !strings.Contains(path, f.Path) {
		return false
	}
	if len(f.Methods) == 0 {
		return true
	}
	for _, m := range f.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// Outcome is what happened to one request.
type Outcome string

// The outcomes the proxy records.
const (
	OutcomeInjected Outcome = "injected"
	OutcomePassed   Outcome = "passed"
)

// Entry is one request in the log.
type Entry struct {
	Time    time.Time `json:"time"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Outcome Outcome   `json:"outcome"`
	Action  Action    `json:"action,omitempty"` // injected only
	FaultID int       `json:"fault,omitempty"`  // injected only
	// Status is the injected status, or the registry's answer to a passed
	// request (0 while it is in flight or when no answer came).
	Status int `json:"status,omitempty"`
}

// Counters are the totals since the last reset.
type Counters struct {
	Injected int `json:"injected"`
	Passed   int `json:"passed"`
}

// Table holds the armed faults, the counters and the bounded request log.
// It is safe for concurrent use.
type Table struct {
	mu       sync.Mutex
	now      func() time.Time
	logLimit int
	nextID   int
	faults   []*Fault
	counters Counters
	log      []Entry
	logBase  int // index of log[0] since the last reset: entries dropped for the limit
}

// NewTable returns an empty table keeping the last logLimit requests.
func NewTable(now func() time.Time, logLimit int) *Table {
	return &Table{now: now, logLimit: logLimit, nextID: 1}
}

// Arm checks f, adds it after the faults already armed and returns it with
// its ID and state set.
func (t *Table) Arm(f Fault) (Fault, error) {
	f.Methods = append([]string(nil), f.Methods...)
	if err := f.normalize(); err != nil {
		return Fault{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f.ID = t.nextID
	t.nextID++
	t.faults = append(t.faults, &f)
	return f, nil
}

// Decision is what to do with one request.
type Decision struct {
	Fault *Fault // nil: pass it through
	entry int    // log index (since the last reset) for Done
}

// Take decides about one request: the first armed fault that matches it and
// has requests left takes it (or lets it pass while it still skips);
// otherwise it passes. The request is counted and logged.
func (t *Table) Take(method, path string) Decision {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := Entry{Time: t.now(), Method: method, Path: path, Outcome: OutcomePassed}
	var took *Fault
	for _, f := range t.faults {
		if f.Remaining == 0 || !f.matches(method, path) {
			continue
		}
		if f.Skipped < f.Skip {
			f.Skipped++
			break
		}
		f.Remaining--
		f.Injected++
		c := *f
		c.Methods = append([]string(nil), f.Methods...)
		took = &c
		e.Outcome, e.Action, e.FaultID = OutcomeInjected, f.Action, f.ID
		if f.Action == ActionStatus {
			e.Status = f.Status
		}
		break
	}
	if took != nil {
		t.counters.Injected++
	} else {
		t.counters.Passed++
	}
	idx := t.logBase + len(t.log)
	t.log = append(t.log, e)
	if t.logLimit > 0 && len(t.log) > t.logLimit {
		drop := len(t.log) - t.logLimit
		t.log = append([]Entry(nil), t.log[drop:]...)
		t.logBase += drop
	}
	return Decision{Fault: took, entry: idx}
}

// Done records the registry's status for a passed request.
func (t *Table) Done(d Decision, status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := d.entry - t.logBase
	if i >= 0 && i < len(t.log) && t.log[i].Outcome == OutcomePassed {
		t.log[i].Status = status
	}
}

// Faults returns copies of the armed faults, in arming order.
func (t *Table) Faults() []Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Fault, 0, len(t.faults))
	for _, f := range t.faults {
		c := *f
		c.Methods = append([]string(nil), f.Methods...)
		out = append(out, c)
	}
	return out
}

// Counters returns the totals since the last reset.
func (t *Table) Counters() Counters {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counters
}

// Log returns a copy of the logged requests, oldest first.
func (t *Table) Log() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(make([]Entry, 0, len(t.log)), t.log...)
}

// Clear disarms every fault; counters and log stay.
func (t *Table) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = nil
}

// Reset disarms every fault and zeroes the counters and the log. Fault IDs
// keep counting, so an old ID never names a new fault.
func (t *Table) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = nil
	t.counters = Counters{}
	t.logBase += len(t.log)
	t.log = nil
}

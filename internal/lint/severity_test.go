package lint

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr string
	}{
		{"error", SeverityError, ""},
		{"Warning", SeverityWarning, ""},
		{" info ", SeverityInfo, ""},
		{"style", SeverityStyle, ""},
		{"none", 0, `unknown severity "none": want error, warning, info or style`},
		{"", 0, `unknown severity "": want error, warning, info or style`},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseSeverity(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if !(SeverityStyle < SeverityInfo && SeverityInfo < SeverityWarning && SeverityWarning < SeverityError) {
		t.Error("severities are not ordered from style to error")
	}
	if got := Severity(7).String(); got != "severity(7)" {
		t.Errorf("invalid severity String() = %q", got)
	}
}

func TestSeverityJSON(t *testing.T) {
	for _, s := range []Severity{SeverityStyle, SeverityInfo, SeverityWarning, SeverityError} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `"`+s.String()+`"` {
			t.Errorf("Marshal(%v) = %s", s, b)
		}
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"fatal"`), &s); err == nil {
		t.Error(`Unmarshal("fatal") succeeded`)
	}
	if err := json.Unmarshal([]byte(`3`), &s); err == nil {
		t.Error(`Unmarshal(3) succeeded`)
	}
	if _, err := json.Marshal(Severity(-1)); err == nil {
		t.Error("Marshal(-1) succeeded")
	}
}

func TestThreshold(t *testing.T) {
	all := []Severity{SeverityStyle, SeverityInfo, SeverityWarning, SeverityError}
	tests := []struct {
		in    string
		fails []bool // for style, info, warning, error
	}{
		{"error", []bool{false, false, false, true}},
		{"warning", []bool{false, false, true, true}},
		{"INFO", []bool{false, true, true, true}},
		{"style", []bool{true, true, true, true}},
		{"none", []bool{false, false, false, false}},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.in)
		if err != nil {
			t.Fatalf("ParseThreshold(%q): %v", tt.in, err)
		}
		for i, sev := range all {
			if got := th.Fails(sev); got != tt.fails[i] {
				t.Errorf("threshold %s Fails(%v) = %v, want %v", tt.in, sev, got, tt.fails[i])
			}
		}
	}
	_, err := ParseThreshold("critical")
	if err == nil || err.Error() != `unknown lint threshold "critical": want error, warning, info, style or none` {
		t.Errorf("ParseThreshold(critical) error = %v", err)
	}
	if got := ThresholdAt(SeverityWarning).String(); got != "warning" {
		t.Errorf("String() = %q", got)
	}
	if got := ThresholdNone.String(); got != "none" {
		t.Errorf("String() = %q", got)
	}
}

func TestResultFailedAndCounts(t *testing.T) {
	r := &Result{Findings: []Finding{
		{Rule: "XB005", Severity: SeverityWarning},
		{Rule: "DL3015", Severity: SeverityInfo},
		{Rule: "DL3059", Severity: SeverityInfo},
	}}
	tests := map[string]bool{"error": false, "warning": true, "info": true, "style": true, "none": false}
	for name, want := range tests {
		th, _ := ParseThreshold(name)
		if got := r.Failed(th); got != want {
			t.Errorf("Failed(%s) = %v, want %v", name, got, want)
		}
	}
	want := map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2, SeverityStyle: 0}
	if got := r.Counts(); !maps.Equal(got, want) {
		t.Errorf("Counts() = %v, want %v", got, want)
	}
	var nilResult *Result
	if nilResult.Failed(ThresholdAt(SeverityStyle)) {
		t.Error("nil result failed")
	}
	if got := (&Result{}).Counts(); !maps.Equal(got, map[Severity]int{SeverityError: 0, SeverityWarning: 0, SeverityInfo: 0, SeverityStyle: 0}) {
		t.Errorf("empty Counts() = %v", got)
	}
}

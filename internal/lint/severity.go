package lint

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity is how serious a finding is. Higher values are more severe, so
// severities compare with < and >.
type Severity int

// The severities, from least to most severe. They match hadolint's levels.
const (
	SeverityStyle Severity = iota
	SeverityInfo
	SeverityWarning
	SeverityError
)

var severityNames = [...]string{"style", "info", "warning", "error"}

// ParseSeverity turns "error", "warning", "info" or "style" (any case) into a
// Severity.
func ParseSeverity(s string) (Severity, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: want error, warning, info or style", s)
}

// String returns the lower-case name used in every output format.
func (s Severity) String() string {
	if s < SeverityStyle || s > SeverityError {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalJSON writes the severity as its name, so JSON output stays readable
// and stable if the numbering ever changes.
func (s Severity) MarshalJSON() ([]byte, error) {
	if s < SeverityStyle || s > SeverityError {
		return nil, fmt.Errorf("cannot marshal invalid severity %d", int(s))
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a severity written by MarshalJSON.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("severity must be a string: %w", err)
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Threshold is the lowest severity that fails the lint gate, or "none" for a
// gate that reports but never fails. The zero value fails on style and above.
type Threshold struct {
	min  Severity
	none bool
}

// ThresholdNone never fails.
var ThresholdNone = Threshold{none: true}

// ParseThreshold reads error, warning, info, style or none (any case).
func ParseThreshold(s string) (Threshold, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "none" {
		return ThresholdNone, nil
	}
	sev, err := ParseSeverity(name)
	if err != nil {
		return Threshold{}, fmt.Errorf("unknown lint threshold %q: want error, warning, info, style or none", s)
	}
	return Threshold{min: sev}, nil
}

// ThresholdAt returns the threshold that fails on sev and anything more severe.
func ThresholdAt(sev Severity) Threshold { return Threshold{min: sev} }

// Fails reports whether a finding of severity s fails the gate.
func (t Threshold) Fails(s Severity) bool {
	return !t.none && s >= t.min
}

// String returns the name ParseThreshold accepts.
func (t Threshold) String() string {
	if t.none {
		return "none"
	}
	return t.min.String()
}

package lint

import (
	"cmp"
	"slices"
)

// Sources of findings.
const (
	SourceXbuild   = "xbuild"
	SourceHadolint = "hadolint"
	SourceBuildKit = "buildkit"
)

// Finding is one problem found in a Dockerfile.
type Finding struct {
	Rule     string   `json:"rule"`     // XB001.., DL3008, SC2086, or a BuildKit check name such as FromAsCasing
	Severity Severity `json:"severity"` // after merging, the highest severity of the merged findings
	File     string   `json:"file"`     // the Dockerfile path as given to Run or Check
	Line     int      `json:"line"`     // 1-based; file-level findings use line 1
	Column   int      `json:"column,omitempty"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"` // what to do
	Source   string   `json:"source"`         // "xbuild", "hadolint" or "buildkit"
	Also     []string `json:"also,omitempty"` // equivalent rules from other sources merged into this one
}

// Result is everything one lint run found.
type Result struct {
	Findings []Finding
	Hadolint HadolintStatus
	// Notices are messages for the person running xbuild that are not
	// findings, such as "hadolint is not installed".
	Notices []string
}

// HadolintStatus says whether hadolint took part in a run, and if not, why.
type HadolintStatus struct {
	Used       bool   `json:"used"`
	Path       string `json:"path,omitempty"`
	Version    string `json:"version,omitempty"`
	SkipReason string `json:"skipReason,omitempty"`
}

// Failed reports whether any finding fails the threshold.
func (r *Result) Failed(t Threshold) bool {
	if r == nil {
		return false
	}
	for _, f := range r.Findings {
		if t.Fails(f.Severity) {
			return true
		}
	}
	return false
}

// Counts returns the number of findings per severity. Every severity is
// present, with 0 when there is none, so callers can index it directly.
func (r *Result) Counts() map[Severity]int {
	c := map[Severity]int{SeverityError: 0, SeverityWarning: 0, SeverityInfo: 0, SeverityStyle: 0}
	if r == nil {
		return c
	}
	for _, f := range r.Findings {
		c[f.Severity]++
	}
	return c
}

// sortFindings orders findings by file, line and rule, then by the remaining
// fields so the order never depends on map iteration.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

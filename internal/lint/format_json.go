package lint

import (
	"encoding/json"
	"io"
)

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	Findings []Finding      `json:"findings"`
	Hadolint HadolintStatus `json:"hadolint"`
	Notices  []string       `json:"notices"`
	Summary  jsonSummary    `json:"summary"`
}

type jsonSummary struct {
	Total   int `json:"total"`
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
	Style   int `json:"style"`
}

// WriteJSON writes the result as one JSON document:
// {"findings":[...],"hadolint":{...},"notices":[...],"summary":{...}}.
// Lists are [] rather than null when empty.
func WriteJSON(w io.Writer, r *Result) error {
	c := r.Counts()
	doc := jsonReport{
		Findings: r.Findings,
		Hadolint: r.Hadolint,
		Notices:  r.Notices,
		Summary: jsonSummary{
			Total: len(r.Findings), Error: c[SeverityError], Warning: c[SeverityWarning],
			Info: c[SeverityInfo], Style: c[SeverityStyle],
		},
	}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	if doc.Notices == nil {
		doc.Notices = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

package lint

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ANSI colours per severity, used when WriteTTY is asked for colour.
var severityColor = map[Severity]string{
	SeverityError:   "\x1b[31m", // red
	SeverityWarning: "\x1b[33m", // yellow
	SeverityInfo:    "\x1b[36m", // cyan
	SeverityStyle:   "\x1b[2m",  // dim
}

const colorReset = "\x1b[0m"

// WriteTTY writes findings for a person: one line per finding
// ("Dockerfile:12 error XB001 message"), its hint and merged rules indented
// below it, the notices, and a summary line.
func WriteTTY(w io.Writer, r *Result, color bool) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Findings {
		sev := f.Severity.String()
		if color {
			sev = severityColor[f.Severity] + sev + colorReset
		}
		fmt.Fprintf(bw, "%s:%d %s %s %s\n", f.File, f.Line, sev, f.Rule, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(bw, "    hint: %s\n", f.Hint)
		}
		if len(f.Also) > 0 {
			fmt.Fprintf(bw, "    also reported as: %s\n", strings.Join(f.Also, ", "))
		}
	}
	for _, n := range r.Notices {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	fmt.Fprintln(bw, Summary(r))
	return bw.Flush()
}

// Summary is the one-line summary WriteTTY ends with, such as
// "3 findings: 1 error, 2 warnings (hadolint 2.12.0 + built-in rules)".
func Summary(r *Result) string {
	var b strings.Builder
	switch n := len(r.Findings); n {
	case 0:
		b.WriteString("no findings")
	case 1:
		b.WriteString("1 finding: ")
	default:
		fmt.Fprintf(&b, "%d findings: ", n)
	}
	counts := r.Counts()
	var parts []string
	for sev := SeverityError; sev >= SeverityStyle; sev-- {
		if c := counts[sev]; c > 0 {
			name := sev.String()
			if c > 1 && sev != SeverityInfo && sev != SeverityStyle {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", c, name))
		}
	}
	b.WriteString(strings.Join(parts, ", "))
	b.WriteString(" (")
	b.WriteString(sourcesLabel(r.Hadolint))
	b.WriteString(")")
	return b.String()
}

// sourcesLabel says which linters produced the result.
func sourcesLabel(h HadolintStatus) string {
	switch {
	case h.Used && h.Version != "":
		return "hadolint " + h.Version + " + built-in rules"
	case h.Used:
		return "hadolint + built-in rules"
	default:
		return "built-in rules only"
	}
}

package lint

import (
	"regexp"
	"strings"
)

// ignorePragma matches `# xbuild ignore=A,B` and `# hadolint ignore=A,B`,
// optionally `global ignore=`, with anything after the list (hadolint
// allows a trailing `# reason`).
var ignorePragma = regexp.MustCompile(`(?i)^\s*#\s*(?:xbuild|hadolint)\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)`)

// ruleSet is a set of rule IDs, compared case-insensitively, that always
// holds the equivalents of every rule added to it.
type ruleSet map[string]bool

func (s ruleSet) add(ids ...string) {
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		for _, r := range equivalentRules(id) {
			s[strings.ToUpper(r)] = true
		}
		s[strings.ToUpper(id)] = true
	}
}

// covers reports whether the set names f's rule or one merged into it.
func (s ruleSet) covers(f Finding) bool {
	if s[strings.ToUpper(f.Rule)] {
		return true
	}
	for _, a := range f.Also {
		if s[strings.ToUpper(a)] {
			return true
		}
	}
	return false
}

// ignoreSpan is the rules ignored for the lines of one instruction.
type ignoreSpan struct {
	start, end int
	rules      ruleSet
}

// inlineIgnores collects the ignore pragmas of a parsed Dockerfile: global
// ones anywhere in the file, and per-instruction ones in the block of
// comment lines directly above an instruction.
func inlineIgnores(df *dockerfile) (global ruleSet, spans []ignoreSpan) {
	global = ruleSet{}
	for _, l := range df.lines {
		if m := ignorePragma.FindStringSubmatch(l); m != nil && m[1] != "" {
			global.add(strings.Split(m[2], ",")...)
		}
	}
	for _, n := range df.nodes {
		rules := ruleSet{}
		for i := n.StartLine - 2; i >= 0 && i < len(df.lines); i-- {
			l := strings.TrimSpace(df.lines[i])
			if !strings.HasPrefix(l, "#") {
				break
			}
			if m := ignorePragma.FindStringSubmatch(l); m != nil && m[1] == "" {
				rules.add(strings.Split(m[2], ",")...)
			}
		}
		if len(rules) > 0 {
			spans = append(spans, ignoreSpan{start: n.StartLine, end: n.EndLine, rules: rules})
		}
	}
	return global, spans
}

// applyIgnores drops the findings an inline pragma or the Ignore option
// silences. A finding before the first instruction (file-level findings sit
// on line 1) belongs to the first instruction.
func applyIgnores(df *dockerfile, in []Finding, ignore []string) []Finding {
	global, spans := inlineIgnores(df)
	global.add(ignore...)
	first := 0
	if len(df.nodes) > 0 {
		first = df.nodes[0].StartLine
	}
	out := in[:0]
	for _, f := range in {
		if global.covers(f) {
			continue
		}
		line := f.Line
		if line < first {
			line = first
		}
		silenced := false
		for _, s := range spans {
			if line >= s.start && line <= s.end && s.rules.covers(f) {
				silenced = true
				break
			}
		}
		if !silenced {
			out = append(out, f)
		}
	}
	return out
}

package lint

import (
	"regexp"
	"slices"
	"strings"
)

// equivalents is the one table of rules that report the same problem from
// different tools. When findings of one group land on the same line, the
// first rule's finding (xbuild's, with its hint) is kept, the others are
// listed in its Also, and it takes the highest severity among them, so a
// merge never weakens the gate. Ignoring any rule of a group ignores all.
var equivalents = [][]string{
	{"XB000", "DL1000"},
	{"XB002", "SecretsUsedInArgOrEnv"},
	{"XB005", "DL3006", "DL3007"},
	{"XB006", "DL3002"},
	{"XB007", "DL3020"},
	{"MaintainerDeprecated", "DL4000"},
	{"JSONArgsRecommended", "DL3025"},
	{"WorkdirRelativePath", "DL3000"},
	{"DuplicateStageName", "DL3024"},
}

// canonicalRule returns the rule a finding of rule id is merged into, and
// whether id belongs to a group at all.
func canonicalRule(id string) (string, bool) {
	for _, g := range equivalents {
		for _, r := range g {
			if strings.EqualFold(r, id) {
				return g[0], true
			}
		}
	}
	return id, false
}

// equivalentRules returns id and every rule equivalent to it.
func equivalentRules(id string) []string {
	for _, g := range equivalents {
		for _, r := range g {
			if strings.EqualFold(r, id) {
				return g
			}
		}
	}
	return []string{id}
}

// quoted finds the subject a message names in double quotes, such as the
// variable in BuildKit's SecretsUsedInArgOrEnv message.
var quoted = regexp.MustCompile(`"([^"]+)"`)

// sameSubject reports whether kept may absorb other: when other names a
// subject in quotes, kept's message must mention it too, so that two
// findings about different variables on one line stay apart.
func sameSubject(kept, other Finding) bool {
	m := quoted.FindStringSubmatch(other.Message)
	return m == nil || strings.Contains(kept.Message, m[1])
}

// mergeFindings drops exact duplicates and folds equivalent findings on the
// same line into the canonical one (see equivalents).
func mergeFindings(in []Finding) []Finding {
	type key struct {
		file, rule, msg string
		line            int
	}
	seen := map[key]bool{}
	var out []Finding
	for _, f := range in {
		k := key{f.File, f.Rule, f.Message, f.Line}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	dropped := make([]bool, len(out))
	for i, f := range out {
		canon, grouped := canonicalRule(f.Rule)
		if !grouped || canon == f.Rule {
			continue
		}
		for j := range out {
			k := &out[j]
			if j == i || dropped[j] || k.Rule != canon || k.File != f.File || k.Line != f.Line || !sameSubject(*k, f) {
				continue
			}
			if !slices.Contains(k.Also, f.Rule) {
				k.Also = append(k.Also, f.Rule)
			}
			for _, a := range f.Also {
				if !slices.Contains(k.Also, a) {
					k.Also = append(k.Also, a)
				}
			}
			k.Severity = max(k.Severity, f.Severity)
			dropped[i] = true
			break
		}
	}
	kept := out[:0]
	for i, f := range out {
		if !dropped[i] {
			kept = append(kept, f)
		}
	}
	return kept
}

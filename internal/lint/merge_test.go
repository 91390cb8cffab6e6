package lint

import (
	"reflect"
	"testing"
)

func TestMergeFindings(t *testing.T) {
	xb := func(rule string, line int, sev Severity, msg string) Finding {
		return Finding{Rule: rule, Severity: sev, File: "Dockerfile", Line: line, Message: msg, Source: SourceXbuild, Hint: "h"}
	}
	hl := func(rule string, line int, sev Severity, msg string) Finding {
		return Finding{Rule: rule, Severity: sev, File: "Dockerfile", Line: line, Message: msg, Source: SourceHadolint}
	}
	bk := func(rule string, line int, msg string) Finding {
		return Finding{Rule: rule, Severity: SeverityWarning, File: "Dockerfile", Line: line, Message: msg, Source: SourceBuildKit}
	}
	tests := []struct {
		name string
		in   []Finding
		want []Finding
	}{
		{
			name: "latest tag reported by both",
			in:   []Finding{hl("DL3007", 1, SeverityWarning, "Using latest"), xb("XB005", 1, SeverityWarning, "FROM x:latest")},
			want: []Finding{{Rule: "XB005", Severity: SeverityWarning, File: "Dockerfile", Line: 1, Message: "FROM x:latest", Source: SourceXbuild, Hint: "h", Also: []string{"DL3007"}}},
		},
		{
			name: "merge keeps the higher severity",
			in:   []Finding{xb("XB007", 3, SeverityWarning, "ADD"), hl("DL3020", 3, SeverityError, "Use COPY")},
			want: []Finding{{Rule: "XB007", Severity: SeverityError, File: "Dockerfile", Line: 3, Message: "ADD", Source: SourceXbuild, Hint: "h", Also: []string{"DL3020"}}},
		},
		{
			name: "different lines stay apart",
			in:   []Finding{xb("XB006", 4, SeverityWarning, "root"), hl("DL3002", 5, SeverityWarning, "Last USER")},
			want: []Finding{xb("XB006", 4, SeverityWarning, "root"), hl("DL3002", 5, SeverityWarning, "Last USER")},
		},
		{
			name: "three sources on one line",
			in: []Finding{
				xb("XB002", 2, SeverityError, "ENV sets DB_PASSWORD"),
				bk("SecretsUsedInArgOrEnv", 2, `Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")`),
				hl("DL3007", 2, SeverityWarning, "unrelated"),
			},
			want: []Finding{
				{Rule: "XB002", Severity: SeverityError, File: "Dockerfile", Line: 2, Message: "ENV sets DB_PASSWORD", Source: SourceXbuild, Hint: "h", Also: []string{"SecretsUsedInArgOrEnv"}},
				hl("DL3007", 2, SeverityWarning, "unrelated"),
			},
		},
		{
			name: "a quoted subject must match",
			in: []Finding{
				xb("XB002", 2, SeverityError, "ENV sets DB_PASSWORD"),
				bk("SecretsUsedInArgOrEnv", 2, `Do not use ARG or ENV instructions for sensitive data (ENV "AUTH_MODE")`),
			},
			want: []Finding{
				xb("XB002", 2, SeverityError, "ENV sets DB_PASSWORD"),
				bk("SecretsUsedInArgOrEnv", 2, `Do not use ARG or ENV instructions for sensitive data (ENV "AUTH_MODE")`),
			},
		},
		{
			name: "buildkit and hadolint: the buildkit one is kept",
			in:   []Finding{hl("DL4000", 2, SeverityError, "MAINTAINER is deprecated"), bk("MaintainerDeprecated", 2, "Maintainer instruction is deprecated")},
			want: []Finding{{Rule: "MaintainerDeprecated", Severity: SeverityError, File: "Dockerfile", Line: 2, Message: "Maintainer instruction is deprecated", Source: SourceBuildKit, Also: []string{"DL4000"}}},
		},
		{
			name: "exact duplicates collapse",
			in:   []Finding{hl("SC2086", 5, SeverityInfo, "Double quote"), hl("SC2086", 5, SeverityInfo, "Double quote")},
			want: []Finding{hl("SC2086", 5, SeverityInfo, "Double quote")},
		},
		{
			name: "same rule, different subjects stay apart",
			in:   []Finding{xb("XB001", 4, SeverityError, "ENV sets http_proxy"), xb("XB001", 4, SeverityError, "ENV sets no_proxy")},
			want: []Finding{xb("XB001", 4, SeverityError, "ENV sets http_proxy"), xb("XB001", 4, SeverityError, "ENV sets no_proxy")},
		},
		{
			name: "an equivalent without its canonical rule is kept as is",
			in:   []Finding{hl("DL3006", 1, SeverityWarning, "Always tag")},
			want: []Finding{hl("DL3006", 1, SeverityWarning, "Always tag")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeFindings(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEquivalentsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range equivalents {
		if len(g) < 2 {
			t.Errorf("group %v has nothing to merge", g)
		}
		for _, r := range g {
			if seen[r] {
				t.Errorf("rule %s is in two groups", r)
			}
			seen[r] = true
		}
	}
	for rule, want := range map[string]string{"DL3007": "XB005", "DL3006": "XB005", "DL3020": "XB007", "DL3002": "XB006", "XB005": "XB005", "SC2086": "SC2086"} {
		if got, _ := canonicalRule(rule); got != want {
			t.Errorf("canonicalRule(%s) = %s, want %s", rule, got, want)
		}
	}
}

package lint

import (
	"slices"
	"testing"
)

// TestInlineIgnores covers both pragma prefixes, ignoring a rule through
// an equivalent rule (DL3020 silences XB007), a blank line breaking the
// comment block, comments after the list, file-level findings on line 1,
// and global pragmas.
func TestInlineIgnores(t *testing.T) {
	tests := []struct {
		fixture string
		env     Env
		ignore  []string
		want    []string
	}{
		// Line 9: the blank line on 8 separates the pragma from the ADD.
		// Line 15: CACHE_PASSWORD has no pragma.
		{"ignore/Dockerfile", Env{}, nil, []string{"9 XB007", "15 XB002 +SecretsUsedInArgOrEnv"}},
		{"ignore/Dockerfile", Env{}, []string{"xb007"}, []string{"15 XB002 +SecretsUsedInArgOrEnv"}},
		// Ignoring BuildKit's rule also drops the XB002 it was merged into.
		{"ignore/Dockerfile", Env{}, []string{"SecretsUsedInArgOrEnv", "DL3020"}, []string{}},
		{"ignore/global.Dockerfile", Env{DockerignoreExists: true}, nil, []string{"1 XB005"}},
		{"ignore/global.Dockerfile", Env{DockerignoreExists: true}, []string{"DL3007"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			df, raw := check("Dockerfile", readFixture(t, tt.fixture), tt.env)
			got := summarize(finish(df, raw, tt.ignore))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ignore %q:\n got %q\nwant %q", tt.ignore, got, tt.want)
			}
		})
	}
}

// TestIgnoresApplyToHadolint checks that pragmas and Options.Ignore silence
// hadolint's findings too, and that `# xbuild ignore=XB005` drops the
// DL3007 merged into XB005.
func TestIgnoresApplyToHadolint(t *testing.T) {
	df, raw := check("Dockerfile", readFixture(t, "ignore/Dockerfile"), Env{})
	hl := []Finding{
		{Rule: "DL3007", Severity: SeverityWarning, File: "Dockerfile", Line: 4, Source: SourceHadolint, Message: "Using latest"},
		{Rule: "DL3008", Severity: SeverityWarning, File: "Dockerfile", Line: 6, Source: SourceHadolint, Message: "Pin versions"},
		{Rule: "SC2086", Severity: SeverityInfo, File: "Dockerfile", Line: 6, Source: SourceHadolint, Message: "Double quote"},
		{Rule: "DL3020", Severity: SeverityError, File: "Dockerfile", Line: 9, Source: SourceHadolint, Message: "Use COPY"},
		{Rule: "DL3002", Severity: SeverityWarning, File: "Dockerfile", Line: 17, Source: SourceHadolint, Message: "Last USER root"},
	}
	got := finish(df, append(raw, hl...), []string{"SC2086"})
	want := []string{"9 XB007 +DL3020", "15 XB002 +SecretsUsedInArgOrEnv"}
	if !slices.Equal(summarize(got), want) {
		t.Fatalf("got %q\nwant %q", summarize(got), want)
	}
	if got[0].Severity != SeverityError {
		t.Errorf("XB007 merged with DL3020 (error) has severity %v, want error", got[0].Severity)
	}
}

func TestIgnorePragma(t *testing.T) {
	tests := []struct {
		line   string
		global bool
		ids    string
	}{
		{"# xbuild ignore=XB001", false, "XB001"},
		{"#hadolint ignore=DL3008,SC2086", false, "DL3008,SC2086"},
		{"  # XBUILD ignore = XB001, XB005 # because", false, "XB001, XB005"},
		{"# hadolint global ignore=DL3003", true, "DL3003"},
		{"# xbuild ignore XB001", false, ""},
		{"# some comment mentioning hadolint ignore=DL3008", false, ""},
		{"RUN echo # xbuild ignore=XB001", false, ""},
	}
	for _, tt := range tests {
		m := ignorePragma.FindStringSubmatch(tt.line)
		var ids string
		var global bool
		if m != nil {
			ids, global = m[2], m[1] != ""
		}
		if ids != tt.ids || global != tt.global {
			t.Errorf("%q: ids %q global %v, want %q %v", tt.line, ids, global, tt.ids, tt.global)
		}
	}
}

package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// summarize renders findings as "LINE RULE" (plus merged rules), the shape
// the fixture tables compare exactly.
func summarize(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		s := fmt.Sprintf("%d %s", f.Line, f.Rule)
		if len(f.Also) > 0 {
			s += " +" + strings.Join(f.Also, ",")
		}
		out = append(out, s)
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCheckFixtures runs Check on one fixture per rule, positive and
// negative cases side by side, and compares every finding from every
// source (built-in and BuildKit) by line and rule.
func TestCheckFixtures(t *testing.T) {
	withIgnore := Env{DockerignoreExists: true}
	tests := []struct {
		fixture string
		env     Env
		want    []string
	}{
		{"good/Dockerfile", withIgnore, []string{}},
		{"good/Dockerfile", Env{}, []string{"1 XB008"}},
		{"good/Dockerfile", Env{DockerignoreExists: true, BuildArgs: map[string]string{
			"TARGETARCH": "arm64", "BUILDPLATFORM": "linux/amd64", "VERSION": "1.0", "GO_VERSION": "1.26.1",
		}}, []string{"1 XB003", "1 XB003"}},
		{"rules/xb000_syntax.Dockerfile", withIgnore, []string{"1 XB006", "2 XB000"}},
		// PROXY_MODE/NO_PROXY_LIST (line 7) are fine; ARG HTTP_PROXY (line 2) is XB010.
		{"rules/xb001_proxy_env.Dockerfile", withIgnore, []string{
			"2 XB010", "3 XB001", "4 XB001", "4 XB001", "5 LegacyKeyValueFormat", "5 XB001", "6 XB001",
		}},
		// the global ARG (line 1), HTTP_PROXY_HOST and PROXY_PORT (5) are fine
		{"rules/xb010_proxy_arg.Dockerfile", withIgnore, []string{"3 XB010", "4 XB010", "8 XB010"}},
		// GPG_KEY (6), *_PATH/*_FILE (7), a $VAR password (9) and an empty
		// ENV TOKEN= (14) are not XB002; BuildKit's own check still flags 6 and 14.
		{"rules/xb002_secrets.Dockerfile", withIgnore, []string{
			"2 XB002 +SecretsUsedInArgOrEnv",
			"3 XB002 +SecretsUsedInArgOrEnv",
			"4 XB002 +SecretsUsedInArgOrEnv",
			"5 XB002 +SecretsUsedInArgOrEnv",
			"5 XB002 +SecretsUsedInArgOrEnv",
			"6 SecretsUsedInArgOrEnv",
			"8 XB002", "10 XB002", "11 XB002", "12 XB002",
			"13 XB002 +SecretsUsedInArgOrEnv",
			"14 SecretsUsedInArgOrEnv",
		}},
		// ARG TARGETPLATFORM (1) and ARG TARGETOS (4) have no default.
		{"rules/xb003_platform_args.Dockerfile", withIgnore, []string{"2 XB003", "5 XB003", "6 XB003"}},
		{"rules/xb004_emulated.Dockerfile", withIgnore, []string{"1 XB004"}},
		{"rules/xb004_no_goarch.Dockerfile", withIgnore, []string{"5 XB004"}},
		{"rules/xb004_undeclared_arg.Dockerfile", withIgnore, []string{"4 XB004", "4 XB004"}},
		{"rules/xb004_negative.Dockerfile", withIgnore, []string{}},
		// node:${NODE_TAG} (5) resolves to a tag, :1.0 after a registry port (7),
		// a digest (8), an undeclared ARG (10), a stage (11) and scratch (12) pass.
		{"rules/xb005_base_tags.Dockerfile", withIgnore, []string{
			"3 XB005", "4 XB005", "6 XB005", "9 XB005", "10 UndefinedArgInFrom",
		}},
		{"rules/xb005_base_tags.Dockerfile", Env{DockerignoreExists: true, BuildArgs: map[string]string{"BASE": "debian:13"}},
			[]string{"3 XB005", "4 XB005", "6 XB005", "10 UndefinedArgInFrom"}},
		{"rules/xb006_scratch.Dockerfile", withIgnore, []string{"3 XB006"}},
		{"rules/xb006_root_user.Dockerfile", withIgnore, []string{"4 XB006"}},
		{"rules/xb006_root_uid.Dockerfile", withIgnore, []string{"2 XB006"}},
		{"rules/xb006_image_default.Dockerfile", withIgnore, []string{"1 XB006"}},
		{"rules/xb006_stage_chain.Dockerfile", withIgnore, []string{"3 XB006"}},
		{"rules/xb006_negative.Dockerfile", withIgnore, []string{}},
		{"rules/xb006_nonroot_base.Dockerfile", withIgnore, []string{}},
		{"rules/xb007_add.Dockerfile", withIgnore, []string{"7 XB007", "8 XB007", "9 XB007"}},
		{"rules/xb009_cgo_scratch.Dockerfile", withIgnore, []string{"5 XB009"}},
		{"rules/xb009_cgo_distroless.Dockerfile", withIgnore, []string{"5 XB009", "7 XB005"}},
		{"rules/xb009_negative.Dockerfile", withIgnore, []string{}},
		{"rules/xb009_libc_final.Dockerfile", withIgnore, []string{}},
		{"rules/xb009_cgo_scratch.Dockerfile", Env{DockerignoreExists: true, BuildArgs: map[string]string{"CGO_ENABLED": "0"}},
			[]string{"5 XB009"}}, // no ARG CGO_ENABLED in the stage: the build arg never reaches RUN
		{"rules/buildkit_checks.Dockerfile", withIgnore, []string{
			"1 FromAsCasing", "1 StageNameCasing", "2 MaintainerDeprecated", "3 LegacyKeyValueFormat",
			"4 WorkdirRelativePath", "5 JSONArgsRecommended", "5 MultipleInstructionsDisallowed", "8 UndefinedVar",
		}},
		{"bench/Dockerfile", withIgnore, []string{"20 XB005", "26 XB007"}},
	}
	for _, tt := range tests {
		name := tt.fixture
		if !tt.env.DockerignoreExists || tt.env.BuildArgs != nil {
			name += fmt.Sprintf("/env=%v,%d-args", tt.env.DockerignoreExists, len(tt.env.BuildArgs))
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := summarize(Check("Dockerfile", readFixture(t, tt.fixture), tt.env))
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestCheckEncoding: BuildKit's lexer prints to stderr on NUL bytes and
// invalid UTF-8, so Check reports them itself and keeps them away from it.
func TestCheckEncoding(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Finding
	}{
		{"UTF-16", "\xff\xfeF\x00R\x00O\x00M\x00 \x00a\x00\n\x00", []Finding{newFinding("Dockerfile", "XB000", 1,
			"the Dockerfile contains NUL bytes: it is not UTF-8 text (UTF-16 files must be converted to UTF-8)")}},
		{"Latin-1", "FROM alpine:3.22\nUSER 1\nLABEL author=Jos\xe9\nADD a.txt /\n", []Finding{
			newFinding("Dockerfile", "XB000", 3, "the Dockerfile is not valid UTF-8 (byte 0xe9): BuildKit replaces invalid bytes with U+FFFD"),
			newFinding("Dockerfile", "XB007", 4, `ADD copies local path "a.txt": COPY does the same without ADD's URL download and archive extraction`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check("Dockerfile", []byte(tt.data), Env{DockerignoreExists: true})
			if !slices.EqualFunc(got, tt.want, func(a, b Finding) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

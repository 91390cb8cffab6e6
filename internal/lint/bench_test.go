package lint

import (
	"testing"
)

// BenchmarkCheck measures Check on a typical 31-line, three-stage Go
// service Dockerfile: every built-in rule plus BuildKit's checks.
func BenchmarkCheck(b *testing.B) {
	data := readFixture(b, "bench/Dockerfile")
	env := Env{DockerignoreExists: true, BuildArgs: map[string]string{"VERSION": "1.2.3"}}
	b.ReportAllocs()
	for b.Loop() {
		if fs := Check("Dockerfile", data, env); len(fs) != 2 {
			b.Fatalf("Check found %d findings, want 2 (XB005, XB007)", len(fs))
		}
	}
}

// BenchmarkCheckParts splits BenchmarkCheck's cost: BuildKit's parser
// alone, xbuild's parse and rules, and BuildKit's checks (a second parse
// plus a conversion to LLB).
func BenchmarkCheckParts(b *testing.B) {
	data := readFixture(b, "bench/Dockerfile")
	env := Env{DockerignoreExists: true}
	b.Run("builtin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			df, _ := parseDockerfile("Dockerfile", data)
			_ = builtinFindings(df, env)
		}
	})
	b.Run("buildkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = buildkitChecks("Dockerfile", data, env)
		}
	})
}

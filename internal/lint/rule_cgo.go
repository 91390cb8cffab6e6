package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// staticOnlyBases are final-stage bases without a C library, where only a
// statically linked binary starts.
var staticOnlyBases = []string{"gcr.io/distroless/static", "cgr.dev/chainguard/static"}

var (
	cgoOffInline = regexp.MustCompile(`\bCGO_ENABLED=0\b`)
	staticLink   = regexp.MustCompile(`-extldflags[= ]+["']?[^"']*-static`)
	cCompiler    = regexp.MustCompile(`\b(?:gcc|clang|build-base|musl-dev|build-essential)\b`)
)

// isStaticOnly reports whether an (expanded) image reference has no libc.
func isStaticOnly(ref string) bool {
	ref = strings.ToLower(ref)
	if ref == "scratch" {
		return true
	}
	for _, p := range staticOnlyBases {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return false
}

// checkCgoStatic is XB009: a Go binary built with cgo enabled, copied into a
// final stage based on scratch or distroless/static, where it cannot find
// libc and fails to start.
func checkCgoStatic(df *dockerfile, buildArgs map[string]string) []Finding {
	final := df.final()
	if final == nil {
		return nil
	}
	args := df.globalArgs(buildArgs)
	base, ok := df.expand(final.root().base, args)
	if !ok || !isStaticOnly(base) {
		return nil
	}
	var out []Finding
	reported := map[int]bool{}
	for _, st := range final.chain() {
		for _, c := range st.cmds {
			cp, ok := c.cmd.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			src := df.stageRef(cp.From)
			if src == nil {
				continue
			}
			for _, run := range cgoBuilds(src, buildArgs) {
				if reported[run.line()] {
					continue
				}
				reported[run.line()] = true
				out = append(out, newFinding(df.file, "XB009", run.line(), fmt.Sprintf(
					"stage %s runs go build without CGO_ENABLED=0 and the final stage copies from it (line %d), but the final stage is FROM %s: a cgo-linked binary needs a C library there is none of, and will not start",
					src.label(), c.line(), base)))
			}
		}
	}
	return out
}

// cgoBuilds returns the go build RUNs in s's chain that may produce a
// cgo-linked binary: cgo is not switched off in the RUN (CGO_ENABLED=0 or
// -extldflags -static), nor by ENV/ARG CGO_ENABLED=0 or `go env -w` before
// it, and the build image can have a C compiler. An alpine-based chain that
// never installs one is skipped: Go turns cgo off when it finds no compiler.
func cgoBuilds(s *stage, buildArgs map[string]string) []command {
	chain := s.chain()
	alpine := strings.Contains(strings.ToLower(chain[0].base), "alpine")
	var (
		out                []command
		envVal, argVal     string
		goEnvOff, hasCComp bool
	)
	for _, st := range chain {
		for _, c := range st.cmds {
			switch cmd := c.cmd.(type) {
			case *instructions.EnvCommand:
				for _, kv := range cmd.Env {
					if kv.Key == "CGO_ENABLED" {
						envVal = kv.Value
					}
				}
			case *instructions.ArgCommand:
				for _, kv := range cmd.Args {
					if kv.Key != "CGO_ENABLED" {
						continue
					}
					if v, ok := buildArgs[kv.Key]; ok {
						argVal = v
					} else if kv.Value != nil {
						argVal = *kv.Value
					}
				}
			case *instructions.RunCommand:
				text := runText(cmd)
				hasCComp = hasCComp || cCompiler.MatchString(text)
				off := cgoOffInline.MatchString(text) || staticLink.MatchString(text) || goEnvOff
				if envVal != "" {
					off = off || envVal == "0"
				} else {
					off = off || argVal == "0"
				}
				if compilesGo(text) && !off && (!alpine || hasCComp) {
					out = append(out, c)
				}
				if strings.Contains(text, "go env -w") && cgoOffInline.MatchString(text) {
					goEnvOff = true
				}
			}
		}
	}
	return out
}

package lint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// platformArgs are the build args BuildKit sets for each platform of a
// multi-platform build.
var platformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true, "TARGETOSVERSION": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true, "BUILDOSVERSION": true,
}

// checkPlatformArgs is XB003: a platform arg with a default value, or passed
// as a build arg, replaces BuildKit's per-platform value for every platform.
func checkPlatformArgs(df *dockerfile, buildArgs map[string]string) []Finding {
	var out []Finding
	checkArg := func(c command) {
		for _, kv := range c.cmd.(*instructions.ArgCommand).Args {
			if platformArgs[kv.Key] && kv.Value != nil {
				out = append(out, newFinding(df.file, "XB003", c.line(), fmt.Sprintf(
					"ARG %s has a default value (%q): it replaces the value BuildKit sets for each platform, so every platform is built with the same one",
					kv.Key, df.unquote(*kv.Value))))
			}
		}
	}
	for _, c := range df.metaArgs {
		checkArg(c)
	}
	for _, s := range df.stages {
		for _, c := range s.cmds {
			if _, ok := c.cmd.(*instructions.ArgCommand); ok {
				checkArg(c)
			}
		}
	}
	var passed []string
	for k := range buildArgs {
		if platformArgs[k] {
			passed = append(passed, k)
		}
	}
	slices.Sort(passed)
	for _, k := range passed {
		out = append(out, newFinding(df.file, "XB003", 1, fmt.Sprintf(
			"build arg %s is passed explicitly (--build-arg %s=...): it overrides the value BuildKit sets for each platform, for all platforms at once",
			k, k)))
	}
	return out
}

var (
	// goBuild matches a go build or go install command, also through a path
	// such as /usr/local/go/bin/go, but not cargo build or xx-go build.
	goBuild = regexp.MustCompile("(?:^|[\\s;&|()`/])go\\s+(build|install)\\b")
	// goToolInstall matches `go install module@version`, which installs a
	// tool for the build itself rather than the image's binary.
	goToolInstall = regexp.MustCompile(`\bgo\s+install\s+(?:-\S+\s+)*\S+@\S+`)
	buildPlatform = regexp.MustCompile(`\$\{?BUILDPLATFORM\b`)
	// targetArchUse matches the ways a build can pick the target
	// architecture: GOARCH set in any way, or a TARGETARCH/TARGETPLATFORM
	// reference.
	targetArchUse = regexp.MustCompile(`\bGOARCH\b|\$\{?TARGET(?:ARCH|PLATFORM)\b`)
	targetVarRef  = regexp.MustCompile(`\$\{?(TARGET(?:OS|ARCH|PLATFORM|VARIANT))\b`)
)

// compilesGo reports whether a RUN builds a Go binary for the image (as
// opposed to only installing a tool at a pinned version).
func compilesGo(text string) bool {
	if !goBuild.MatchString(text) {
		return false
	}
	if strings.Contains(text, "go build") {
		return true
	}
	return !goToolInstall.MatchString(text)
}

// goRuns returns the RUN instructions of s that run go build or go install.
func goRuns(s *stage) []command {
	var out []command
	for _, c := range s.cmds {
		if r, ok := c.cmd.(*instructions.RunCommand); ok && goBuild.MatchString(runText(r)) {
			out = append(out, c)
		}
	}
	return out
}

// platformOf is the --platform in effect for s: its own, or the one of the
// earlier stage it builds on.
func platformOf(s *stage) string {
	for c := s; c != nil; c = c.parent {
		if c.platform != "" {
			return c.platform
		}
	}
	return ""
}

// checkGoCrossCompile is XB004: Go compiled under emulation (the stage does
// not run on $BUILDPLATFORM), or compiled natively but for the wrong
// architecture (no GOARCH/TARGETARCH, or TARGETARCH used without ARG).
func checkGoCrossCompile(df *dockerfile) []Finding {
	var out []Finding
	for _, s := range df.stages {
		runs := goRuns(s)
		if len(runs) == 0 {
			continue
		}
		if !buildPlatform.MatchString(platformOf(s)) {
			verb := goBuild.FindStringSubmatch(runText(runs[0].cmd.(*instructions.RunCommand)))[1]
			out = append(out, newFinding(df.file, "XB004", s.line, fmt.Sprintf(
				"stage %s runs go %s (line %d) but does not run on --platform=$BUILDPLATFORM: for every platform other than the builder's own, the Go compiler runs under emulation (5-20x slower)",
				s.label(), verb, runs[0].line())))
			continue
		}
		out = append(out, checkTargetArch(df, s, runs)...)
	}
	return out
}

// checkTargetArch is the second half of XB004, for a stage that runs on
// $BUILDPLATFORM: without GOARCH the binary is for the build machine.
func checkTargetArch(df *dockerfile, s *stage, runs []command) []Finding {
	var out []Finding
	declared := map[string]bool{}
	used := false
	for _, st := range s.chain() {
		for _, c := range st.cmds {
			switch cmd := c.cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range cmd.Args {
					declared[kv.Key] = true
				}
			case *instructions.EnvCommand:
				used = used || targetArchUse.MatchString(c.node.Original)
			case *instructions.RunCommand:
				used = used || targetArchUse.MatchString(runText(cmd))
				if st != s || !slices.ContainsFunc(runs, func(r command) bool { return r.node == c.node }) {
					continue
				}
				for _, m := range targetVarRef.FindAllStringSubmatch(runText(cmd), -1) {
					if !declared[m[1]] {
						out = append(out, newFinding(df.file, "XB004", c.line(), fmt.Sprintf(
							"RUN uses $%s but stage %s never declares ARG %s: inside a stage it is empty, so go build targets the build machine",
							m[1], s.label(), m[1])))
						declared[m[1]] = true // report each variable once
					}
				}
			}
		}
	}
	if !used && slices.ContainsFunc(runs, func(c command) bool { return compilesGo(runText(c.cmd.(*instructions.RunCommand))) }) {
		out = append(out, newFinding(df.file, "XB004", runs[0].line(), fmt.Sprintf(
			"stage %s compiles on the build platform ($BUILDPLATFORM) but never sets GOARCH or uses TARGETARCH: every platform's image gets a binary for the build machine's architecture",
			s.label())))
	}
	return out
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// p3: cross-compiling (the example Dockerfile) against compiling under QEMU.
func (h *harness) p3(s *Section) error {
	s.Title = "cross-compile vs emulation: examples/go-service on the qemu node"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	// Only the qemu node, in its own configuration: every platform is built there.
	xb, err := h.newXB(rec, "p3", []nodeReg{{name: "qemu", role: "qemu", builder: "p3", emulated: true, platforms: []string{"linux/amd64", "linux/arm64"}}})
	if err != nil {
		return err
	}
	example := filepath.Join(h.repo, "examples", "go-service")
	emu, err := emulatedVariant(example, filepath.Join(h.tmp, "p3-emulated"))
	if err != nil {
		return err
	}
	warm := filepath.Join(h.tmp, "p3-pull")
	if err := os.MkdirAll(warm, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(warm, "Dockerfile"), []byte("FROM golang:1.26\nRUN true\n"), 0o644); err != nil {
		return err
	}
	args := func(platform string, extra ...string) []string {
		return append([]string{"build", "--builder", "p3", "--platform", platform, "--allow-emulation", "--no-lint",
			"--size-budget", "", "--progress", "quiet", "--report", "json"}, extra...)
	}
	// Warm-up: the golang base image of both platforms on the node (not timed).
	if _, err := h.must(rec, cmd{Prog: h.xbuild, Args: args("linux/amd64,linux/arm64"), Dir: warm, Env: xb.Env, Timeout: 20 * time.Minute}, "warm-up: pull golang:1.26 for both platforms"); err != nil {
		return err
	}

	const (
		crossAMD = "example Dockerfile (cross-compile), linux/amd64"
		crossARM = "example Dockerfile (cross-compile), linux/arm64"
		emuARM   = "variant compiling under QEMU, linux/arm64"
	)
	stepOf := map[string]*Series{}
	after := func(name string) func(result) error {
		x := &Series{Name: "build step of: " + name, Unit: "s"}
		stepOf[name] = x
		return func(r result) error {
			rep, err := parseReport(r.Stdout)
			if err != nil {
				return err
			}
			if v, ok := rep.step("build"); ok {
				x.Values = append(x.Values, v)
			}
			return nil
		}
	}
	bound := 45 * time.Minute
	vs := []variant{
		{name: crossAMD, c: cmd{Prog: h.xbuild, Args: args("linux/amd64", "--no-cache"), Dir: example, Env: xb.Env, Timeout: bound}, after: after(crossAMD)},
		{name: crossARM, c: cmd{Prog: h.xbuild, Args: args("linux/arm64", "--no-cache"), Dir: example, Env: xb.Env, Timeout: bound}, after: after(crossARM)},
		{name: emuARM, c: cmd{Prog: h.xbuild, Args: args("linux/arm64", "--no-cache"), Dir: emu, Env: xb.Env, Timeout: bound}, after: after(emuARM)},
	}
	if err := h.loop(s, rec, "P3", "s", vs, h.n, 3*time.Hour); err != nil {
		return err
	}
	for _, v := range vs {
		s.Series = append(s.Series, stepOf[v.name])
	}
	med := func(name string) float64 { return s.series(name, "s").Median() }
	emuRatio := med(emuARM) / med(crossARM)
	archRatio := med(crossARM) / med(crossAMD)
	s.Method = []string{
		"One builder with only the farm's qemu node (BuildKit with both platforms; arm64 through QEMU), so the machine and the node are the same for every build. " +
			"Each build is `xbuild build --no-cache` without push (lint off: the variant is meant to trip XB004), so every step, the Go compile included, runs again. " +
			"The Dockerfile's Go build cache mount could make later compiles incremental; the first run against the others (below) shows whether it did.",
		"**Example Dockerfile**: examples/go-service as it is: `FROM --platform=$BUILDPLATFORM golang:1.26` and `GOOS=$TARGETOS GOARCH=$TARGETARCH go build`, " +
			"so the compiler runs natively (amd64) for both targets and only the final `COPY` steps are arm64. " +
			"**Variant**: the same directory copied, with only the first line changed to `FROM golang:1.26 AS build`: the arm64 build then runs the arm64 Go toolchain under QEMU.",
		"The arm64/amd64 ratio compares the example Dockerfile's arm64 and amd64 builds on the same node.",
	}
	s.metric("emulated compile / cross-compile, linux/arm64 (ratio of medians)", "%.1f× (%.0f s vs %.0f s)", emuRatio, med(emuARM), med(crossARM))
	s.metric("P3 arm64 / amd64 with the example Dockerfile (ratio of medians)", "%.2f (%.1f s vs %.1f s)", archRatio, med(crossARM), med(crossAMD))
	for _, v := range vs {
		x := s.series(v.name, "s")
		if len(x.Values) > 1 {
			rest := median(x.Values[1:])
			s.note("%s: first run %.1f s, median of the others %.1f s (%.2f×)", v.name, x.Values[0], rest, rest/x.Values[0])
		}
	}
	s.metric("per-run cost", "cross-compile %.0f s per platform; emulated compile %.0f s (%.1f min)", med(crossARM), med(emuARM), med(emuARM)/60)
	s.Summary = []Summary{
		{ID: "P3", What: "go-service arm64 / amd64 build time, example Dockerfile, qemu node", Measured: fmt.Sprintf("%.2f", archRatio), Target: "≤ 1.3", Met: metWord(archRatio <= 1.3)},
		{ID: "P3", What: "arm64 compile under QEMU / cross-compile (same node)", Measured: fmt.Sprintf("%.1f× (%.0f s vs %.0f s)", emuRatio, med(emuARM), med(crossARM)), Target: "—", Met: "n/a"},
	}
	return nil
}

// emulatedVariant copies the example's files into dir and makes the build
// stage run on the target platform: the only change is the first FROM.
func emulatedVariant(example, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(example)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(example, e.Name()))
		if err != nil {
			return "", err
		}
		if e.Name() == "Dockerfile" {
			from := []byte("FROM --platform=$BUILDPLATFORM golang:1.26 AS build")
			if bytes.Count(b, from) != 1 {
				return "", fmt.Errorf("%s/Dockerfile: expected exactly one %q line to rewrite; the example changed, update hack/bench/p3.go", example, from)
			}
			b = bytes.Replace(b, from, []byte("FROM golang:1.26 AS build"), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

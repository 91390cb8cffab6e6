package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// p4: compressed image size of every example, per platform.
func (h *harness) p4(s *Section) error {
	s.Title = "image sizes of the examples, per platform"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	dirs, err := filepath.Glob(filepath.Join(h.repo, "examples", "*", "Dockerfile"))
	if err != nil {
		return err
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return fmt.Errorf("no examples/*/Dockerfile")
	}
	s.Method = []string{
		"Every example with a Dockerfile, built from its own directory with its own xbuild.yaml (compression, level, size budget), " +
			"pushed to the farm registry by `xbuild build --push` on the amd64 and arm64 nodes; sizes are the compressed sizes " +
			"(config + layers as pushed) from xbuild's report, which it reads back from the registry. " +
			"Sizes do not vary between runs of the same content; the N runs show that, and time the whole pipeline per example.",
	}
	table := Table{Title: "Sizes (MB = 10^6 bytes, compressed, as pushed):", Header: []string{"example", "platform", "node", "size", "layers", "budget (xbuild.yaml)", "verify"}}
	goMax := -1.0
	for _, df := range dirs {
		dir := filepath.Dir(df)
		name := filepath.Base(dir)
		ref := fmt.Sprintf("%s/bench/p4-%s:%s", h.farm.Registry.Push, name, h.runID)
		c := cmd{Prog: h.xbuild, Args: []string{"build", "--builder", "bench", "-t", ref, "--push", "--progress", "quiet", "--report", "json"}, Dir: dir, Env: xb.Env, Timeout: 20 * time.Minute}
		var last *report
		sizes := map[string][]float64{}
		v := variant{name: name + ": xbuild build --push (whole pipeline)", c: c, after: func(r result) error {
			rep, err := parseReport(r.Stdout)
			if err != nil {
				return err
			}
			last = rep
			for _, p := range rep.Platforms {
				sizes[p.Platform] = append(sizes[p.Platform], float64(p.CompressedSize)/1e6)
			}
			return nil
		}}
		if err := h.loop(s, rec, "P4 "+name, "s", []variant{v}, h.n, 20*time.Minute); err != nil {
			return err
		}
		if last == nil {
			// the budget may have failed the build: run once more to read the report anyway
			r := h.exec(rec, c, "")
			rep, err := parseReport(r.Stdout)
			if err != nil {
				s.note("%s: no report: %s", name, rec.clean(r.tail()))
				continue
			}
			last = rep
			s.note("%s: xbuild exited %d (size budget or verify failed)", name, r.Code)
		}
		verify := "skipped"
		if last.Verify != nil {
			verify = fmt.Sprintf("%d checks, ok=%v", len(last.Verify.Checks), last.Verify.OK)
		}
		budget := "none"
		if last.SizeBudget > 0 {
			budget = fmt.Sprintf("%.2f MB", float64(last.SizeBudget)/1e6)
		}
		for _, p := range last.Platforms {
			mb := float64(p.CompressedSize) / 1e6
			table.Rows = append(table.Rows, []string{name, p.Platform, p.Node, fmt.Sprintf("%.2f MB (%d bytes)", mb, p.CompressedSize), strconv.Itoa(p.Layers), budget, verify})
			x := s.series(name+" "+p.Platform+" size", "MB")
			x.Values = sizes[p.Platform]
			if name == "go-service" && mb > goMax {
				goMax = mb
			}
		}
	}
	s.Tables = append(s.Tables, table)
	var measured []string
	for _, r := range table.Rows {
		if r[0] == "go-service" {
			measured = append(measured, strings.TrimPrefix(r[1], "linux/")+" "+strings.Fields(r[3])[0]+" MB")
		}
	}
	if goMax < 0 {
		s.Summary = []Summary{{ID: "P4", What: "go-service image size per platform", Measured: "not measured", Target: "≤ 3 MB", Met: "not met"}}
		return nil
	}
	s.Summary = []Summary{{ID: "P4", What: "go-service image size per platform (compressed)", Measured: strings.Join(measured, ", "), Target: "≤ 3 MB", Met: metWord(goMax <= 3)}}
	for _, r := range table.Rows {
		if r[0] != "go-service" {
			s.Summary = append(s.Summary, Summary{ID: "P4", What: r[0] + " " + r[1] + " (reference)", Measured: strings.Fields(r[3])[0] + " MB", Target: "—", Met: "n/a"})
		}
	}
	return nil
}

// p7: one two-platform build on two nodes against two single-platform
// builds one after the other.
func (h *harness) p7(s *Section) error {
	s.Title = "two platforms on two nodes at once vs one after the other"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	dir := filepath.Join(h.repo, "hack", "bench", "testdata", "sleep")
	sleep := strconv.Itoa(h.p7Sleep)
	build := func(platform, tag string) cmd {
		ref := fmt.Sprintf("%s/bench/p7:%s", h.farm.Registry.Push, tag)
		return cmd{Prog: h.xbuild, Args: []string{"build", "--builder", "bench", "--platform", platform, "-t", ref, "--push",
			"--build-arg", "NONCE=" + tag, "--build-arg", "SLEEP=" + sleep, "--progress", "quiet", "--report", "json"},
			Dir: dir, Env: xb.Env, Timeout: 10 * time.Minute}
	}
	if _, err := h.must(rec, build("linux/amd64,linux/arm64", h.runID+"-warmup"), "warm-up"); err != nil {
		return err
	}
	const (
		both = "linux/amd64,linux/arm64 in one build (two nodes)"
		amd  = "linux/amd64 alone"
		arm  = "linux/arm64 alone"
		seq  = "amd64 alone + arm64 alone, one after the other"
	)
	for _, n := range []string{both, amd, arm, seq} {
		s.series(n, "s")
	}
	steps := map[string]*Series{}
	for _, n := range []string{both, amd, arm, seq} {
		steps[n] = &Series{Name: "build step of: " + n, Unit: "s"}
	}
	buildStep := func(r result) float64 {
		rep, err := parseReport(r.Stdout)
		if err != nil {
			return 0
		}
		v, _ := rep.step("build")
		return v
	}
	end := time.Now().Add(30 * time.Minute)
	for i := range h.n {
		if time.Now().After(end) || time.Now().After(h.deadline) {
			s.note("Stopped after %d of %d repetitions: time bound reached.", i, h.n)
			break
		}
		order := []string{"both", "seq"}
		if i%2 == 1 {
			order = []string{"seq", "both"}
		}
		for _, o := range order {
			if err := h.ctx.Err(); err != nil {
				return err
			}
			tag := fmt.Sprintf("%s-%d-%s", h.runID, i, o)
			if o == "both" {
				r := h.exec(rec, build("linux/amd64,linux/arm64", tag), "")
				if !r.ok() {
					s.series(both, "s").Failed = append(s.series(both, "s").Failed, rec.clean(r.tail()))
					continue
				}
				s.series(both, "s").Values = append(s.series(both, "s").Values, r.Dur.Seconds())
				steps[both].Values = append(steps[both].Values, buildStep(r))
				logf("P7 %d/%d both: %s", i+1, h.n, r.Dur.Round(time.Millisecond))
				continue
			}
			ra := h.exec(rec, build("linux/amd64", tag+"-amd64"), "")
			rb := h.exec(rec, build("linux/arm64", tag+"-arm64"), "")
			if !ra.ok() || !rb.ok() {
				s.series(seq, "s").Failed = append(s.series(seq, "s").Failed, rec.clean(ra.tail()+" / "+rb.tail()))
				continue
			}
			s.series(amd, "s").Values = append(s.series(amd, "s").Values, ra.Dur.Seconds())
			s.series(arm, "s").Values = append(s.series(arm, "s").Values, rb.Dur.Seconds())
			s.series(seq, "s").Values = append(s.series(seq, "s").Values, ra.Dur.Seconds()+rb.Dur.Seconds())
			sa, sb := buildStep(ra), buildStep(rb)
			steps[amd].Values = append(steps[amd].Values, sa)
			steps[arm].Values = append(steps[arm].Values, sb)
			steps[seq].Values = append(steps[seq].Values, sa+sb)
			logf("P7 %d/%d sequential: %s + %s", i+1, h.n, ra.Dur.Round(time.Millisecond), rb.Dur.Round(time.Millisecond))
		}
	}
	for _, n := range []string{both, amd, arm, seq} {
		s.Series = append(s.Series, steps[n])
		for _, f := range s.series(n, "s").Failed {
			s.note("%s failed once: %s", n, f)
		}
	}
	med := func(n string) float64 { return s.series(n, "s").Median() }
	ratio := med(both) / med(seq)
	stepRatio := steps[both].Median() / steps[seq].Median()
	s.Method = []string{
		fmt.Sprintf("[hack/bench/testdata/sleep/Dockerfile](../hack/bench/testdata/sleep/Dockerfile): busybox and one RUN step that waits %s s "+
			"(BENCH_P7_SLEEP), so the two platforms compete for nothing on this 2-core machine; a new NONCE build arg for every build, so the step always runs. ", sleep) +
			"Each build is a whole `xbuild build --push` (lint, plan, build, verify) with the builder of the amd64 and arm64 nodes. " +
			"Per repetition: one build of both platforms, and the amd64 build followed by the arm64 build (order alternating between repetitions).",
	}
	s.metric("P7 ratio of medians, both at once / one after the other (whole xbuild runs)", "%.2f (%.1f s vs %.1f s)", ratio, med(both), med(seq))
	s.metric("same, build step only (xbuild's report)", "%.2f (%.1f s vs %.1f s)", stepRatio, steps[both].Median(), steps[seq].Median())
	s.metric("ideal", "0.50: two nodes work at the same time; everything above is fixed cost per invocation and the slower of the two")
	s.Summary = []Summary{{ID: "P7", What: "2 platforms on 2 nodes / 2 single-platform builds in a row", Measured: fmt.Sprintf("%.2f (build step %.2f)", ratio, stepRatio), Target: "≤ 0.6", Met: metWord(ratio <= 0.6)}}
	return nil
}

// ensureDir makes an empty directory under the harness's temporary dir.
func (h *harness) ensureDir(name string) (string, error) {
	d := filepath.Join(h.tmp, name)
	return d, os.MkdirAll(d, 0o700)
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// variant is one command line a section times repeatedly.
type variant struct {
	name string
	c    cmd
	// after reads the result of a successful run (report, debug trace).
	after func(r result) error
}

// loop runs every variant n times, in a rotating order, bounded by budget
// and the global deadline; times go to series named after the variants.
func (h *harness) loop(s *Section, rec *recorder, id, unit string, vs []variant, n int, budget time.Duration) error {
	end := time.Now().Add(budget)
	if end.After(h.deadline) {
		end = h.deadline
	}
	for _, v := range vs {
		s.series(v.name, unit)
	}
	scale := 1.0
	if unit == "s" {
		scale = 1000
	}
	for i := range n {
		if time.Now().After(end) {
			s.note("Stopped after %d of %d repetitions: the time bound (%s) was reached.", i, n, budget)
			break
		}
		for _, v := range rotate(vs, i) {
			if err := h.ctx.Err(); err != nil {
				return err
			}
			x := s.series(v.name, unit)
			r := h.exec(rec, v.c, "")
			if !r.ok() {
				x.Failed = append(x.Failed, rec.clean(r.tail()))
				logf("%s %d/%d %s: FAILED in %s: %s", id, i+1, n, v.name, r.Dur.Round(time.Millisecond), rec.clean(r.tail()))
				continue
			}
			x.Values = append(x.Values, ms(r.Dur)/scale)
			logf("%s %d/%d %s: %s", id, i+1, n, v.name, r.Dur.Round(time.Millisecond))
			if v.after != nil {
				if err := v.after(r); err != nil {
					x.Failed = append(x.Failed, err.Error())
				}
			}
		}
	}
	for _, x := range s.Series {
		for _, f := range x.Failed {
			s.note("%s failed once: %s", x.Name, f)
		}
	}
	return nil
}

// p1: xbuild build against the same build through plain buildx.
func (h *harness) p1(s *Section) error {
	s.Title = "overhead of xbuild build over plain buildx build"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	dir := filepath.Join(h.repo, "examples", "go-service")
	ref := fmt.Sprintf("%s/bench/p1-go-service:%s", h.farm.Registry.Push, h.runID)
	xbArgs := func(extra ...string) []string {
		return append([]string{"build", "--builder", "bench", "-t", ref, "--push", "--progress", "quiet", "--report", "json"}, extra...)
	}

	// Warm-up, and the exact buildx commands xbuild runs.
	r, err := h.must(rec, cmd{Prog: h.xbuild, Args: xbArgs("--debug"), Dir: dir, Env: xb.Env}, "warm-up; --debug prints the buildx commands")
	if err != nil {
		return err
	}
	tr, err := parseDebug(r.Stderr)
	if err != nil {
		return err
	}
	bxCfg, err := h.dockerConfig("bx-p1-docker")
	if err != nil {
		return err
	}
	bxEnv := h.buildxEnv(bxCfg)
	// xbuild builds each platform on its node's own builder, by digest; a
	// buildx user builds both platforms in one build on one builder over
	// the same two nodes and pushes one manifest list: that is the baseline
	_ = h.exec(rec, cmd{Prog: h.buildx, Args: []string{"rm", "p1bx"}, Env: bxEnv, Timeout: time.Minute}, "setup: an earlier run's builder, if any")
	for i, n := range []nodeReg{
		{name: "amd1", role: "amd64", builder: "p1bx", platforms: []string{"linux/amd64"}},
		{name: "arm1", role: "arm64", builder: "p1bx", platforms: []string{"linux/arm64"}},
	} {
		if _, err := h.must(rec, cmd{Prog: h.buildx, Args: h.remoteCreateArgs("p1bx", n, i > 0), Env: bxEnv, Timeout: time.Minute}, "setup, once: one buildx builder over the two nodes xbuild routes to"); err != nil {
			return err
		}
	}
	bxBuild, err := plainBuildxArgs(tr.Build, "p1bx", "linux/amd64,linux/arm64", ref)
	if err != nil {
		return err
	}
	// xbuild always adds these two to the builds it runs (engine.RunBuild).
	ctxArg := bxBuild[len(bxBuild)-1]
	bxBuild = append(bxBuild[:len(bxBuild)-1], "--metadata-file", filepath.Join(h.tmp, "p1-metadata.json"), "--progress", "rawjson", ctxArg)
	bx := cmd{Prog: h.buildx, Args: bxBuild, Dir: dir, Env: bxEnv}
	if _, err := h.must(rec, bx, "warm-up"); err != nil {
		return err
	}

	steps := map[string]*Series{}
	for _, st := range []string{"lint", "plan", "build", "verify"} {
		steps[st] = &Series{Name: "step " + st + " (xbuild's report, full run)", Unit: "ms"}
	}
	readSteps := func(r result) error {
		rep, err := parseReport(r.Stdout)
		if err != nil {
			return err
		}
		for name, x := range steps {
			if v, ok := rep.step(name); ok {
				x.Values = append(x.Values, v*1000)
			}
		}
		return nil
	}
	probe := &Series{Name: "slowest node probe (--debug run)", Unit: "ms"}
	creates := &Series{Name: "buildx create calls, total (--debug run)", Unit: "ms"}
	nCreates := &Series{Name: "buildx create calls per build (--debug run)", Unit: "count"}
	inner := &Series{Name: "buildx build inside xbuild (--debug run)", Unit: "ms"}
	readDebug := func(r result) error {
		t, err := parseDebug(r.Stderr)
		if err != nil {
			return err
		}
		var worst, sum time.Duration
		for _, p := range t.Probes {
			worst = max(worst, p)
		}
		for _, c := range t.CreateT {
			sum += c
		}
		probe.Values = append(probe.Values, ms(worst))
		creates.Values = append(creates.Values, ms(sum))
		nCreates.Values = append(nCreates.Values, float64(len(t.CreateT)))
		inner.Values = append(inner.Values, ms(t.BuildT))
		return nil
	}

	const (
		full     = "xbuild build (lint, plan, build, verify)"
		plain    = "buildx build (standalone, same nodes and args)"
		noLint   = "xbuild build --no-lint"
		noVerify = "xbuild build --verify=false"
		bare     = "xbuild build --no-lint --verify=false"
		debug    = "xbuild build --debug"
		version  = "xbuild version (process start)"
	)
	vs := []variant{
		{name: full, c: cmd{Prog: h.xbuild, Args: xbArgs(), Dir: dir, Env: xb.Env}, after: readSteps},
		{name: plain, c: bx},
		{name: noLint, c: cmd{Prog: h.xbuild, Args: xbArgs("--no-lint"), Dir: dir, Env: xb.Env}},
		{name: noVerify, c: cmd{Prog: h.xbuild, Args: xbArgs("--verify=false"), Dir: dir, Env: xb.Env}},
		{name: bare, c: cmd{Prog: h.xbuild, Args: xbArgs("--no-lint", "--verify=false"), Dir: dir, Env: xb.Env}},
		{name: debug, c: cmd{Prog: h.xbuild, Args: xbArgs("--debug"), Dir: dir, Env: xb.Env}, after: readDebug},
		{name: version, c: cmd{Prog: h.xbuild, Args: []string{"version"}, Dir: dir, Env: xb.Env}},
	}
	// The hadolint a user gets: the first on PATH. On some machines that is
	// not the farm's binary (a pyenv shim, for one), and it shows in lint.
	onPath, _ := exec.LookPath("hadolint")
	if onPath != "" {
		if a, b := realPath(onPath), realPath(h.farm.Hadolint); a != b {
			var env []string
			for _, kv := range xb.Env {
				if !strings.HasPrefix(kv, "XBUILD_LINT_HADOLINT=") {
					env = append(env, kv)
				}
			}
			vs = append(vs, variant{name: "xbuild build, hadolint from PATH (" + onPath + ")", c: cmd{Prog: h.xbuild, Args: xbArgs(), Dir: dir, Env: env}})
		}
	}
	// cheap and noisy: three times BENCH_N repetitions
	s.N = 3 * h.n
	if err := h.loop(s, rec, "P1", "ms", vs, s.N, 30*time.Minute); err != nil {
		return err
	}
	for _, st := range []string{"lint", "plan", "build", "verify"} {
		s.Series = append(s.Series, steps[st])
	}
	s.Series = append(s.Series, probe, creates, nCreates, inner)

	med := func(name string) float64 { return s.series(name, "ms").Median() }
	ratio := med(full) / med(plain)
	s.Method = []string{
		"examples/go-service (its own xbuild.yaml: zstd level 19, lint threshold info, 3 MB budget), built for linux/amd64 and linux/arm64 " +
			"on the farm's amd64 and arm64 nodes and pushed to the farm registry, with a warm cache (every step cached; one warm-up run of each first). " +
			"xbuild runs as a user runs it; plain buildx is the standalone binary built from the same module version, " +
			"run as a buildx user runs it: one builder over the same two nodes (`buildx create` / `--append`, remote driver, the farm's client certificate) and " +
			"one build of both platforms pushing one manifest list, with the argument list of xbuild's own per-platform builds (`xbuild build --debug`: " +
			"labels, output with the same compression, provenance) rewritten for that builder, both platforms and the tag, " +
			"plus the `--metadata-file FILE --progress rawjson` xbuild always adds. Both push the same tag. xbuild instead runs one build per platform on " +
			"its node's own builder, pushes each by digest, assembles the index, verifies it and only then tags it.",
		"The variants run interleaved, in a rotating order. The breakdown below uses xbuild's own step times (`--report json`, `--debug`) and the other variants " +
			"(wall-time differences, which are noisier: a difference smaller than the spread of the raw numbers means nothing).",
		"xbuild's lint uses the farm's hadolint (XBUILD_LINT_HADOLINT), so the figure does not depend on what else is on PATH; when PATH offers another hadolint, " +
			"one more variant shows what a user of this machine gets. xbuild runs hadolint twice per lint (`hadolint --version`, then the lint).",
	}
	s.metric("P1 ratio of medians, xbuild build / buildx build", "%.2f", ratio)
	s.metric("P1 absolute overhead (median xbuild - median buildx)", "%.0f ms (xbuild %.0f ms, buildx %.0f ms)", med(full)-med(plain), med(full), med(plain))
	s.metric("ratio without lint and verify (--no-lint --verify=false / buildx)", "%.2f (%+.0f ms)", med(bare)/med(plain), med(bare)-med(plain))

	for _, x := range s.Series {
		if strings.HasPrefix(x.Name, "xbuild build, hadolint from PATH") && len(x.Values) > 0 {
			s.metric("with the hadolint found on PATH instead of the farm's", "%.0f ms, ratio %.2f to buildx (%+.0f ms against the farm's hadolint)", x.Median(), x.Median()/med(plain), x.Median()-med(full))
		}
	}
	stepSum := 0.0
	for _, st := range []string{"lint", "plan", "build", "verify"} {
		stepSum += steps[st].Median()
	}
	s.Tables = append(s.Tables, Table{
		Title:  "Where xbuild's time goes (medians, ms):",
		Header: []string{"part", "measured as", "ms"},
		Rows: [][]string{
			{fmt.Sprintf("process start (%s static binary) + cobra/config", binSize(h.xbuild)), "`xbuild version` wall time", num(med(version))},
			{"lint (hadolint process + built-in rules + BuildKit checks)", "full - `--no-lint` (wall)", num(med(full) - med(noLint))},
			{"", "lint step (report)", num(steps["lint"].Median())},
			{"plan: health checks of the builder's 3 nodes in parallel, routing", "plan step (report)", num(steps["plan"].Median())},
			{"", "slowest node probe (--debug)", num(probe.Median())},
			{"build step: `buildx create` per plan node (builder sync, every build)", "sum of create calls (--debug)", num(creates.Median())},
			{"build step: buildx build inside xbuild", "--debug", num(inner.Median())},
			{"", "build step (report): creates + build + result", num(steps["build"].Median())},
			{"plain buildx build, whole process", "wall", num(med(plain))},
			{"verify: read index, configs, entrypoint headers, attestations back", "full - `--verify=false` (wall)", num(med(full) - med(noVerify))},
			{"", "verify step (report)", num(steps["verify"].Median())},
			{"rest: process start, config, node registry, report", "full wall - sum of step medians", num(med(full) - stepSum)},
			{"xbuild total", "wall", num(med(full))},
		},
	})
	if prof, err := h.initProfile(rec, 3*h.n); err != nil {
		s.note("startup profile: %v", err)
	} else {
		s.Tables = append(s.Tables, prof)
	}
	s.Summary = []Summary{{ID: "P1", What: "xbuild build / plain buildx build, warm cache (ratio of medians)",
		Measured: fmt.Sprintf("%.2f (%+.0f ms)", ratio, med(full)-med(plain)), Target: "≤ 1.03", Met: metWord(ratio <= 1.03)}}
	return nil
}

func binSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(fi.Size())/1e6)
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// initProfile runs `xbuild version` with GODEBUG=inittrace=1 n times and
// tables the package init time: the total and the slowest packages
// (medians over the runs). Every xbuild process pays it, the per-platform
// `xbuild buildx` children of a build too.
func (h *harness) initProfile(rec *recorder, n int) (Table, error) {
	c := cmd{Prog: h.xbuild, Args: []string{"version"}, Env: append(os.Environ(), "GODEBUG=inittrace=1"), Timeout: time.Minute}
	rec.add(c, fmt.Sprintf("%d times, package init times from the Go runtime's init trace", n))
	totals := []float64{}
	per := map[string][]float64{}
	for range n {
		r := run(h.ctx, c)
		if !r.ok() {
			return Table{}, fmt.Errorf("xbuild version: %s", r.tail())
		}
		total := 0.0
		for _, line := range strings.Split(string(r.Stderr), "\n") {
			pkg, v, ok := parseInitTrace(line)
			if !ok {
				continue
			}
			total += v
			per[pkg] = append(per[pkg], v)
		}
		totals = append(totals, total)
	}
	if len(per) == 0 {
		return Table{}, fmt.Errorf("no init trace in xbuild version's stderr")
	}
	t := Table{Title: fmt.Sprintf("Startup profile: package init of the xbuild binary (GODEBUG=inittrace=1, %d runs, medians, ms):", n),
		Header: []string{"package", "init ms"}}
	t.Rows = append(t.Rows, []string{"all packages", fmt.Sprintf("%.1f", median(totals))})
	names := make([]string, 0, len(per))
	for k := range per {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return median(per[names[i]]) > median(per[names[j]]) })
	for _, k := range names[:min(6, len(names))] {
		t.Rows = append(t.Rows, []string{k, fmt.Sprintf("%.2f", median(per[k]))})
	}
	return t, nil
}

// plainBuildxArgs turns one of xbuild's per-platform buildx builds (its
// node's builder, one platform, pushed by digest) into the build a buildx
// user runs: builder, every platform, and the same output pushed under
// ref as one manifest list (same labels, compression and provenance).
func plainBuildxArgs(build []string, builder, platforms, ref string) ([]string, error) {
	out := slices.Clone(build)
	seen := map[string]bool{}
	for i := 0; i+1 < len(out); i++ {
		switch out[i] {
		case "--builder":
			out[i+1], seen["builder"] = builder, true
		case "--platform":
			out[i+1], seen["platform"] = platforms, true
		case "--output", "-o":
			var kept []string
			for _, kv := range strings.Split(out[i+1], ",") {
				switch {
				case strings.HasPrefix(kv, "name="):
					kept = append(kept, "name="+ref)
				case kv == "push-by-digest=true", kv == "name-canonical=true":
				default:
					kept = append(kept, kv)
				}
			}
			out[i+1], seen["output"] = strings.Join(kept, ","), true
		}
	}
	for _, k := range []string{"builder", "platform", "output"} {
		if !seen[k] {
			return nil, fmt.Errorf("xbuild's buildx build has no --%s to rewrite: %q", k, build)
		}
	}
	return out, nil
}

// parseInitTrace reads one line of GODEBUG=inittrace=1:
// "init PKG @0.5 ms, 0.12 ms clock, 1024 bytes, 10 allocs".
func parseInitTrace(line string) (pkg string, ms float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 7 || f[0] != "init" || f[5] != "ms" || f[6] != "clock," {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(f[4], 64)
	if err != nil {
		return "", 0, false
	}
	return f[1], v, true
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/lint"
)

// p5: start-up time of short commands.
func (h *harness) p5(s *Section) error {
	s.Title = "cold start: xbuild --help and xbuild nodes ls with no nodes"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	cfg, err := h.ensureDir("p5-config")
	if err != nil {
		return err
	}
	dc, err := h.ensureDir("p5-docker")
	if err != nil {
		return err
	}
	env := h.xbuildEnv(cfg, dc)
	bxEnv := h.buildxEnv(dc)
	work, err := h.ensureDir("p5-work")
	if err != nil {
		return err
	}
	const (
		help    = "xbuild --help"
		ls      = "xbuild nodes ls (no nodes)"
		version = "xbuild version"
	)
	vs := []variant{
		{name: help, c: cmd{Prog: h.xbuild, Args: []string{"--help"}, Dir: work, Env: env}},
		{name: ls, c: cmd{Prog: h.xbuild, Args: []string{"nodes", "ls"}, Dir: work, Env: env}},
		{name: version, c: cmd{Prog: h.xbuild, Args: []string{"version"}, Dir: work, Env: env}},
		{name: "buildx version (standalone, reference)", c: cmd{Prog: h.buildx, Args: []string{"version"}, Dir: work, Env: bxEnv}},
		{name: "buildx --help (standalone, reference)", c: cmd{Prog: h.buildx, Args: []string{"--help"}, Dir: work, Env: bxEnv}},
		{name: "/bin/true (exec floor)", c: cmd{Prog: "/bin/true", Dir: work, Env: env}},
	}
	// first exec of this binary in this run, before anything warmed it
	first := h.exec(rec, vs[0].c, "first run, reported separately")
	n := 4 * h.n
	if err := h.loop(s, rec, "P5", "ms", vs, n, 10*time.Minute); err != nil {
		return err
	}
	s.N = n

	// cold: the binary evicted from the page cache before every run
	coldHelp := s.series(help+", binary evicted from the page cache", "ms")
	coldLs := s.series(ls+", binary evicted from the page cache", "ms")
	evictOK := true
	for i := range h.n {
		for _, x := range []struct {
			c   cmd
			ser *Series
		}{{vs[0].c, coldHelp}, {vs[1].c, coldLs}} {
			if err := evict(h.xbuild); err != nil {
				s.note("could not evict the binary from the page cache: %v", err)
				evictOK = false
				break
			}
			r := h.exec(rec, x.c, "after posix_fadvise(DONTNEED) on the binary")
			if r.ok() {
				x.ser.Values = append(x.ser.Values, ms(r.Dur))
			}
			logf("P5 cold %d/%d %s: %s", i+1, h.n, x.ser.Name, r.Dur.Round(time.Millisecond))
		}
		if !evictOK {
			break
		}
	}
	med := func(name string) float64 { return s.series(name, "ms").Median() }
	s.Method = []string{
		fmt.Sprintf("Wall time of the process (exec to exit) as this harness sees it; %d runs each, interleaved, with the binary in the page cache (what a user's second run sees), "+
			"then %d runs each after evicting the %s binary from the page cache with posix_fadvise(DONTNEED) (a first run after install or reboot; the rest of the machine's cache is left alone). "+
			"`nodes ls` runs with an empty XBUILD_CONFIG_DIR. `/bin/true` is the cost of exec itself on this machine.", n, h.n, binSize(h.xbuild)),
	}
	if first.ok() {
		s.metric("first `xbuild --help` of the run", "%.0f ms", ms(first.Dur))
	}
	s.metric("xbuild --help / xbuild nodes ls / xbuild version (medians, warm)", "%.1f ms / %.1f ms / %.1f ms", med(help), med(ls), med(version))
	if len(coldHelp.Values) > 0 {
		s.metric("same after eviction (--help / nodes ls)", "%.0f ms / %.0f ms", coldHelp.Median(), coldLs.Median())
	}
	worst := max(med(help), med(ls))
	s.Summary = []Summary{{ID: "P5", What: "xbuild --help / xbuild nodes ls (no nodes), page cache warm", Measured: fmt.Sprintf("%.0f ms / %.0f ms", med(help), med(ls)), Target: "≤ 60 ms", Met: metWord(worst <= 60)}}
	if len(coldHelp.Values) > 0 {
		s.Summary = append(s.Summary, Summary{ID: "P5", What: "same, binary evicted from the page cache (reference)", Measured: fmt.Sprintf("%.0f ms / %.0f ms", coldHelp.Median(), coldLs.Median()), Target: "—", Met: "n/a"})
	}
	return nil
}

// lintCorpus is every Dockerfile of the examples and the test fixtures.
func (h *harness) lintCorpus() ([]string, error) {
	var files []string
	for _, root := range []string{"examples", "test", "internal/lint/testdata"} {
		err := filepath.WalkDir(filepath.Join(h.repo, root), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.Type().IsRegular() && (name == "Dockerfile" || strings.HasSuffix(name, ".Dockerfile")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, errors.New("no Dockerfiles in examples/, test/, internal/lint/testdata/")
	}
	return files, nil
}

// p6: lint throughput, built-in rules against hadolint.
func (h *harness) p6(s *Section) error {
	s.Title = "lint throughput: built-in rules vs one hadolint process per file"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	files, err := h.lintCorpus()
	if err != nil {
		return err
	}
	work, err := h.ensureDir("p6-work")
	if err != nil {
		return err
	}
	cfg, err := h.ensureDir("p6-config")
	if err != nil {
		return err
	}
	env := h.xbuildEnv(cfg, cfg)
	hlEnv := environment(map[string]string{"HADOLINT_FORMAT": ""})
	var lines int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		lines += strings.Count(string(b), "\n")
	}

	noHadolint := func(string) (string, error) { return "", exec.ErrNotFound }
	inProcess := func() (time.Duration, int, error) {
		findings := 0
		start := time.Now()
		for _, f := range files {
			res, err := lint.Run(context.Background(), lint.Options{Dockerfile: f, LookPath: noHadolint})
			if err != nil {
				return 0, 0, err
			}
			findings += len(res.Findings)
		}
		return time.Since(start), findings, nil
	}
	perFile := func(mk func(f string) cmd, note string) (time.Duration, error) {
		// recorded once, as a pattern: DIR/FILE is each corpus file in turn
		tpl := mk(filepath.Join("DIR", "FILE"))
		rec.add(tpl, strings.TrimPrefix(note+"; for every FILE of the corpus", "; "))
		var total time.Duration
		for _, f := range files {
			c := mk(f)
			r := run(h.ctx, c)
			if r.Err != nil || (r.Code != 0 && r.Code != 1) {
				return 0, fmt.Errorf("%s: exit %d: %s", f, r.Code, rec.clean(r.tail()))
			}
			total += r.Dur
		}
		return total, nil
	}
	hadolintFile := func(f string) cmd {
		return cmd{Prog: h.farm.Hadolint, Args: []string{"--format", "json", "--no-fail", filepath.Base(f)}, Dir: filepath.Dir(f), Env: hlEnv}
	}
	xbuildFile := func(hadolint string) func(f string) cmd {
		return func(f string) cmd {
			return cmd{Prog: h.xbuild, Args: []string{"lint", "--failure-threshold", "none", "--format", "json", "--hadolint", hadolint, "-f", f, filepath.Dir(f)}, Dir: work, Env: env}
		}
	}
	var rels []string
	for _, f := range files {
		rels = append(rels, strings.TrimPrefix(f, h.repo+"/"))
	}
	allAtOnce := cmd{Prog: h.farm.Hadolint, Args: append([]string{"--format", "json", "--no-fail"}, files...), Dir: h.repo, Env: hlEnv}

	const (
		builtin  = "built-in rules + BuildKit checks, in process (lint.Run without hadolint), whole corpus"
		hlPer    = "hadolint, one process per file, whole corpus"
		xbPer    = "xbuild lint without hadolint, one process per file, whole corpus"
		xbPerHL  = "xbuild lint with hadolint, one process per file, whole corpus"
		hlAll    = "hadolint, one process for all files (reference)"
		findings = "findings, built-in in process"
	)
	for _, name := range []string{builtin, hlPer, xbPer, xbPerHL, hlAll} {
		s.series(name, "ms")
	}
	// warm-up of every path (page cache, first-use initialisation)
	if _, _, err := inProcess(); err != nil {
		return err
	}
	if _, err := perFile(hadolintFile, "warm-up"); err != nil {
		return err
	}
	rec.add(cmd{Prog: "(in process)", Args: []string{"lint.Run(ctx, lint.Options{Dockerfile: FILE, LookPath: <hadolint not found>})", "for each FILE"}}, "")
	end := time.Now().Add(20 * time.Minute)
	nf := s.series(findings, "count")
	for i := range h.n {
		if time.Now().After(end) || time.Now().After(h.deadline) {
			s.note("Stopped after %d of %d repetitions: time bound reached.", i, h.n)
			break
		}
		for _, which := range rotate([]string{builtin, hlPer, xbPer, xbPerHL, hlAll}, i) {
			if err := h.ctx.Err(); err != nil {
				return err
			}
			var d time.Duration
			var err error
			switch which {
			case builtin:
				var n int
				d, n, err = inProcess()
				nf.Values = append(nf.Values, float64(n))
			case hlPer:
				d, err = perFile(hadolintFile, "")
			case xbPer:
				d, err = perFile(xbuildFile("/nonexistent/hadolint"), "hadolint disabled: built-in rules only")
			case xbPerHL:
				d, err = perFile(xbuildFile(h.farm.Hadolint), "")
			case hlAll:
				r := h.exec(rec, allAtOnce, "")
				d, err = r.Dur, nil
				if r.Err != nil {
					err = r.Err
				}
			}
			if err != nil {
				return err
			}
			s.series(which, "ms").Values = append(s.series(which, "ms").Values, ms(d))
			logf("P6 %d/%d %s: %s", i+1, h.n, which, d.Round(time.Millisecond))
		}
	}
	med := func(name string) float64 { return s.series(name, "ms").Median() }
	nfiles := float64(len(files))
	rate := func(name string) string { return fmt.Sprintf("%.0f files/s", nfiles/(med(name)/1000)) }
	ratio := med(hlPer) / med(builtin)
	s.Method = []string{
		fmt.Sprintf("The corpus: %d Dockerfiles (%d lines) — every Dockerfile under examples/, test/ and internal/lint/testdata/ "+
			"(the examples, the e2e apps and the lint rule fixtures, some deliberately broken). One repetition lints the whole corpus; the variants run interleaved.", len(files), lines),
		"**Built-in**: `lint.Run` in this process with hadolint switched off, i.e. what `xbuild lint` does besides hadolint: read the file, " +
			"xbuild's rules XB000-XB009 and BuildKit's checks, merge. **hadolint**: the farm's hadolint, started once per file as xbuild starts it " +
			"(`hadolint --format json --no-fail FILE` in the file's directory). The per-process `xbuild lint` rows show what a user running xbuild per file gets " +
			"(xbuild with hadolint also runs `hadolint --version` once per lint).",
	}
	s.metric("P6 hadolint per file / built-in in process (ratio of medians)", "%.1f×", ratio)
	s.metric("throughput", "built-in %s; hadolint per file %s; xbuild lint per file %s (%s with hadolint); hadolint all files in one process %s",
		rate(builtin), rate(hlPer), rate(xbPer), rate(xbPerHL), rate(hlAll))
	s.metric("per file (median / corpus size)", "built-in %.2f ms; hadolint %.1f ms; xbuild lint process %.1f ms", med(builtin)/nfiles, med(hlPer)/nfiles, med(xbPer)/nfiles)
	s.Tables = append(s.Tables, Table{Title: "The corpus:", Header: []string{"files"}, Rows: [][]string{{strings.Join(rels, ", ")}}})
	s.Summary = []Summary{{ID: "P6", What: "lint throughput, built-in in process / hadolint process per file", Measured: fmt.Sprintf("%.1f× (%s vs %s)", ratio, rate(builtin), rate(hlPer)), Target: "≥ 10×", Met: metWord(ratio >= 10)}}
	return nil
}

// ---- Go micro-benchmarks -------------------------------------------------

var benchLineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

// benchPackages are the packages with Go benchmarks outside build tags.
func (h *harness) benchPackages() ([]string, error) {
	seen := map[string]bool{}
	var pkgs []string
	err := filepath.WalkDir(h.repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "examples", "dist", "bin", "testdata", "e2e", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		src := string(b)
		if strings.HasPrefix(strings.TrimSpace(src), "//go:build") || !strings.Contains(src, "\nfunc Benchmark") {
			return nil
		}
		dir := "./" + strings.TrimPrefix(filepath.Dir(p), h.repo+"/")
		if !seen[dir] {
			seen[dir] = true
			pkgs = append(pkgs, dir)
		}
		return nil
	})
	sort.Strings(pkgs)
	return pkgs, err
}

func (h *harness) micro(s *Section) error {
	s.Title = "Go micro-benchmarks"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	pkgs, err := h.benchPackages()
	if err != nil {
		return err
	}
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(h.n)}, pkgs...)
	r, err := h.must(rec, cmd{Prog: h.goBin, Args: args, Dir: h.repo, Env: environment(nil), Timeout: 30 * time.Minute}, "")
	if err != nil {
		return err
	}
	s.Raw = string(r.Stdout)
	type agg struct{ ns, bytes, allocs []float64 }
	byName := map[string]*agg{}
	var order []string
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(s.Raw))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/xbuild-dev/xbuild/")
			continue
		}
		m := benchLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := pkg + "." + m[1]
		a := byName[name]
		if a == nil {
			a = &agg{}
			byName[name] = a
			order = append(order, name)
		}
		f := func(v string) float64 { x, _ := strconv.ParseFloat(v, 64); return x }
		a.ns = append(a.ns, f(m[3]))
		a.bytes = append(a.bytes, f(m[4]))
		a.allocs = append(a.allocs, f(m[5]))
	}
	t := Table{Title: fmt.Sprintf("Medians of %d runs (`-count %d`), GOMAXPROCS = nproc:", h.n, h.n), Header: []string{"benchmark", "time/op", "B/op", "allocs/op", "ns/op per run"}}
	for _, name := range order {
		a := byName[name]
		var runs []string
		for _, v := range a.ns {
			runs = append(runs, num(v))
		}
		t.Rows = append(t.Rows, []string{name, fmtNs(median(a.ns)), num(median(a.bytes)), num(median(a.allocs)), strings.Join(runs, ", ")})
	}
	s.Tables = append(s.Tables, t)
	s.Method = []string{"`go test -run '^$' -bench . -benchmem -count N` over every package with benchmarks: " + strings.Join(pkgs, ", ") +
		". Routing is nodes.Route over a 10-node registry; arg building is engine.BuildArgs/CreateArgs/Quote; lint is the existing BenchmarkCheck; " +
		"verification is pipeline's checkIndex/checkImage/checkELF and the whole verifyPushed against an in-memory registry."}
	pick := func(name string) string {
		if a := byName[name]; a != nil {
			return fmtNs(median(a.ns))
		}
		return "?"
	}
	s.Summary = []Summary{{ID: "MB", What: "Go micro-benchmarks (medians): Route 2 platforms / 10 nodes; BuildArgs; lint Check; verifyPushed",
		Measured: fmt.Sprintf("%s; %s; %s; %s", pick("nodes.BenchmarkRoute/2-platforms"), pick("internal/engine.BenchmarkBuildArgs"), pick("internal/lint.BenchmarkCheck"), pick("pipeline.BenchmarkVerifyPushed")),
		Target:   "—", Met: "n/a"}}
	if len(order) == 0 {
		return errors.New("go test printed no benchmark results")
	}
	return nil
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

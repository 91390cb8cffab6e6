// Command bench measures xbuild against plain buildx on the local build
// farm and writes docs/BENCHMARKS.md (issue 8). Run it with `make bench`,
// which brings the farm up and builds the standalone buildx first.
//
// Every timing is the wall time of a process started by this program
// (exec, from Start to the end of Wait), or of an in-process loop for the
// built-in lint rules. Variants that are compared run interleaved in one
// session, in a rotating order, and are compared as ratios of medians.
//
// Knobs (environment): BENCH_N (repetitions, default 5), BENCH_ONLY (a
// comma list of P1..P9, R1, R2 and MB for the Go micro-benchmarks),
// BENCH_P7_SLEEP (also P9's wait workload), BENCH_P9_WORK (MiB hashed by
// P9's cpu workload, default 1000), BENCH_R2_TRIALS (default 10),
// BENCH_DEADLINE (default 3h), BENCH_OUT (default docs/BENCHMARKS.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// farmFacts is the part of the farm's farm.json the harness uses.
type farmFacts struct {
	Dir      string `json:"dir"`
	CABundle string `json:"caBundle"`
	Certs    struct {
		ClientCA   string `json:"clientCA"`
		ClientCert string `json:"clientCert"`
		ClientKey  string `json:"clientKey"`
		ServerName string `json:"serverName"`
	} `json:"certs"`
	Nodes map[string]struct {
		Endpoint  string   `json:"endpoint"`
		Platforms []string `json:"platforms"`
		Netns     string   `json:"netns"`
	} `json:"nodes"`
	Registry struct {
		Push         string `json:"push"`
		User         string `json:"user"`
		PasswordFile string `json:"passwordFile"`
	} `json:"registry"`
	Images          map[string]string `json:"images"`
	DockerConfigDir string            `json:"dockerConfigDir"`
	Hadolint        string            `json:"hadolint"`
	Buildx          string            `json:"buildx"`
	BuildkitVersion string            `json:"buildkitVersion"`
}

type harness struct {
	ctx      context.Context
	repo     string
	xbuild   string
	buildx   string
	goBin    string
	farm     farmFacts
	n        int
	p7Sleep  int
	stateDir string
	runID    string
	tmp      string
	deadline time.Time

	subst   []string
	secrets []string

	// xb is the xbuild environment with amd1, arm1 and qemu registered in
	// builder "bench"; set up once, on first use.
	xb *xbEnv
}

// xbEnv is a private xbuild configuration: its own node registry and docker
// config (where the synced buildx builders live).
type xbEnv struct {
	ConfigDir string
	DockerCfg string
	Env       []string
}

func main() {
	out := flag.String("out", envOr("BENCH_OUT", "docs/BENCHMARKS.md"), "the document to write")
	xbuild := flag.String("xbuild", "bin/xbuild", "xbuild binary")
	state := flag.String("state", "", "directory for the netns marker (bench.sh restores the arm64 node when it finds one)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mainErr(ctx, *out, *xbuild, *state); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func mainErr(ctx context.Context, out, xbuild, state string) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		return fmt.Errorf("run from the repository root (make bench): %w", err)
	}
	h := &harness{ctx: ctx, repo: repo, goBin: envOr("GO", "go"), stateDir: state}
	h.n, err = strconv.Atoi(envOr("BENCH_N", "5"))
	if err != nil || h.n < 1 {
		return fmt.Errorf("BENCH_N=%q: want a positive integer", os.Getenv("BENCH_N"))
	}
	h.p7Sleep, err = strconv.Atoi(envOr("BENCH_P7_SLEEP", "10"))
	if err != nil || h.p7Sleep < 1 {
		return fmt.Errorf("BENCH_P7_SLEEP=%q: want seconds", os.Getenv("BENCH_P7_SLEEP"))
	}
	limit, err := time.ParseDuration(envOr("BENCH_DEADLINE", "3h"))
	if err != nil {
		return fmt.Errorf("BENCH_DEADLINE: %w", err)
	}
	h.deadline = time.Now().Add(limit)
	if h.xbuild, err = filepath.Abs(xbuild); err != nil {
		return err
	}

	farmDir := envOr("XBUILD_FARM_DIR", "/var/tmp/xbuild-farm")
	b, err := os.ReadFile(filepath.Join(farmDir, "farm.json"))
	if err != nil {
		return fmt.Errorf("the farm is not up (make farm-up): %w", err)
	}
	if err := json.Unmarshal(b, &h.farm); err != nil {
		return fmt.Errorf("%s/farm.json: %w", farmDir, err)
	}
	h.buildx = h.farm.Buildx
	if h.buildx == "" {
		h.buildx = filepath.Join(farmDir, "bin", "buildx")
	}
	if pw, err := os.ReadFile(h.farm.Registry.PasswordFile); err == nil && strings.TrimSpace(string(pw)) != "" {
		h.secrets = append(h.secrets, strings.TrimSpace(string(pw)))
	}

	commit, dirty, err := treeState(h.repo, out)
	if err != nil {
		return err
	}
	if dirty && os.Getenv("BENCH_ALLOW_DIRTY") != "1" {
		return fmt.Errorf("the tree has uncommitted changes (git status): commit them first, so that %s names the commit it measured, or set BENCH_ALLOW_DIRTY=1 for a trial run (the document then claims no commit)", out)
	}

	only := map[string]bool{}
	for _, id := range strings.Split(os.Getenv("BENCH_ONLY"), ",") {
		if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
			if !slices.Contains(sectionOrder, id) {
				return fmt.Errorf("BENCH_ONLY: unknown section %q (want %s)", id, strings.Join(sectionOrder, ","))
			}
			only[id] = true
		}
	}

	h.tmp, err = os.MkdirTemp("", "xbuild-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(h.tmp)
	h.runID = time.Now().UTC().Format("20060102-150405")
	h.subst = []string{h.tmp, "$BENCH_TMP", h.repo + "/", "", h.repo, "."}

	doc := loadDoc(out)
	doc.Schema = 1
	doc.Commit, doc.Dirty = commit, dirty
	if len(only) == 0 {
		doc.Sections = map[string]*Section{} // a whole run: nothing kept from earlier runs (their history still is)
	}
	started := time.Now()
	doc.Generated = started.UTC().Format("2006-01-02 15:04 UTC")
	doc.Machine = h.machine()

	sections := []struct {
		id  string
		fn  func(*Section) error
		est string
	}{
		{"P5", h.p5, "under a minute"},
		{"P6", h.p6, "under a minute"},
		{"MB", h.micro, "about 3 min"},
		{"P1", h.p1, "about 1 min"},
		{"P4", h.p4, "about 1 min"},
		{"P2", h.p2, "about 3 min (buildx ls waits 20 s per run when the node drops packets)"},
		{"P7", h.p7, "about 4 min"},
		{"P3", h.p3, "about 30 min: each emulated compile takes 4-6 min"},
		{"R1", h.r1, "about 7 min: a failed run, its re-run and arm64 alone, N times"},
		{"R2", h.r2, "about 10 min: 10 trials with the arm64 node cut off, and N clean builds"},
		{"P8", h.p8, "about 5 min per repetition: pruned nodes, registry caches written and read back"},
		{"P9", h.p9, "about 2 min per repetition: 4 builds at once on 1 and on 2 nodes per platform, two workloads"},
	}
	var ran []string
	var failed []string
	for _, sec := range sections {
		if len(only) > 0 && !only[sec.id] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(h.deadline) {
			failed = append(failed, sec.id+" (BENCH_DEADLINE reached)")
			continue
		}
		s := &Section{ID: sec.id, N: h.n, Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Commit: commit}
		if dirty {
			s.Commit = commit + " + uncommitted changes"
		}
		logf("== %s (%s)", sec.id, sec.est)
		load0 := loadavg()
		t0 := time.Now()
		err := sec.fn(s)
		s.Wall = time.Since(t0).Seconds()
		s.Load = load0 + " before, " + loadavg() + " after"
		if err != nil {
			logf("%s failed: %v", sec.id, err)
			failed = append(failed, fmt.Sprintf("%s: %v", sec.id, err))
			if s.Title == "" {
				continue // nothing worth keeping
			}
			s.note("**This section did not finish**: %v", err)
		}
		s.carryHistory(doc.Sections[sec.id])
		doc.Sections[sec.id] = s
		ran = append(ran, sec.id)
		for _, sm := range s.Summary {
			fmt.Printf("%s: %s: %s (target %s, %s)\n", sm.ID, sm.What, sm.Measured, sm.Target, sm.Met)
		}
		// write after every section, so an interrupted run keeps what it measured
		if err := writeDoc(doc, out); err != nil {
			return err
		}
	}
	doc.Machine.Notes = append(doc.Machine.Notes, fmt.Sprintf("Harness wall time of this run (%s): %s, not counting `make farm-up` and compiling the harness.",
		strings.Join(ran, ", "), fmtSeconds(time.Since(started).Seconds())))
	if t, err := strconv.ParseInt(os.Getenv("BENCH_STARTED"), 10, 64); err == nil && t > 0 {
		doc.Machine.Notes = append(doc.Machine.Notes, fmt.Sprintf("`make bench` wall time up to writing this file (farm-up, buildx check, compiling the harness, the sections above): %s.",
			fmtSeconds(time.Since(time.Unix(t, 0)).Seconds())))
	}
	if err := writeDoc(doc, out); err != nil {
		return err
	}
	doc.printSummary(ran)
	fmt.Printf("wrote %s (%s; harness wall time %s)\n", out, strings.Join(ran, ", "), fmtSeconds(time.Since(started).Seconds()))
	if len(failed) > 0 {
		return fmt.Errorf("sections that failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

func writeDoc(doc *Doc, out string) error {
	md, err := doc.markdown()
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, []byte(md), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the host and the versions under test.
func (h *harness) machine() Machine {
	m := Machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Host: map[string]string{}, Versions: map[string]string{}}
	m.Host["CPU"] = cpuModel()
	m.Host["nproc"] = strconv.Itoa(runtime.NumCPU())
	m.Host["memory"] = memTotal()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Host["kernel"] = strings.TrimSpace(string(b))
	}
	m.Host["OS"] = osRelease()
	m.Host["GOARCH"] = runtime.GOOS + "/" + runtime.GOARCH

	env := environment(map[string]string{"XBUILD_CONFIG_DIR": h.tmp, "DOCKER_CONFIG": h.tmp})
	first := func(prog string, args ...string) string {
		r := run(h.ctx, cmd{Prog: prog, Args: args, Env: env, Timeout: time.Minute})
		if !r.ok() {
			return "unknown (" + r.tail() + ")"
		}
		return strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(r.Stdout)), "\n", 2)[0])
	}
	m.Versions["xbuild"] = strings.Join(strings.Fields(string(run(h.ctx, cmd{Prog: h.xbuild, Args: []string{"version"}, Env: env}).Stdout)), " ")
	m.Versions["buildx (standalone)"] = first(h.buildx, "version")
	m.Versions["BuildKit (farm nodes)"] = h.farm.BuildkitVersion
	m.Versions["Go"] = first(h.goBin, "version")
	m.Versions["hadolint"] = first(h.farm.Hadolint, "--version")
	m.Versions["QEMU (binfmt)"] = first("qemu-aarch64-static", "--version")
	for _, role := range []string{"amd64", "amd64b", "arm64", "arm64b", "qemu"} {
		n := h.farm.Nodes[role]
		where := ""
		if n.Netns != "" {
			where = " in network namespace " + n.Netns
		}
		m.Farm = append(m.Farm, fmt.Sprintf("%s node: BuildKit %s at %s%s, platforms %s, mutual TLS", role, h.farm.BuildkitVersion, n.Endpoint, where, strings.Join(n.Platforms, ",")))
	}
	m.Farm = append(m.Farm, fmt.Sprintf("push registry %s (TLS, basic auth); base images %s through the nodes' docker.io mirror", h.farm.Registry.Push, strings.Join(mapValues(h.farm.Images), ", ")))
	m.Notes = append(m.Notes, "**The \"arm64\" node is not arm64 hardware.** Every node runs on this one amd64 machine; the arm64 node "+
		"executes arm64 code through QEMU user-mode emulation (binfmt), in its own network namespace so it can be cut off. "+
		"So \"native arm64\" here means emulated arm64: RUN steps of arm64 images (P7's sleep, P3's emulated compile) run under QEMU. "+
		"P3 and P7 were designed so that this does not decide the result (P3 compares cross-compiling with compiling under QEMU on the same node; "+
		"P7's RUN step waits rather than computes), but absolute arm64 times are not those of real arm64 machines.")
	return m
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	return "?"
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "?"
}

// treeState is the commit checked out in repo and whether the tree has
// uncommitted changes to tracked files (the output document aside: an
// earlier run wrote it).
func treeState(repo, out string) (commit string, dirty bool, err error) {
	c, err := exec.Command("git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "", false, fmt.Errorf("git rev-parse HEAD in %s: %w", repo, err)
	}
	st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return "", false, fmt.Errorf("git status in %s: %w", repo, err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", false, err
	}
	rel, _ := filepath.Rel(repo, abs)
	for _, line := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
		if len(line) > 3 && line[3:] != rel {
			dirty = true
		}
	}
	return strings.TrimSpace(string(c)), dirty, nil
}

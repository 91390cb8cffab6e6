package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// p8: the cache a rebuild finds on nodes with an empty local cache, per
// platform, read from BuildKit's own build history: xbuild's per-platform
// registry cache refs (read and write, and read only) against buildx's one
// cache ref for a multi-node build (buildx#1044).
func (h *harness) p8(s *Section) error {
	s.Title = "cache reuse on pruned nodes: xbuild's per-platform registry cache vs buildx's one cache ref"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	bxCfg, err := h.dockerConfig("bx-p8-docker")
	if err != nil {
		return err
	}
	bxEnv := h.buildxEnv(bxCfg)
	amd := nodeReg{name: "amd1", role: "amd64", builder: "p8bx", platforms: []string{"linux/amd64"}}
	arm := nodeReg{name: "arm1", role: "arm64", builder: "p8bx", platforms: []string{"linux/arm64"}}
	_ = h.exec(rec, cmd{Prog: h.buildx, Args: []string{"rm", "p8bx"}, Env: bxEnv, Timeout: time.Minute}, "setup: an earlier run's builder, if any")
	for i, n := range []nodeReg{amd, arm} {
		if _, err := h.must(rec, cmd{Prog: h.buildx, Args: h.remoteCreateArgs("p8bx", n, i > 0), Env: bxEnv, Timeout: time.Minute}, "setup, once: one buildx builder over both nodes"); err != nil {
			return err
		}
	}
	targets, err := h.p8Targets(map[string]string{"linux/amd64": "amd64", "linux/arm64": "arm64"})
	if err != nil {
		return err
	}
	app := filepath.Join(h.tmp, "p8-app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		return err
	}
	df, err := os.ReadFile(filepath.Join(h.repo, "hack", "bench", "testdata", "cache", "Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(app, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	source := func(v string) error {
		return os.WriteFile(filepath.Join(app, "app.txt"), []byte("version "+v+"\n"), 0o644)
	}
	prune := func() error {
		for p, t := range targets {
			ctx, cancel := context.WithTimeout(h.ctx, 5*time.Minute)
			err := engine.PruneAll(ctx, t)
			cancel()
			if err != nil {
				return fmt.Errorf("pruning the %s node: %w", p, err)
			}
		}
		rec.add(cmd{Prog: "buildctl", Args: []string{"prune", "--all"}}, "on the amd64 and the arm64 node (BuildKit's prune API)")
		return nil
	}
	// read: each platform's newest build after since, from its node's history
	read := func(since time.Time) (map[string]engine.HistoryRecord, error) {
		out := map[string]engine.HistoryRecord{}
		for p, t := range targets {
			ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
			recs, err := engine.BuildHistory(ctx, t)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("the %s node's build history: %w", p, err)
			}
			for _, r := range recs {
				if r.Completed.After(since) && r.TotalSteps > 0 && r.Error == "" {
					out[p] = r // oldest first: the last one wins
				}
			}
			if _, ok := out[p]; !ok {
				return nil, fmt.Errorf("the %s node recorded no build since %s", p, since.Format(time.RFC3339))
			}
		}
		return out, nil
	}
	xbBuild := func(ref string, extra ...string) cmd {
		args := append([]string{"build", "--builder", "bench", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
			"--no-lint", "--progress", "quiet", "--report", "json"}, extra...)
		return cmd{Prog: h.xbuild, Args: args, Dir: app, Env: xb.Env, Timeout: 20 * time.Minute}
	}
	bxBuild := func(ref string, extra ...string) cmd {
		args := append([]string{"build", "--builder", "p8bx", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
			"--provenance", "mode=min", "--progress", "quiet"}, append(extra, ".")...)
		return cmd{Prog: h.buildx, Args: args, Dir: app, Env: bxEnv, Timeout: 20 * time.Minute}
	}
	cacheArgs := func(ref string, write bool) []string {
		a := []string{"--cache-from", "type=registry,ref=" + ref}
		if write {
			a = append(a, "--cache-to", "type=registry,ref="+ref+",mode=max")
		}
		return a
	}

	const (
		xbRW    = "xbuild, --cache-from + --cache-to (one ref given)"
		xbRO    = "xbuild, --cache-from only (a read-only consumer)"
		bxRW    = "buildx, --cache-from + --cache-to (one ref)"
		warmRef = "warm local cache (what can be cached at all)"
	)
	got := map[string]map[string][]engine.HistoryRecord{} // scenario -> platform -> per repetition
	note := func(name string, r map[string]engine.HistoryRecord) {
		if got[name] == nil {
			got[name] = map[string][]engine.HistoryRecord{}
		}
		for p, x := range r {
			got[name][p] = append(got[name][p], x)
			logf("P8 %s %s: %d/%d steps cached", name, p, x.CachedSteps, x.TotalSteps)
		}
	}
	// step builds one version of the source with c and records what the
	// nodes' history says about it (pruned first when asked)
	step := func(name, version string, pruneFirst bool, c cmd) error {
		if pruneFirst {
			if err := prune(); err != nil {
				return err
			}
		}
		if err := source(version); err != nil {
			return err
		}
		since := time.Now()
		if _, err := h.must(rec, c, name); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		r, err := read(since)
		if err != nil {
			return err
		}
		note(name, r)
		return nil
	}
	n := min(h.n, 3)
	s.N = n
	for i := range n {
		if time.Now().After(h.deadline) {
			s.note("Stopped after %d of %d repetitions: the deadline was reached.", i, n)
			break
		}
		id := fmt.Sprintf("%s-%d", h.runID, i)
		xbCache := fmt.Sprintf("%s/bench/p8-cache-xb:%s", h.farm.Registry.Push, id)
		bxCache := fmt.Sprintf("%s/bench/p8-cache-bx:%s", h.farm.Registry.Push, id)
		xbRef := fmt.Sprintf("%s/bench/p8-xb:%s", h.farm.Registry.Push, id)
		bxRef := fmt.Sprintf("%s/bench/p8-bx:%s", h.farm.Registry.Push, id)
		v := func(k string) string { return id + "-" + k }
		for _, st := range []struct {
			name, version string
			prune         bool
			c             cmd
		}{
			// xbuild: seed the cache, then rebuild a changed source on pruned nodes
			{"", v("1"), true, xbBuild(xbRef, cacheArgs(xbCache, true)...)},
			{xbRW, v("2"), true, xbBuild(xbRef, cacheArgs(xbCache, true)...)},
			{xbRO, v("3"), true, xbBuild(xbRef, cacheArgs(xbCache, false)...)},
			// the same change with the local cache kept: the most a cache can give
			{warmRef, v("4"), false, xbBuild(xbRef)},
			// buildx, one builder over both nodes, one cache ref
			{"", v("1"), true, bxBuild(bxRef, cacheArgs(bxCache, true)...)},
			{bxRW, v("2"), true, bxBuild(bxRef, cacheArgs(bxCache, true)...)},
		} {
			if err := h.ctx.Err(); err != nil {
				return err
			}
			if err := step(st.name, st.version, st.prune, st.c); err != nil {
				s.note("repetition %d, %s: %s", i+1, orSeed(st.name), rec.clean(err.Error()))
				logf("P8 %d/%d %s: FAILED: %v", i+1, n, orSeed(st.name), err)
				break
			}
		}
	}

	s.Method = []string{
		"[hack/bench/testdata/cache](../hack/bench/testdata/cache/Dockerfile): busybox, four RUN steps, then `COPY app.txt` and a RUN step " +
			"that reads it; each build changes the one line of app.txt, so the COPY and the last RUN must run again and everything before them " +
			"can come from a cache. Per repetition, on the farm's amd64 and arm64 nodes (native): the nodes' build cache is pruned (BuildKit's " +
			"prune API, `buildctl prune --all`), a first build writes the registry cache, the nodes are pruned again, and the changed source " +
			"is rebuilt; the figures are that rebuild's **cached steps / total steps** as BuildKit's own build history records them " +
			"(ListenBuildHistory: numCachedSteps, numTotalSteps of the node's newest build), per platform.",
		"xbuild: `xbuild build --cache-from type=registry,ref=R --cache-to type=registry,ref=R,mode=max` (xbuild gives each platform its own " +
			"ref, R-linux-amd64 and R-linux-arm64), then a rebuild with `--cache-from` alone, as a pull-request build that may not write the " +
			"cache does. buildx: one builder over the same two nodes, the same flags with one ref, which each node's export overwrites " +
			"(buildx#1044). The reference is the same change rebuilt with the local cache kept: its cached steps are all a cache could give; " +
			"**reuse** is cached steps on pruned nodes / cached steps with the local cache.",
	}
	table := Table{Title: "Rebuild after a one-line change, per platform (cached/total steps per repetition; reuse = median cached / median cached with the local cache):",
		Header: []string{"scenario", "platform", "cached/total", "reuse"}}
	reuse := map[string]map[string]float64{}
	for _, name := range []string{xbRW, xbRO, bxRW, warmRef} {
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			rs := got[name][p]
			if len(rs) == 0 {
				table.Rows = append(table.Rows, []string{name, p, "not measured", "-"})
				continue
			}
			var parts []string
			var cached []float64
			for _, r := range rs {
				parts = append(parts, fmt.Sprintf("%d/%d", r.CachedSteps, r.TotalSteps))
				cached = append(cached, float64(r.CachedSteps))
			}
			frac := "-"
			if w := got[warmRef][p]; len(w) > 0 && name != warmRef {
				var wc []float64
				for _, r := range w {
					wc = append(wc, float64(r.CachedSteps))
				}
				if median(wc) > 0 {
					f := median(cached) / median(wc)
					if reuse[name] == nil {
						reuse[name] = map[string]float64{}
					}
					reuse[name][p] = f
					frac = fmt.Sprintf("%.0f %%", 100*f)
				}
			}
			table.Rows = append(table.Rows, []string{name, p, strings.Join(parts, ", "), frac})
		}
	}
	s.Tables = append(s.Tables, table)
	line := func(name string) (string, bool) {
		r := reuse[name]
		a, okA := r["linux/amd64"]
		b, okB := r["linux/arm64"]
		if !okA || !okB {
			return "not measured", false
		}
		return fmt.Sprintf("amd64 %.0f %%, arm64 %.0f %%", 100*a, 100*b), a >= 0.9 && b >= 0.9
	}
	rw, rwMet := line(xbRW)
	ro, roMet := line(xbRO)
	bx, _ := line(bxRW)
	s.metric("P8 xbuild --cache-from + --cache-to", "%s", rw)
	s.metric("P8 xbuild --cache-from only", "%s", ro)
	s.metric("P8 buildx, one cache ref", "%s", bx)
	s.Summary = []Summary{
		{ID: "P8", What: "cache reuse on pruned nodes, xbuild per-platform registry cache (read+write; read only)", Measured: rw + "; read only: " + ro, Target: "≥ 90 % per platform", Met: metWord(rwMet && roMet)},
		{ID: "P8", What: "same, buildx with one cache ref over two nodes (reference)", Measured: bx, Target: "—", Met: "n/a"},
	}
	return nil
}

func orSeed(name string) string {
	if name == "" {
		return "the build that writes the cache"
	}
	return name
}

// p8Targets is how the harness reaches the farm's nodes itself (their
// build history, prune): mutual TLS with the farm's client certificate.
func (h *harness) p8Targets(roles map[string]string) (map[string]engine.ProbeTarget, error) {
	ca, err := os.ReadFile(h.farm.Certs.ClientCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no certificate", h.farm.Certs.ClientCA)
	}
	pair, err := tls.LoadX509KeyPair(h.farm.Certs.ClientCert, h.farm.Certs.ClientKey)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: h.farm.Certs.ServerName, MinVersion: tls.VersionTLS12}
	out := map[string]engine.ProbeTarget{}
	for p, role := range roles {
		n, ok := h.farm.Nodes[role]
		if !ok {
			return nil, fmt.Errorf("farm.json has no %s node", role)
		}
		out[p] = engine.ProbeTarget{Kind: "buildkit", Endpoint: n.Endpoint, TLS: cfg}
	}
	return out, nil
}

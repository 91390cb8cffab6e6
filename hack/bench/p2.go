package main

import (
	"fmt"
	"strings"
	"time"
)

// p2: listing nodes with the arm64 node cut off.
func (h *harness) p2(s *Section) error {
	s.Title = "a dead node: xbuild nodes ls and buildx ls with the arm64 node cut off"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	bxCfg, err := h.dockerConfig("bx-p2-docker")
	if err != nil {
		return err
	}
	bxEnv := h.buildxEnv(bxCfg)
	for i, n := range h.benchNodes("bench") {
		if _, err := h.must(rec, cmd{Prog: h.buildx, Args: h.remoteCreateArgs("bench", n, i > 0), Env: bxEnv, Timeout: time.Minute}, "setup: the same three nodes"); err != nil {
			return err
		}
	}
	xls := cmd{Prog: h.xbuild, Args: []string{"nodes", "ls"}, Env: xb.Env, Timeout: 2 * time.Minute}
	bls := cmd{Prog: h.buildx, Args: []string{"ls"}, Env: bxEnv, Timeout: 2 * time.Minute}

	s.Method = []string{
		"Both tools know the same three nodes (amd1, arm1, qemu; mutual TLS): xbuild through `xbuild nodes add`, buildx through a builder " +
			"made of the same nodes with `buildx create` (remote driver). Each is timed listing them (xbuild checks every node's health in parallel, " +
			"default timeout 2.5 s; buildx ls asks every builder's nodes for their status).",
		"Three states of the arm64 node: **up**; **cut** (`hack/farm/netns.sh cut`: its link is down, connections fail at once with " +
			"\"no route to host\"); **drop** (`netns.sh drop`: packets are silently dropped, connections hang until the client gives up, " +
			"like a machine that vanished). The node is restored (`netns.sh restore`, which waits until it answers) after each state.",
		"buildx ls also lists the `default` builder (the local Docker engine, absent here), which fails at once.",
	}
	type phase struct{ mode, label string }
	med := map[string]float64{}
	for _, ph := range []phase{{"", "up"}, {"cut", "cut"}, {"drop", "drop"}} {
		var restore func() error
		if ph.mode != "" {
			if restore, err = h.netns(rec, ph.mode); err != nil {
				return err
			}
		}
		vs := []variant{
			{name: "xbuild nodes ls, arm64 node " + ph.label, c: xls},
			{name: "buildx ls, arm64 node " + ph.label, c: bls},
		}
		// sample output: what each tool says about arm1
		for _, v := range vs {
			r := h.exec(rec, v.c, "sample output, not timed")
			for _, l := range strings.Split(string(r.Stdout)+string(r.Stderr), "\n") {
				if strings.Contains(l, "arm1") || strings.Contains(l, "10.77.0.2") {
					s.note("%s (exit %d, %s): `%s`", v.name, r.Code, r.Dur.Round(time.Millisecond), strings.Join(strings.Fields(rec.clean(l)), " "))
					break
				}
			}
		}
		// a list with a dead node may exit non-zero: that is its answer, not a failure here
		lerr := h.loopAnyExit(s, rec, "P2 "+ph.label, vs, h.n, 15*time.Minute)
		if restore != nil {
			if rerr := restore(); rerr != nil {
				return rerr
			}
		}
		if lerr != nil {
			return lerr
		}
		for _, v := range vs {
			med[v.name] = s.series(v.name, "s").Median()
		}
	}
	xc, xd := med["xbuild nodes ls, arm64 node cut"], med["xbuild nodes ls, arm64 node drop"]
	bc, bd := med["buildx ls, arm64 node cut"], med["buildx ls, arm64 node drop"]
	s.metric("xbuild nodes ls: up / cut / drop (median)", "%.2f s / %.2f s / %.2f s", med["xbuild nodes ls, arm64 node up"], xc, xd)
	s.metric("buildx ls: up / cut / drop (median)", "%.2f s / %.2f s / %.2f s", med["buildx ls, arm64 node up"], bc, bd)
	if xd > 0 {
		s.metric("buildx ls / xbuild nodes ls with the node dropping packets", "%.1f", bd/xd)
	}
	worst := max(xc, xd)
	s.Summary = []Summary{
		{ID: "P2", What: "xbuild nodes ls, arm64 node cut off (cut / drop)", Measured: fmt.Sprintf("%.2f s / %.2f s", xc, xd), Target: "≤ 3 s", Met: metWord(worst <= 3)},
		{ID: "P2", What: "buildx ls, same (reference)", Measured: fmt.Sprintf("%.2f s / %.2f s", bc, bd), Target: "—", Met: "n/a"},
	}
	return nil
}

// loopAnyExit is loop for commands whose exit code is part of the answer
// (a list with a dead node): every run that started and ended on its own
// is timed; only a run killed by its time bound counts as failed.
func (h *harness) loopAnyExit(s *Section, rec *recorder, id string, vs []variant, n int, budget time.Duration) error {
	end := time.Now().Add(budget)
	if end.After(h.deadline) {
		end = h.deadline
	}
	for _, v := range vs {
		s.series(v.name, "s")
	}
	for i := range n {
		if time.Now().After(end) {
			s.note("%s: stopped after %d of %d repetitions: the time bound (%s) was reached.", id, i, n, budget)
			break
		}
		for _, v := range rotate(vs, i) {
			if err := h.ctx.Err(); err != nil {
				return err
			}
			x := s.series(v.name, "s")
			r := h.exec(rec, v.c, "")
			if r.Err != nil {
				x.Failed = append(x.Failed, rec.clean(r.tail()))
				logf("%s %d/%d %s: FAILED in %s: %s", id, i+1, n, v.name, r.Dur.Round(time.Millisecond), rec.clean(r.tail()))
				continue
			}
			x.Values = append(x.Values, r.Dur.Seconds())
			logf("%s %d/%d %s: %s (exit %d)", id, i+1, n, v.name, r.Dur.Round(time.Millisecond), r.Code)
		}
	}
	return nil
}

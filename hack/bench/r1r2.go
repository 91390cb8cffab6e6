package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The release transaction (issue 13): R1 resume, R2 a node lost mid-build.
// Both build hack/bench/testdata/sleep (one RUN step that waits SLEEP
// seconds) on the amd64 and arm64 nodes, and cut the arm64 node off
// (`netns.sh drop`: packets silently dropped, like a machine that vanished)
// while its RUN step waits.

// r12Sleep is the RUN step's wait: long enough that the cut lands inside it.
const r12Sleep = 20

// r12Cut is when, after the build starts, the arm64 node is cut off.
const r12Cut = 8 * time.Second

// sleepBuild is `xbuild build --push` of the sleep Dockerfile.
func (h *harness) sleepBuild(xb *xbEnv, repo, nonce, platforms string, extra ...string) cmd {
	ref := fmt.Sprintf("%s/bench/%s:%s", h.farm.Registry.Push, repo, nonce)
	args := append([]string{"build", "--builder", "bench", "--platform", platforms, "-t", ref, "--push",
		"--build-arg", "NONCE=" + nonce, "--build-arg", "SLEEP=" + strconv.Itoa(r12Sleep), "--progress", "quiet", "--report", "json"}, extra...)
	return cmd{Prog: h.xbuild, Args: args, Dir: filepath.Join(h.repo, "hack", "bench", "testdata", "sleep"), Env: xb.Env, Timeout: 8 * time.Minute}
}

// withCut runs c and cuts the arm64 node off r12Cut after it started,
// restoring the node once c has ended. The build runs aside; the recorder
// is used from this goroutine only.
func (h *harness) withCut(rec *recorder, c cmd) (result, error) {
	rec.add(c, "the arm64 node is cut off (netns.sh drop) 8 s after the start")
	done := make(chan result, 1)
	go func() { done <- run(h.ctx, c) }()
	var restore func() error
	var cutErr error
	select {
	case r := <-done:
		return r, fmt.Errorf("the build ended after %s, before the node could be cut: %s", r.Dur.Round(time.Millisecond), rec.clean(r.tail()))
	case <-time.After(r12Cut):
		restore, cutErr = h.netns(rec, "drop")
	}
	r := <-done
	if restore != nil {
		if err := restore(); err != nil {
			return r, err
		}
	}
	return r, cutErr
}

// platformResults maps each platform of a report to "node result".
func platformResults(stdout []byte) map[string]string {
	var rep struct {
		Platforms []struct {
			Platform, Node, Result string
		} `json:"platforms"`
		Published bool `json:"published"`
	}
	out := map[string]string{}
	if err := jsonUnmarshalTail(stdout, &rep); err != nil {
		return out
	}
	for _, p := range rep.Platforms {
		out[p.Platform] = p.Node + " " + p.Result
	}
	if rep.Published {
		out["published"] = "yes"
	}
	return out
}

// r1: a failed run resumed.
func (h *harness) r1(s *Section) error {
	s.Title = "resume: a release whose arm64 node was lost, run again"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	s.Method = []string{
		fmt.Sprintf("[hack/bench/testdata/sleep/Dockerfile](../hack/bench/testdata/sleep/Dockerfile) with SLEEP=%d, a fresh NONCE per repetition. "+
			"The failed run: both platforms, the arm64 node cut off (`netns.sh drop`) %s after the start, while its RUN step waits; "+
			"xbuild has nowhere to send arm64 (no --allow-emulation) and exits 1, having pushed amd64 by digest and recorded it. ", r12Sleep, r12Cut) +
			"The node is restored, then the same command runs again: **R1 = that re-run's wall time (to a published, verified index) / " +
			"the wall time of a build of arm64 alone** (same Dockerfile, its own fresh NONCE, so nothing is cached), measured right after it.",
		"The re-run must report amd64 `reused` and arm64 `built`; a repetition where it does not is listed as failed.",
	}
	resume, solo, ratio := s.series("re-run after the failure (both platforms, amd64 reused)", "s"), s.series("arm64 alone", "s"), s.series("R1 per repetition", "x")
	for i := range h.n {
		if err := h.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(h.deadline) {
			s.note("Stopped after %d of %d repetitions: BENCH_DEADLINE.", i, h.n)
			break
		}
		nonce := fmt.Sprintf("%s-r1-%d", h.runID, i)
		c := h.sleepBuild(xb, "r1", nonce, "linux/amd64,linux/arm64")
		failed, err := h.withCut(rec, c)
		if err != nil {
			return err
		}
		if failed.Code != 1 {
			resume.Failed = append(resume.Failed, fmt.Sprintf("the cut run exited %d, want 1: %s", failed.Code, rec.clean(failed.tail())))
			continue
		}
		r := h.exec(rec, c, "the same command again, node restored")
		res := platformResults(r.Stdout)
		if !r.ok() || res["linux/amd64"] != "amd1 reused" || res["linux/arm64"] != "arm1 built" || res["published"] != "yes" {
			resume.Failed = append(resume.Failed, fmt.Sprintf("re-run exit %d, results %v: %s", r.Code, res, rec.clean(r.tail())))
			continue
		}
		so := h.exec(rec, h.sleepBuild(xb, "r1-solo", nonce+"-solo", "linux/arm64"), "arm64 alone, for the ratio")
		if !so.ok() {
			solo.Failed = append(solo.Failed, rec.clean(so.tail()))
			continue
		}
		resume.Values = append(resume.Values, r.Dur.Seconds())
		solo.Values = append(solo.Values, so.Dur.Seconds())
		ratio.Values = append(ratio.Values, r.Dur.Seconds()/so.Dur.Seconds())
		logf("R1 %d/%d: failed run %s (exit %d), re-run %s, arm64 alone %s", i+1, h.n, failed.Dur.Round(time.Millisecond), failed.Code,
			r.Dur.Round(time.Millisecond), so.Dur.Round(time.Millisecond))
	}
	for _, x := range []*Series{resume, solo} {
		for _, f := range x.Failed {
			s.note("%s failed once: %s", x.Name, f)
		}
	}
	if len(ratio.Values) == 0 {
		s.Summary = []Summary{{ID: "R1", What: "resume / arm64 alone", Measured: "not measured", Target: "≤ 1.15", Met: "not met"}}
		return fmt.Errorf("no repetition finished")
	}
	r1 := resume.Median() / solo.Median()
	s.metric("R1, ratio of medians: re-run / arm64 alone", "%.2f (%.1f s vs %.1f s)", r1, resume.Median(), solo.Median())
	s.metric("R1, median of the per-repetition ratios", "%.2f", ratio.Median())
	s.Summary = []Summary{{ID: "R1", What: "resume: re-run to a published index / that platform alone", Measured: fmt.Sprintf("%.2f", r1), Target: "≤ 1.15", Met: metWord(r1 <= 1.15)}}
	return nil
}

// r2: the arm64 node lost mid-build, --allow-emulation.
func (h *harness) r2(s *Section) error {
	s.Title = "a node lost mid-build: failover to the emulated node"
	rec := h.newRecorder()
	defer func() { s.Commands = rec.cmds }()
	xb, err := h.benchXB(rec)
	if err != nil {
		return err
	}
	trials, err := strconv.Atoi(envOr("BENCH_R2_TRIALS", "10"))
	if err != nil || trials < 1 {
		return fmt.Errorf("BENCH_R2_TRIALS=%q: want a positive integer", envOr("BENCH_R2_TRIALS", ""))
	}
	s.N = trials
	s.Method = []string{
		fmt.Sprintf("[hack/bench/testdata/sleep/Dockerfile](../hack/bench/testdata/sleep/Dockerfile) with SLEEP=%d and a fresh NONCE per build, both platforms, "+
			"`--allow-emulation`, nodes amd1, arm1 and the emulated qemu. A **trial** cuts the arm64 node off (`netns.sh drop`) %s after the start: "+
			"xbuild must notice the node is gone, cancel arm64's build, build it again on qemu and publish a verified index. "+
			"A **clean** build is the same command with no cut; clean builds and trials alternate.", r12Sleep, r12Cut),
		"**R2 = median trial wall time − median clean wall time.** A trial that does not end within its 8-minute bound is a **hang**; " +
			"a trial that ends without publishing, or without arm64 reported as `failover` on qemu, is listed as failed.",
	}
	clean, trial := s.series("clean build (no cut)", "s"), s.series("trial: arm64 node cut off at 8 s", "s")
	hangs, wrong := 0, 0
	for i := range trials {
		if err := h.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(h.deadline) {
			s.note("Stopped after %d of %d trials: BENCH_DEADLINE.", i, trials)
			break
		}
		if i < h.n {
			c := h.exec(rec, h.sleepBuild(xb, "r2", fmt.Sprintf("%s-r2-clean-%d", h.runID, i), "linux/amd64,linux/arm64", "--allow-emulation"), "clean")
			if c.ok() {
				clean.Values = append(clean.Values, c.Dur.Seconds())
			} else {
				clean.Failed = append(clean.Failed, rec.clean(c.tail()))
			}
		}
		r, err := h.withCut(rec, h.sleepBuild(xb, "r2", fmt.Sprintf("%s-r2-trial-%d", h.runID, i), "linux/amd64,linux/arm64", "--allow-emulation"))
		if err != nil {
			return err
		}
		res := platformResults(r.Stdout)
		switch {
		case r.Err != nil && strings.Contains(r.Err.Error(), "deadline"):
			hangs++
			trial.Failed = append(trial.Failed, "HANG: "+rec.clean(r.tail()))
		case !r.ok() || res["linux/arm64"] != "qemu failover" || res["published"] != "yes":
			wrong++
			trial.Failed = append(trial.Failed, fmt.Sprintf("exit %d, results %v: %s", r.Code, res, rec.clean(r.tail())))
		default:
			trial.Values = append(trial.Values, r.Dur.Seconds())
		}
		logf("R2 %d/%d: %s (exit %d, %v)", i+1, trials, r.Dur.Round(time.Millisecond), r.Code, res)
	}
	for _, x := range []*Series{clean, trial} {
		for _, f := range x.Failed {
			s.note("%s: %s", x.Name, f)
		}
	}
	if len(trial.Values) == 0 || len(clean.Values) == 0 {
		s.Summary = []Summary{{ID: "R2", What: "node lost mid-build: extra time to a verified index", Measured: "not measured", Target: "≤ 60 s", Met: "not met"}}
		return fmt.Errorf("no trial or clean build finished")
	}
	extra := trial.Median() - clean.Median()
	s.metric("R2: median trial − median clean", "%.1f s (%.1f s vs %.1f s)", extra, trial.Median(), clean.Median())
	s.metric("hangs / trials", "%d / %d (and %d trials that ended wrong)", hangs, trials, wrong)
	s.Summary = []Summary{
		{ID: "R2", What: "node lost mid-build: extra time to a verified index", Measured: fmt.Sprintf("%.1f s", extra), Target: "≤ 60 s", Met: metWord(extra <= 60)},
		{ID: "R2", What: "hangs in trials", Measured: fmt.Sprintf("%d of %d", hangs, trials), Target: "0", Met: metWord(hangs == 0 && wrong == 0)},
	}
	return nil
}

// jsonUnmarshalTail decodes xbuild's --report json, skipping anything
// printed before it.
func jsonUnmarshalTail(stdout []byte, v any) error {
	s := strings.TrimSpace(string(stdout))
	if i := strings.Index(s, "{"); i > 0 {
		s = s[i:]
	}
	return json.Unmarshal([]byte(s), v)
}

package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/nodes"
)

func TestPipelineNativePushVerifyReport(t *testing.T) {
	cfg := pushConfig()
	cfg.Compression = "zstd"
	cfg.Report = "json"
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("zstd")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, h.err)
	}
	// the plan builder holds exactly the routed nodes, with their platforms
	if len(h.eng.buildx) != 2 ||
		!strings.Contains(h.eng.buildx[0], "--node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/amd1.sock") ||
		!strings.Contains(h.eng.buildx[1], "--node arm1 --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/arm1.sock") {
		t.Errorf("buildx calls = %q", h.eng.buildx)
	}
	if len(h.eng.builds) != 1 {
		t.Fatalf("builds = %d", len(h.eng.builds))
	}
	spec := h.eng.builds[0]
	if spec.Image == nil || !spec.Image.Push || spec.Image.Compression != "zstd" || spec.Provenance != "mode=min" ||
		strings.Join(spec.Tags, ",") != "registry.example.com/team/app:1.0" || spec.BuildArgs["HTTP_PROXY"] != "http://bob:pw1234@proxy:3128" {
		t.Errorf("spec = %+v", spec)
	}
	if _, ok := spec.BuildArgs["TARGETARCH"]; ok {
		t.Error("TARGETARCH passed globally")
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, h.out)
	}
	if rep.Digest != "sha256:index" || len(rep.Platforms) != 2 || rep.Platforms[0].Node != "amd1" || rep.Platforms[1].Node != "arm1" ||
		rep.Platforms[1].Emulated || rep.Platforms[0].CompressedSize != 1_500_500 || rep.Verify == nil || !rep.Verify.OK {
		t.Errorf("report = %+v", rep)
	}
	if got := stepNames(rep.Steps); got != "lint plan build verify" {
		t.Errorf("steps = %q", got)
	}
	if strings.Contains(h.err.String()+h.out.String(), "pw1234") {
		t.Errorf("the proxy password leaked:\n%s%s", h.err, h.out)
	}
	if !strings.Contains(h.err.String(), "#1 RUN echo http://[REDACTED]@proxy:3128") {
		t.Errorf("build output not redacted as expected:\n%s", h.err)
	}
}

func TestPipelineFallbackToEmulation(t *testing.T) {
	cfg := pushConfig()
	cfg.AllowEmulation = true
	h := newHarness(t, cfg, "arm1")
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	a := h.state.Plan.Assignments
	if len(a) != 2 || a[1].Node != "qemu" || !a[1].Emulated {
		t.Fatalf("assignments = %+v", a)
	}
	if !strings.Contains(h.err.String(), "WARNING: linux/arm64: native node arm1 is unreachable") {
		t.Errorf("no loud warning:\n%s", h.err)
	}
	last := h.eng.buildx[len(h.eng.buildx)-1]
	if !strings.HasPrefix(last, "rm --keep-state xbuild-") {
		t.Errorf("fallback builder not removed; calls = %q", h.eng.buildx)
	}
	if !strings.Contains(h.err.String(), "linux/arm64  qemu  emulated") {
		t.Errorf("report does not say arm64 was emulated:\n%s", h.err)
	}
}

func TestPipelineRefusesWithoutEmulation(t *testing.T) {
	h := newHarness(t, pushConfig(), "arm1")
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "plan" {
		t.Fatalf("want a plan error, got %v", err)
	}
	for _, want := range []string{"linux/arm64", "arm1", "unreachable", "--allow-emulation"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if len(h.eng.builds) != 0 || len(h.eng.buildx) != 0 {
		t.Errorf("buildx was run: %q %d", h.eng.buildx, len(h.eng.builds))
	}
}

func TestPipelineLintErrorStopsBeforeAnyNode(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Lint = func(context.Context, lint.Options) (*lint.Result, error) {
		return &lint.Result{Findings: []lint.Finding{{Rule: "XB001", Severity: lint.SeverityError, File: "Dockerfile", Line: 2, Message: "ENV sets HTTP_PROXY"}}, Notices: []string{}}, nil
	}
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "lint" || !strings.Contains(err.Error(), "no node was contacted") {
		t.Fatalf("want a lint error, got %v", err)
	}
	if h.dialer.dials != 0 || len(h.eng.buildx) != 0 || len(h.eng.builds) != 0 {
		t.Errorf("nodes were contacted: dials=%d buildx=%q builds=%d", h.dialer.dials, h.eng.buildx, len(h.eng.builds))
	}
	if !strings.Contains(h.err.String(), "Dockerfile:2 error XB001") {
		t.Errorf("finding not shown:\n%s", h.err)
	}
}

func TestPipelineDryRun(t *testing.T) {
	cfg := pushConfig()
	cfg.BuildArgs = map[string]string{"NPM_TOKEN": "npm_secret_value"}
	h := newHarness(t, cfg)
	h.state.Options.DryRun = true
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	out := h.out.String()
	for _, want := range []string{"linux/amd64    -> amd1, native", "linux/arm64    -> arm1, native", "docker buildx create --name xbuild-",
		"docker buildx build --builder xbuild-", "--build-arg HTTP_PROXY=http://[REDACTED]@proxy:3128", "--build-arg NPM_TOKEN=[REDACTED]"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pw1234") || strings.Contains(out, "npm_secret_value") {
		t.Errorf("dry-run leaked a secret:\n%s", out)
	}
	if len(h.eng.buildx) != 0 || len(h.eng.builds) != 0 {
		t.Errorf("dry-run ran buildx: %q", h.eng.buildx)
	}
}

func TestPipelineVerifyFailureFailsAfterReport(t *testing.T) {
	h := newHarness(t, pushConfig())
	reg := pushedRegistry("gzip")
	reg.files["sha256:arm64/app"] = elfHeader(62) // an x86-64 binary in the arm64 image
	h.state.Registry = reg
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "verify" {
		t.Fatalf("want a verify error, got %v", err)
	}
	if !strings.Contains(err.Error(), "linux/arm64 binary-arch: /app is x86-64 (amd64), not AArch64 (arm64)") {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(h.err.String(), "Verify FAILED: 1 of") {
		t.Errorf("report not printed before failing:\n%s", h.err)
	}
}

func TestPipelineSizeBudget(t *testing.T) {
	cfg := pushConfig()
	cfg.SizeBudget = "1.45MB"
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB") {
		t.Fatalf("err = %v", err)
	}
}

func TestPipelineWithoutPush(t *testing.T) {
	cfg := config.Defaults()
	cfg.SizeBudget = "1KB" // nothing to measure without a push: noted, not failed
	h := newHarness(t, cfg)
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	if h.eng.builds[0].Image != nil || h.eng.builds[0].Provenance != "" || strings.Join(h.eng.builds[0].Outputs, " ") != "type=cacheonly" {
		t.Errorf("spec without --push: %+v", h.eng.builds[0])
	}
	if !strings.Contains(h.err.String(), "Size budget 1.0 kB: not checked (nothing was pushed to measure)") {
		t.Errorf("no size-budget note:\n%s", h.err)
	}
	for _, want := range []string{"verifying the pushed image in the registry: skipped (nothing was pushed)", "nothing was pushed (no --push)", "Not pushed"} {
		if !strings.Contains(h.err.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, h.err)
		}
	}
	if h.out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing without a push", h.out)
	}
}

func stepNames(ts []Timing) string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Step)
	}
	return strings.Join(names, " ")
}

func TestPipelineRegistryCacheSplitsPerPlatform(t *testing.T) {
	cfg := pushConfig()
	cfg.CacheTo = []string{"type=registry,ref=registry.example.com/team/app:cache,mode=max"}
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	calls := strings.Join(h.eng.buildx, "\n")
	if !strings.Contains(calls, "bake --builder xbuild-") ||
		!strings.Contains(calls, "imagetools create --tag registry.example.com/team/app:1.0 registry.example.com/team/app@sha256:linux-amd64 registry.example.com/team/app@sha256:linux-arm64") {
		t.Errorf("buildx calls:\n%s", calls)
	}
	refs := map[string]bool{}
	for _, b := range h.eng.builds {
		refs[b.Platforms[0]+" "+strings.Join(b.CacheTo, ",")] = true
	}
	for _, want := range []string{
		"linux/amd64 type=registry,ref=registry.example.com/team/app:cache-linux-amd64,mode=max",
		"linux/arm64 type=registry,ref=registry.example.com/team/app:cache-linux-arm64,mode=max",
	} {
		if !refs[want] {
			t.Errorf("no target %q in %v", want, refs)
		}
	}
	if h.state.Build.Digest != "sha256:index" || !h.state.Verify.OK {
		t.Errorf("digest %s verify %+v", h.state.Build.Digest, h.state.Verify)
	}
}

func TestPipelineLocalDefaultWhenNoNodes(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Nodes = nil
	h.state.Registry = pushedRegistry("gzip")
	h.state.LocalNodes = []nodes.Node{
		{Name: "local", Kind: nodes.KindLocal, Endpoint: "unix:///run/gone.sock"},
		{Name: "local", Kind: nodes.KindLocal, Endpoint: "unix:///run/qemu.sock"},
	}
	h.dialer.dead["/run/gone.sock"] = true
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if !strings.Contains(h.err.String(), "WARNING: No build nodes are registered: building on this machine's local at unix:///run/qemu.sock (linux/amd64 native, linux/arm64 through QEMU).") {
		t.Errorf("no one-line notice:\n%s", h.err)
	}
	a := h.state.Plan.Assignments
	if len(a) != 2 || a[0].Node != "local" || a[0].Emulated || !a[1].Emulated {
		t.Errorf("assignments = %+v", a)
	}
	if len(h.eng.buildx) != 1 || !strings.Contains(h.eng.buildx[0], "--platform linux/amd64,linux/arm64 --timeout 2s unix:///run/qemu.sock") {
		t.Errorf("builder: %q", h.eng.buildx)
	}
}

func TestPipelineNoNodesAnywhereSaysWhatToRun(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Nodes = nil
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "runs no BuildKit or Docker engine") || !strings.Contains(err.Error(), "xbuild nodes certs --out") ||
		!strings.Contains(err.Error(), "xbuild nodes add NODE --endpoint tcp://NODE_HOST:1234") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocalCandidates(t *testing.T) {
	env := map[string]string{"BUILDKIT_HOST": "unix:///custom/bk.sock", "XDG_RUNTIME_DIR": "/run/user/1000"}
	exists := map[string]bool{"/custom/bk.sock": true, "/run/user/1000/buildkit/buildkitd.sock": true, "/var/run/docker.sock": true}
	got := LocalCandidates(func(k string) string { return env[k] }, func(p string) bool { return exists[p] })
	var eps []string
	for _, n := range got {
		eps = append(eps, string(n.Kind)+" "+n.Endpoint)
	}
	want := "local unix:///custom/bk.sock|local unix:///run/user/1000/buildkit/buildkitd.sock|docker unix:///var/run/docker.sock"
	if strings.Join(eps, "|") != want {
		t.Errorf("candidates = %q\nwant %q", strings.Join(eps, "|"), want)
	}
}

func TestPipelineMissingEntrypointFailsVerify(t *testing.T) {
	h := newHarness(t, pushConfig())
	reg := pushedRegistry("gzip")
	delete(reg.files, "sha256:arm64/app")
	h.state.Registry = reg
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "linux/arm64 entrypoint: /app (the image's ENTRYPOINT/CMD) does not exist in the image") {
		t.Fatalf("err = %v", err)
	}
}

func TestPipelineSizeBudgetWithVerifyOff(t *testing.T) {
	cfg := pushConfig()
	cfg.Verify, cfg.SizeBudget = false, "1MB"
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "over the size budget of 1.00 MB") {
		t.Fatalf("err = %v", err)
	}
}

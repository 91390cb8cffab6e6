package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/nodes"
)

func TestPipelineNativePushVerifyReport(t *testing.T) {
	cfg := pushConfig()
	cfg.Compression = "zstd"
	cfg.Report = "json"
	h := newHarness(t, cfg)
	reg := pushedRegistry("zstd")
	h.state.Registry = reg
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, h.err)
	}
	// one single-node builder per routed node
	assertCallsAnyOrder(t, h.eng,
		"create --name xbuild-node-amd1 --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/amd1.sock",
		"create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64 --timeout 2s unix:///run/arm1.sock")
	if !strings.Contains(h.err.String(), "buildx builder xbuild-node-amd1: create amd1") {
		t.Errorf("the builder sync is not reported:\n%s", h.err)
	}
	// each platform is its own build on its own node, pushed by digest, no tag
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Fatalf("builds = %s", got)
	}
	for _, spec := range h.eng.builds {
		if spec.Image == nil || !spec.Image.Push || !spec.Image.PushByDigest || spec.Image.Name != "registry.example.com/team/app" ||
			spec.Image.Compression != "zstd" || spec.Provenance != "mode=min" || len(spec.Tags) != 0 || spec.BuildArgs["HTTP_PROXY"] != "http://bob:pw1234@proxy:3128" {
			t.Errorf("spec = %+v (image %+v)", spec, spec.Image)
		}
		if _, ok := spec.BuildArgs["TARGETARCH"]; ok {
			t.Error("TARGETARCH passed globally")
		}
	}
	// merged into one index by digest, in the requested order, then tagged
	if len(reg.merged) != 1 || strings.Join(reg.merged[0], " ") != "registry.example.com/team/app@sha256:push-amd64 registry.example.com/team/app@sha256:push-arm64" {
		t.Errorf("merged %q", reg.merged)
	}
	if reg.tags["registry.example.com/team/app:1.0"] != indexDigest || len(reg.tags) != 1 {
		t.Errorf("tags %v", reg.tags)
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, h.out)
	}
	if rep.Digest != indexDigest || !rep.Published || len(rep.Platforms) != 2 || rep.Platforms[0].Node != "amd1" || rep.Platforms[1].Node != "arm1" ||
		rep.Platforms[0].Result != "built" || rep.Platforms[1].Result != "built" || rep.Platforms[1].Emulated ||
		rep.Platforms[0].CompressedSize != 1_500_500 || rep.Platforms[0].Pushed != "sha256:push-amd64" || rep.Verify == nil || !rep.Verify.OK {
		t.Errorf("report = %+v", rep)
	}
	if got := stepNames(rep.Steps); got != "lint plan build verify sign publish" {
		t.Errorf("steps = %q", got)
	}
	if strings.Contains(h.err.String()+h.out.String(), "pw1234") {
		t.Errorf("the proxy password leaked:\n%s%s", h.err, h.out)
	}
	if !strings.Contains(h.err.String(), "linux/arm64: #1 RUN echo http://[REDACTED]@proxy:3128") {
		t.Errorf("build output not redacted as expected:\n%s", h.err)
	}
	// published: nothing is kept for a re-run
	if ents, _ := os.ReadDir(filepath.Join(h.state.StateDir, "builds")); len(ents) != 1 || ents[0].Name() != ".lock" {
		t.Errorf("build state left behind: %v", ents)
	}

	// the next build finds the builders as it left them: no buildx command
	if err := h.rerun(t); err != nil {
		t.Fatalf("second Run: %v\n%s", err, h.err)
	}
	assertCalls(t, h.eng)
	// a builder removed by hand is noticed and made again
	h.eng.DeleteBuilder("xbuild-node-arm1")
	if err := h.rerun(t); err != nil {
		t.Fatalf("third Run: %v\n%s", err, h.err)
	}
	assertCalls(t, h.eng, "create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64 --timeout 2s unix:///run/arm1.sock")
}

// assertCalls checks the buildx commands run since the last check.
func assertCalls(t *testing.T, e *fakeEngine, want ...string) {
	t.Helper()
	if got := e.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildx calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	e.FakeBuildx.Reset()
}

// assertCallsAnyOrder is assertCalls for commands run concurrently.
func assertCallsAnyOrder(t *testing.T, e *fakeEngine, want ...string) {
	t.Helper()
	got := e.Calls()
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildx calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	e.FakeBuildx.Reset()
}

// A node found down when the build starts: its platform goes to the
// emulated node (with --allow-emulation), and back when it returns.
func TestPipelineFallbackToEmulation(t *testing.T) {
	cfg := pushConfig()
	cfg.AllowEmulation = true
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	h.eng.Reset()

	// arm1 goes down: arm64 moves to qemu, and only arm64 moves
	h.dialer.setDead("/run/arm1.sock", true)
	if err := h.rerun(t); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	a := h.state.Plan.Assignments
	if len(a) != 2 || a[1].Node != "qemu" || !a[1].Emulated {
		t.Fatalf("assignments = %+v", a)
	}
	if !strings.Contains(h.err.String(), "WARNING: linux/arm64: native node arm1 is unreachable") {
		t.Errorf("no loud warning:\n%s", h.err)
	}
	assertCalls(t, h.eng, "create --name xbuild-node-qemu --node qemu --driver remote --platform linux/amd64,linux/arm64 --timeout 2s unix:///run/qemu.sock")
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-qemu linux/arm64" {
		t.Errorf("builds = %s", got)
	}
	if !strings.Contains(h.err.String(), "linux/arm64  qemu  emulated  built") {
		t.Errorf("report does not say arm64 was emulated:\n%s", h.err)
	}

	// arm1 is back: its builder is as it was, nothing to run
	h.dialer.setDead("/run/arm1.sock", false)
	if err := h.rerun(t); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	assertCalls(t, h.eng)
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Errorf("builds = %s", got)
	}
}

// loseNode makes the build of platform on builder lose its node mid-build:
// the node stops answering and the build hangs until it is cancelled, as
// buildx does with a node cut off.
func loseNode(h *harness, builder, platform, sock string) {
	h.eng.onBuild = func(ctx context.Context, spec engine.BuildSpec) error {
		if spec.Builder != builder || spec.Platforms[0] != platform {
			return nil
		}
		h.dialer.mu.Lock()
		h.dialer.dead[sock] = true
		h.dialer.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(20 * time.Second):
			return errors.New("the lost node's build was never cancelled")
		}
	}
}

// The arm64 node is lost mid-build: arm64 is cancelled and rebuilt on the
// emulated node (--allow-emulation), amd64 goes on; the index is verified
// and tagged.
func TestPipelineNodeLostMidBuildFailsOver(t *testing.T) {
	cfg := pushConfig()
	cfg.AllowEmulation = true
	cfg.Report = "json"
	h := newHarness(t, cfg)
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	loseNode(h, "xbuild-node-arm1", "linux/arm64", "/run/arm1.sock")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64|xbuild-node-qemu linux/arm64" {
		t.Errorf("builds = %s", got)
	}
	if !strings.Contains(h.err.String(), "WARNING: linux/arm64: node arm1 was lost mid-build (unreachable: dial unix: connection refused); building it again on qemu (emulated: through QEMU)") {
		t.Errorf("the failover is not said:\n%s", h.err)
	}
	var rep Report
	if err := json.Unmarshal(h.out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Platforms[0].Result != "built" || rep.Platforms[1].Result != "failover" || rep.Platforms[1].Node != "qemu" || !rep.Platforms[1].Emulated ||
		strings.Join(rep.Platforms[1].Lost, ",") != "arm1" || !rep.Published {
		t.Errorf("report platforms %+v", rep.Platforms)
	}
	if strings.Join(reg.merged[0], " ") != "registry.example.com/team/app@sha256:push-amd64 registry.example.com/team/app@sha256:push-arm64" || len(reg.tags) != 1 {
		t.Errorf("merged %q tags %v", reg.merged, reg.tags)
	}
}

// With nowhere to go, the build fails naming the lost node, writes no tag,
// and keeps what finished: the same command run again reuses amd64 and
// builds only arm64.
func TestPipelineNodeLostNowhereToGoThenResume(t *testing.T) {
	cfg := pushConfig()
	h := newHarness(t, cfg)
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	loseNode(h, "xbuild-node-arm1", "linux/arm64", "/run/arm1.sock")
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "build" {
		t.Fatalf("want a build error, got %v", err)
	}
	for _, want := range []string{"linux/arm64: node arm1 was lost mid-build (unreachable", "no other node can build it", "--allow-emulation",
		"running the same command again rebuilds only the ones that failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(reg.tags) != 0 || len(reg.merged) != 0 {
		t.Errorf("something was published: merged %q tags %v", reg.merged, reg.tags)
	}
	if !strings.Contains(h.err.String(), "NOT published: no tag was created or moved") || !strings.Contains(h.err.String(), "linux/arm64  arm1  native  failed") {
		t.Errorf("report:\n%s", h.err)
	}

	// the node is back; amd64's push is still in the registry
	h.eng.onBuild = nil
	h.dialer.setDead("/run/arm1.sock", false)
	reg.present = map[string]bool{"registry.example.com/team/app@sha256:push-amd64": true}
	if err := h.rerun(t); err != nil {
		t.Fatalf("re-run: %v\n%s", err, h.err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-arm1 linux/arm64" {
		t.Errorf("re-run built %s, want only arm64", got)
	}
	if !strings.Contains(h.err.String(), "linux/amd64: reused sha256:push-amd64, pushed by node amd1 in an earlier run of this build") ||
		!strings.Contains(h.err.String(), "linux/amd64  amd1  native  reused") || !strings.Contains(h.err.String(), "linux/arm64  arm1  native  built") {
		t.Errorf("re-run report:\n%s", h.err)
	}
	if strings.Join(reg.merged[0], " ") != "registry.example.com/team/app@sha256:push-amd64 registry.example.com/team/app@sha256:push-arm64" || len(reg.tags) != 1 {
		t.Errorf("merged %q tags %v", reg.merged, reg.tags)
	}

	// a push gone from the registry is built again
	if err := h.rerun(t); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Errorf("after publishing, the state is forgotten: builds %s", got)
	}
}

// A push that fails for a reason that passes is built (pushed) again on
// the same node and said; a failure that does not pass fails the platform
// without stopping the others.
func TestPipelinePushRetriesAndPlatformFailure(t *testing.T) {
	h := newHarness(t, pushConfig())
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	var tries atomic.Int32
	h.eng.onBuild = func(_ context.Context, spec engine.BuildSpec) error {
		if spec.Platforms[0] == "linux/amd64" && tries.Add(1) == 1 {
			return errors.New("failed to push registry.example.com/team/app: unexpected status from PUT request: 503 Service Unavailable")
		}
		return nil
	}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if !strings.Contains(h.err.String(), "WARNING: linux/amd64: the push failed (503 Service Unavailable); building it again on amd1, retry 1 of 2") || len(reg.tags) != 1 {
		t.Errorf("retry not said or not published:\n%s", h.err)
	}

	h.eng.onBuild = func(_ context.Context, spec engine.BuildSpec) error {
		if spec.Platforms[0] == "linux/arm64" {
			return errors.New(`process "/bin/sh -c make" did not complete successfully: exit code: 2`)
		}
		return nil
	}
	reg.tags = nil
	err := h.rerun(t)
	if err == nil || !strings.Contains(err.Error(), `linux/arm64 (on node arm1): process "/bin/sh -c make" did not complete successfully: exit code: 2`) {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Errorf("a failing platform stopped the other: %s", got)
	}
	if len(reg.tags) != 0 {
		t.Errorf("tags written: %v", reg.tags)
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
	if len(h.eng.builds) != 0 || len(h.eng.Calls()) != 0 {
		t.Errorf("buildx was run: %q %d", h.eng.Calls(), len(h.eng.builds))
	}
}

func TestPipelineLintErrorStopsBeforeAnyBuild(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Lint = func(context.Context, lint.Options) (*lint.Result, error) {
		return &lint.Result{Findings: []lint.Finding{{Rule: "XB001", Severity: lint.SeverityError, File: "Dockerfile", Line: 2, Message: "ENV sets HTTP_PROXY"}}, Notices: []string{}}, nil
	}
	// the nodes may be health-checked while lint runs; the registry, the
	// node store (claims) and any build wait for lint to pass
	var mu sync.Mutex
	var opened []string
	open := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, what)
	}
	nodeList, checker := h.state.Nodes, h.state.Checker
	h.state.Engine, h.state.Nodes, h.state.Store, h.state.Checker, h.state.Registry = nil, nil, nil, nil, nil
	h.state.Open = Opener{
		Nodes:    func() ([]nodes.Node, error) { open("nodes"); return nodeList, nil },
		Store:    func() (*nodes.Store, error) { open("store"); return nil, errors.New("no") },
		Engine:   func() (engine.Engine, error) { open("engine"); return h.eng, nil },
		Checker:  func(engine.Engine) *nodes.Checker { open("checker"); return checker },
		Registry: func() (Registry, error) { open("registry"); return nil, errors.New("no") },
	}
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "lint" || !strings.Contains(err.Error(), "nothing was built") {
		t.Fatalf("want a lint error, got %v", err)
	}
	if h.state.prefetch != nil {
		t.Error("the pipeline returned with its node checks still running")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(h.eng.builds) != 0 || slices.Contains(opened, "store") || slices.Contains(opened, "registry") || stepNames(h.state.Timings) != "lint report" {
		t.Errorf("something ran after the failed lint: builds=%d opened=%q timings=%+v", len(h.eng.builds), opened, h.state.Timings)
	}
	if !strings.Contains(h.err.String(), "Dockerfile:2 error XB001") {
		t.Errorf("the finding was not printed:\n%s", h.err)
	}
}

// Lint and the node health checks overlap: the checks have dialled the
// nodes before lint returns, and the plan step routes on those checks
// without dialling again.
func TestPipelineLintOverlapsHealthChecks(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Registry = pushedRegistry("gzip")
	dials := func() int { return int(h.eng.probed.Load()) }
	var during int
	h.state.Lint = func(ctx context.Context, _ lint.Options) (*lint.Result, error) {
		// bounded: 500 polls of 10 ms
		for i := 0; i < 500 && dials() < 3; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		during = dials()
		return &lint.Result{}, nil
	}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if during < 3 {
		t.Errorf("lint finished with %d node probe(s) made: the health checks did not run while it did", during)
	}
	if after := dials(); after != during {
		t.Errorf("the plan step checked the nodes again: %d probes during lint, %d in all", during, after)
	}
	for _, want := range []string{"amd1", "arm1", "node(s) checked in"} {
		if !strings.Contains(h.err.String(), want) {
			t.Errorf("the plan's health lines lack %q:\n%s", want, h.err)
		}
	}
}

// Dependencies are opened when a step first needs them, once each.
func TestPipelineOpensDependenciesOnFirstUse(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Registry = nil
	var opened []string
	list, store, checker := h.state.Nodes, h.state.Store, h.state.Checker
	h.state.Engine, h.state.Nodes, h.state.Store, h.state.Checker = nil, nil, nil, nil
	h.state.Open = Opener{
		Nodes:    func() ([]nodes.Node, error) { opened = append(opened, "nodes"); return list, nil },
		Store:    func() (*nodes.Store, error) { opened = append(opened, "store"); return store, nil },
		Engine:   func() (engine.Engine, error) { opened = append(opened, "engine"); return h.eng, nil },
		Checker:  func(engine.Engine) *nodes.Checker { opened = append(opened, "checker"); return checker },
		Registry: func() (Registry, error) { opened = append(opened, "registry"); return pushedRegistry("gzip"), nil },
	}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if got := strings.Join(opened, " "); got != "nodes engine checker store registry" {
		t.Errorf("opened %q", got)
	}
}

func TestPipelineDryRun(t *testing.T) {
	cfg := pushConfig()
	cfg.BuildArgs = map[string]string{"NPM_TOKEN": "npm_secret_value"}
	h := newHarness(t, cfg)
	h.state.Options.DryRun = true
	h.state.Registry = pushedRegistry("gzip")
	before := snapshot(t, h.state.Store.Dir())
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	out := h.out.String()
	for _, want := range []string{"linux/amd64    -> amd1, native", "linux/arm64    -> arm1, native",
		"docker buildx create --name xbuild-node-amd1 --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/amd1.sock",
		"docker buildx create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64 --timeout 2s unix:///run/arm1.sock",
		"docker buildx build --builder xbuild-node-amd1 --file " + h.state.Config.Dockerfile + " --platform linux/amd64 ",
		"docker buildx build --builder xbuild-node-arm1 --file ",
		"--output type=image,name=registry.example.com/team/app,push-by-digest=true,name-canonical=true,push=true,compression=gzip,force-compression=true,oci-mediatypes=true",
		"--build-arg HTTP_PROXY=http://[REDACTED]@proxy:3128", "--build-arg NPM_TOKEN=[REDACTED]",
		"Then: one index of the platforms pushed by digest to registry.example.com/team/app, verified in the registry, and only then tagged: registry.example.com/team/app:1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pw1234") || strings.Contains(out, "npm_secret_value") {
		t.Errorf("dry-run leaked a secret:\n%s", out)
	}
	if len(h.eng.Calls()) != 0 || len(h.eng.builds) != 0 {
		t.Errorf("dry-run ran buildx: %q", h.eng.Calls())
	}
	if after := snapshot(t, h.state.Store.Dir()); !reflect.DeepEqual(after, before) {
		t.Errorf("dry-run changed the node registry:\nbefore %v\nafter  %v", before, after)
	}

	// after a real build, the dry run says the builders need nothing
	h.state.Options.DryRun = false
	if err := h.rerun(t); err != nil {
		t.Fatal(err)
	}
	h.state.Options.DryRun = true
	if err := h.rerun(t); err != nil {
		t.Fatal(err)
	}
	if out := h.out.String(); !strings.Contains(out, "buildx commands xbuild would run:\n  (the buildx builders are as their last sync left them: nothing to create or change)\n  docker buildx build --builder xbuild-node-amd1 ") {
		t.Errorf("dry-run after a build:\n%s", out)
	}
}

// snapshot maps every path under dir to its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var data []byte
		if !d.IsDir() {
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		out[p] = fmt.Sprintf("%v %q", info.Mode(), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A failed check stops the build before any tag is written; the report
// still shows what was built and says nothing was published.
func TestPipelineVerifyFailureWritesNoTag(t *testing.T) {
	h := newHarness(t, pushConfig())
	reg := pushedRegistry("gzip")
	reg.files["sha256:arm64/app"] = elfHeader(62) // an x86-64 binary in the arm64 image
	h.state.Registry = reg
	err := Run(context.Background(), h.state, Steps())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "verify" {
		t.Fatalf("want a verify error, got %v", err)
	}
	// the same x86-64 /app in both images is also a byte-identical binary
	for _, want := range []string{"2 check(s) failed on the unverified index registry.example.com/team/app@" + indexDigest + "",
		"linux/arm64 binary-arch: /app is x86-64 (amd64), not AArch64 (arm64)",
		"linux/amd64, linux/arm64 identical-binary: /app is byte-identical in linux/amd64 and linux/arm64",
		"it was pushed by digest only: no tag was created or moved"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(reg.tags) != 0 {
		t.Errorf("a tag was written for an unverified index: %v", reg.tags)
	}
	for _, want := range []string{"NOT published: the index " + indexDigest + " was pushed by digest only; no tag was created or moved", "Verify FAILED: 2 of"} {
		if !strings.Contains(h.err.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, h.err)
		}
	}
}

func TestPipelineSizeBudget(t *testing.T) {
	cfg := pushConfig()
	cfg.SizeBudget = "1.45MB"
	h := newHarness(t, cfg)
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "linux/amd64 size-budget: linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB") {
		t.Fatalf("err = %v", err)
	}
	if len(reg.tags) != 0 {
		t.Errorf("a tag was written over the budget: %v", reg.tags)
	}
}

func TestPipelineWithoutPush(t *testing.T) {
	cfg := config.Defaults()
	cfg.SizeBudget = "1KB" // nothing to measure without a push: noted, not failed
	h := newHarness(t, cfg)
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.eng.buildsOn(), "|"); got != "xbuild-node-amd1 linux/amd64|xbuild-node-arm1 linux/arm64" {
		t.Errorf("builds = %s", got)
	}
	for _, b := range h.eng.builds {
		if b.Image != nil || b.Provenance != "" || strings.Join(b.Outputs, " ") != "type=cacheonly" {
			t.Errorf("spec without --push: %+v", b)
		}
	}
	if !strings.Contains(h.err.String(), "Size budget 1.0 kB: not checked (nothing was pushed to measure)") {
		t.Errorf("no size-budget note:\n%s", h.err)
	}
	for _, want := range []string{"verifying the pushed index in the registry: skipped (nothing was pushed)", "nothing was pushed (no --push)", "Not pushed"} {
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

func TestPipelineRegistryCachePerPlatform(t *testing.T) {
	cfg := pushConfig()
	cfg.CacheTo = []string{"type=registry,ref=registry.example.com/team/app:cache,mode=max"}
	h := newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	refs := map[string]bool{}
	for _, b := range h.eng.builds {
		refs[b.Platforms[0]+" "+strings.Join(b.CacheTo, ",")+" <- "+strings.Join(b.CacheFrom, ",")] = true
	}
	for _, want := range []string{
		"linux/amd64 type=registry,ref=registry.example.com/team/app:cache-linux-amd64,mode=max <- type=registry,ref=registry.example.com/team/app:cache-linux-amd64",
		"linux/arm64 type=registry,ref=registry.example.com/team/app:cache-linux-arm64,mode=max <- type=registry,ref=registry.example.com/team/app:cache-linux-arm64",
	} {
		if !refs[want] {
			t.Errorf("no build %q in %v", want, refs)
		}
	}
	if h.state.Build.Digest != indexDigest || !h.state.Verify.OK {
		t.Errorf("digest %s verify %+v", h.state.Build.Digest, h.state.Verify)
	}
}

func TestPipelineLocalDefaultWhenNoNodes(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.noRegisteredNodes(t)
	h.state.Registry = pushedRegistry("gzip")
	h.state.LocalNodes = []nodes.Node{
		{Name: "local", Kind: nodes.KindLocal, Endpoint: "unix:///run/gone.sock"},
		{Name: "local", Kind: nodes.KindLocal, Endpoint: "unix:///run/qemu.sock"},
	}
	h.dialer.dead["/run/gone.sock"] = true
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if !strings.Contains(h.err.String(), "WARNING: No build nodes are registered: building on this machine's BuildKit at unix:///run/qemu.sock (linux/amd64 native, linux/arm64 through QEMU).") {
		t.Errorf("no one-line notice:\n%s", h.err)
	}
	a := h.state.Plan.Assignments
	if len(a) != 2 || a[0].Node != "local" || a[0].Emulated || !a[1].Emulated {
		t.Errorf("assignments = %+v", a)
	}
	// one daemon, one buildx node with both platforms
	assertCalls(t, h.eng, "create --name xbuild-node-local --node local --driver remote --platform linux/amd64,linux/arm64 --timeout 2s unix:///run/qemu.sock")
}

func TestPipelineNoNodesAnywhereSaysWhatToRun(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.noRegisteredNodes(t)
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
	if err == nil || !strings.Contains(err.Error(), "over the size budget of 1.00 MB") || !strings.Contains(err.Error(), "no tag was created or moved") {
		t.Fatalf("err = %v", err)
	}
}

// This machine's Docker engine is routed like any node: its own platform
// natively, a platform binfmt_misc runs through QEMU. Its docker context
// is written by the build, never by the plan or a dry run.
func TestPipelineLocalDockerEngine(t *testing.T) {
	native := "linux/" + runtime.GOARCH
	s390x := "enabled\ninterpreter /usr/bin/qemu-s390x\nflags: OCF\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask ffffffffffffff00fffffffffffffffffffeffff\n"
	binfmt := func(entries map[string]string) string {
		dir := t.TempDir()
		entries["status"], entries["register"] = "enabled\n", ""
		for name, text := range entries {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	cfg := config.Defaults()
	cfg.Platforms = []string{native, "linux/s390x"}
	h := newHarness(t, cfg)
	h.noRegisteredNodes(t)
	ctxs := &fakeContexts{}
	h.state.DockerContexts = ctxs
	h.state.LocalNodes = []nodes.Node{{Name: "local", Kind: nodes.KindDocker, Endpoint: "unix:///run/docker.sock"}}
	h.eng.probes["unix:///run/docker.sock"] = []string{native}

	h.state.BinfmtDir = binfmt(map[string]string{})
	err := Run(context.Background(), h.state, Steps())
	if want := "plan: no build nodes are registered, and this machine's Docker engine at unix:///run/docker.sock cannot build linux/s390x (it reports " + native +
		"): install QEMU (apt-get install qemu-user-static binfmt-support), or register a native node: xbuild nodes add NAME --endpoint URL --platform linux/s390x"; err == nil || err.Error() != want {
		t.Fatalf("without QEMU: %v\nwant %s", err, want)
	}

	h.state.BinfmtDir = binfmt(map[string]string{"qemu-s390x": s390x})
	h.state.Options.DryRun = true
	if err := h.rerun(t); err != nil {
		t.Fatalf("dry run: %v\n%s", err, h.err)
	}
	create := "create --name xbuild-node-local --node local --driver docker-container --platform " + native + ",linux/s390x --timeout 2s xbuild-local"
	for _, want := range []string{"docker context xbuild would write first: xbuild-local (unix:///run/docker.sock)", "docker buildx " + create} {
		if !strings.Contains(h.out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, h.out)
		}
	}
	if len(ctxs.ensured) != 0 || len(h.eng.Calls()) != 0 {
		t.Errorf("the dry run wrote a docker context %q or ran buildx %q", ctxs.ensured, h.eng.Calls())
	}

	h.state.Options.DryRun = false
	if err := h.rerun(t); err != nil {
		t.Fatalf("build: %v\n%s", err, h.err)
	}
	if want := "WARNING: No build nodes are registered: building on this machine's Docker engine at unix:///run/docker.sock (" + native + " native, linux/s390x through QEMU).\n"; !strings.Contains(h.err.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, h.err)
	}
	if want := "WARNING: linux/s390x built through QEMU on this machine (RUN steps run emulated, 5-20x slower for compiling unless the Dockerfile cross-compiles on $BUILDPLATFORM): register native nodes with xbuild nodes add\n"; !strings.Contains(h.err.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, h.err)
	}
	if got := strings.Join(ctxs.ensured, "|"); got != "xbuild-local unix:///run/docker.sock" {
		t.Errorf("docker contexts written: %q", got)
	}
	assertCalls(t, h.eng, create)
	var got []string
	for _, a := range h.state.Plan.Assignments {
		got = append(got, fmt.Sprintf("%s %s emulated=%v (%s)", a.Platform, a.Node, a.Emulated, a.Reason))
	}
	if want := native + " local emulated=false (this machine)|linux/s390x local emulated=true (this machine, through QEMU)"; strings.Join(got, "|") != want {
		t.Errorf("assignments %q\nwant %q", strings.Join(got, "|"), want)
	}
}

// Lint runs before the build arguments are merged, and its findings may
// quote them (a FROM line resolved with a build argument): every secret
// is registered before the first step, and lint's output is masked.
func TestLintOutputIsMasked(t *testing.T) {
	cfg := pushConfig()
	cfg.BuildArgs = map[string]string{"NPM_TOKEN": "npm_s3cret_value", "BASE": "https://bob:reg-pa55@registry.example.com/base"}
	cfg.CacheFrom = []string{"type=registry,ref=carol:cache-pa55@registry.example.com/cache"}
	h := newHarness(t, cfg)
	h.state.Lint = func(context.Context, lint.Options) (*lint.Result, error) {
		return &lint.Result{Findings: []lint.Finding{
			{Rule: "XB005", Severity: lint.SeverityError, File: "Dockerfile", Line: 1, Message: "FROM https://bob:reg-pa55@registry.example.com/base has no tag (NPM_TOKEN=npm_s3cret_value)"},
		}, Notices: []string{"hadolint saw carol:cache-pa55@registry.example.com/cache"}}, nil
	}
	if err := Run(context.Background(), h.state, Steps()); err == nil {
		t.Fatal("an error finding did not stop the build")
	}
	for _, secret := range []string{"npm_s3cret_value", "reg-pa55", "cache-pa55"} {
		if strings.Contains(h.err.String(), secret) {
			t.Errorf("lint printed %q:\n%s", secret, h.err)
		}
	}
	if !strings.Contains(h.err.String(), "Dockerfile:1 error XB005") {
		t.Errorf("the finding is not shown:\n%s", h.err)
	}
}

// A dry run that cannot route shows that as its plan (and fails like the
// build would), instead of only an error.
func TestDryRunWithNowhereToBuild(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.noRegisteredNodes(t)
	h.state.Options.DryRun = true
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "runs no BuildKit or Docker engine") {
		t.Fatalf("err = %v", err)
	}
	out := h.out.String()
	for _, want := range []string{"Plan (builder xbuild): linux/amd64, linux/arm64 cannot be routed:\n  no build nodes are registered and this machine runs no BuildKit or Docker engine",
		"xbuild nodes add NODE --endpoint", "Nothing would be built: a build with these settings stops here."} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
}

// Claims only spread concurrent runs: a config dir that cannot hold them
// (here claims is a file, as good as a full disk) costs a warning, not the
// build.
func TestPipelineBuildsWhenClaimsCannotBeWritten(t *testing.T) {
	h := newHarness(t, pushConfig())
	h.state.Registry = pushedRegistry("gzip")
	if err := os.WriteFile(filepath.Join(h.state.StateDir, "claims"), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	if !strings.Contains(h.err.String(), "the build claims were not recorded") || len(h.eng.builds) != 2 {
		t.Errorf("builds %d, stderr:\n%s", len(h.eng.builds), h.err)
	}
}

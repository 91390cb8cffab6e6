package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/nodes"
)

// TestMain gives the package's tests a HOME and a docker config directory
// of their own: the docker CLI library reads $DOCKER_CONFIG once per
// process, so it is set before any test runs, and no test can write to
// the real ~/.docker.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "xbuild-cmd-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", home)
	os.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	os.Unsetenv("BUILDX_CONFIG")
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// cmdEngine is a fake engine: builders kept as buildx keeps them, builds
// recorded, probes answered per endpoint.
type cmdEngine struct {
	enginetest.FakeBuildx
	probes map[string][]string
	mu     sync.Mutex
	builds []engine.BuildSpec
}

func (e *cmdEngine) Build(_ context.Context, spec engine.BuildSpec, _ engine.BuildOptions) (*engine.BuildResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.builds = append(e.builds, spec)
	return &engine.BuildResult{Digest: "sha256:feed"}, nil
}

func (e *cmdEngine) Bake(context.Context, string, map[string]engine.BuildSpec, []string, engine.BuildOptions) (map[string]*engine.BuildResult, error) {
	return nil, errors.New("fake engine: no bake")
}

func (e *cmdEngine) ImagetoolsCreate(context.Context, []string, []string) (string, error) {
	return "", errors.New("fake engine: no imagetools")
}

func (e *cmdEngine) Probe(_ context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error) {
	if p, ok := e.probes[t.Endpoint]; ok {
		return &engine.ProbeResult{BuildKitVersion: "v0.34.2", Platforms: p}, nil
	}
	return nil, errors.New("fake engine: nothing at " + t.Endpoint)
}

func (e *cmdEngine) Describe() string { return "fake engine" }

// recordingContexts records the docker contexts written.
type recordingContexts struct{ ensured []string }

func (c *recordingContexts) Ensure(dc engine.DockerContext) error {
	c.ensured = append(c.ensured, dc.Name+" "+dc.Host)
	return nil
}

func (c *recordingContexts) Remove(name string) error {
	return errors.New("the build removes no docker context")
}

func (c *recordingContexts) Snapshot(name string) (engine.DockerContextSnapshot, error) {
	return engine.DockerContextSnapshot{}, errors.New("the build snapshots no docker context")
}

func (c *recordingContexts) Restore(engine.DockerContextSnapshot) error {
	return errors.New("the build restores no docker context")
}

// buildEnv is a Factory with fakes for `xbuild build`: a fake engine that
// also answers health probes, a dialer that answers every unix socket,
// sockets that exist only when listed, a lint gate with no findings, a
// clock that ticks one second per reading.
type buildEnv struct {
	f       *Factory
	eng     *cmdEngine
	env     map[string]string
	out     *bytes.Buffer
	errOut  *bytes.Buffer
	engines int // engines built
	dials   atomic.Int32
	sockets []string
}

func newBuildEnv(t *testing.T) *buildEnv {
	t.Helper()
	io, out, errOut := iostreams.Test()
	be := &buildEnv{
		eng:    &cmdEngine{probes: map[string][]string{}},
		env:    map[string]string{"XBUILD_CONFIG_DIR": filepath.Join(t.TempDir(), "xbuild"), "HOME": os.Getenv("HOME")},
		out:    out,
		errOut: errOut,
	}
	var mu sync.Mutex // health checks read the clock concurrently
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	be.f = &Factory{
		IO:     io,
		Getenv: func(k string) string { return be.env[k] },
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
		NewEngine: func(string) (engine.Engine, error) {
			be.engines++
			return be.eng, nil
		},
		Linter: func(context.Context, lint.Options) (*lint.Result, error) {
			return &lint.Result{Findings: []lint.Finding{}, Notices: []string{}}, nil
		},
		DockerContexts: &recordingContexts{},
		Dial: func(_ context.Context, network, addr string) (net.Conn, error) {
			be.dials.Add(1)
			a, b := net.Pipe()
			go func() { _ = b.Close() }()
			return a, nil
		},
		FileExists: func(p string) bool { return slices.Contains(be.sockets, p) },
	}
	return be
}

// dockerHere makes this machine's Docker engine (a socket in dir) the
// only local daemon, answering as native amd64, with QEMU for arm64 in a
// fake binfmt_misc.
func (be *buildEnv) dockerHere(t *testing.T, dir string) string {
	t.Helper()
	be.f.BinfmtDir = filepath.Join(dir, "binfmt_misc")
	for name, text := range map[string]string{
		"status":       "enabled\n",
		"register":     "",
		"qemu-aarch64": "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n",
	} {
		if err := os.MkdirAll(be.f.BinfmtDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(be.f.BinfmtDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "docker.sock")
	be.sockets = append(be.sockets, sock)
	be.env["DOCKER_HOST"] = "unix://" + sock
	be.eng.probes["unix://"+sock] = []string{"linux/amd64"}
	return sock
}

// register adds nodes amd1 and arm1 (buildkit daemons on unix sockets) to
// the registry, answering as native amd64 and arm64.
func (be *buildEnv) register(t *testing.T) {
	t.Helper()
	st, err := nodes.Open(be.env["XBUILD_CONFIG_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []nodes.Node{
		{Name: "amd1", Kind: nodes.KindLocal, Endpoint: "unix:///run/amd1.sock", Platforms: []string{"linux/amd64"}},
		{Name: "arm1", Kind: nodes.KindLocal, Endpoint: "unix:///run/arm1.sock", Platforms: []string{"linux/arm64"}},
	} {
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	be.eng.probes["unix:///run/amd1.sock"] = []string{"linux/amd64"}
	be.eng.probes["unix:///run/arm1.sock"] = []string{"linux/arm64"}
}

// build parses args as `xbuild build` does and calls runBuild.
func (be *buildEnv) build(t *testing.T, args ...string) error {
	t.Helper()
	be.out.Reset()
	be.errOut.Reset()
	be.eng.Reset()
	be.eng.builds = nil
	return runBuild(context.Background(), parseBuild(t, be.f, args...))
}

// parseBuild returns the options `xbuild build ARGS` runs with.
func parseBuild(t *testing.T, f *Factory, args ...string) *buildOptions {
	t.Helper()
	var got *buildOptions
	c := newBuildCmd(f, func(_ context.Context, o *buildOptions) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(&bytes.Buffer{})
	c.SetErr(&bytes.Buffer{})
	if err := c.Execute(); err != nil {
		t.Fatalf("xbuild build %s: %v", strings.Join(args, " "), err)
	}
	return got
}

// snapshotTree maps every path under root to its mode and content ("absent"
// when root does not exist).
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			out[root] = "absent"
			return nil
		}
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var data []byte
		if info.Mode().IsRegular() {
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

func diffTrees(before, after map[string]string) []string {
	var diffs []string
	for p, v := range after {
		if before[p] != v {
			diffs = append(diffs, fmt.Sprintf("%s: %s -> %s", p, before[p], v))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			diffs = append(diffs, p+": removed")
		}
	}
	slices.Sort(diffs)
	return diffs
}

func TestBuildFlags(t *testing.T) {
	be := newBuildEnv(t)
	o := parseBuild(t, be.f, "app", "--dry-run", "--no-lint", "--build-arg", "A=1", "--build-arg", "B", "-o", "type=oci,dest=x.tar", "--no-cache", "--pull")
	got := fmt.Sprintf("args=%q dryRun=%v noLint=%v buildArgs=%q outputs=%q noCache=%v pull=%v",
		o.args, o.dryRun, o.noLint, o.buildArgs, o.outputs, o.noCache, o.pull)
	want := `args=["app"] dryRun=true noLint=true buildArgs=["A=1" "B"] outputs=["type=oci,dest=x.tar"] noCache=true pull=true`
	if got != want || o.f != be.f || o.cmd == nil {
		t.Errorf("options:\n got %s\nwant %s", got, want)
	}
}

// A dry run writes nothing anywhere: not in HOME, not in the docker config
// (the real docker context store is in use), not in the xbuild config
// directory, whether it would build on this machine's Docker engine or on
// registered nodes whose builder was synced by an earlier build.
func TestBuildDryRunWritesNothing(t *testing.T) {
	home, dockerConfig := os.Getenv("HOME"), os.Getenv("DOCKER_CONFIG")
	// the docker context store and buildx below write where TestMain said
	if got, want := engine.BuildxConfigDir(), filepath.Join(dockerConfig, "buildx"); got != want {
		t.Fatalf("buildx state is in %s, not in the test's DOCKER_CONFIG (%s)", got, want)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, be *buildEnv)
		want  []string // lines of the printed plan
		// buildWrites are places the same build without --dry-run writes
		// to, showing that the snapshots see writes
		buildWrites []string
	}{
		{
			name:  "this machine's Docker engine",
			setup: func(t *testing.T, be *buildEnv) { be.dockerHere(t, t.TempDir()) },
			want: []string{"  linux/amd64    -> local, native", "  linux/arm64    -> local, emulated (QEMU)", "docker context xbuild would write first: xbuild-local (unix://",
				"  docker buildx create --name xbuild-node-local --node local --driver docker-container --platform linux/amd64,linux/arm64 --timeout 2s xbuild-local"},
			buildWrites: []string{filepath.Join(dockerConfig, "contexts", "meta"), "XBUILD_CONFIG_DIR/builders/xbuild-node-local.json"},
		},
		{
			name: "registered nodes, builder synced by an earlier build",
			setup: func(t *testing.T, be *buildEnv) {
				be.register(t)
				if err := be.build(t, t.TempDir(), "--platform", "linux/amd64,linux/arm64"); err != nil {
					t.Fatalf("build: %v\n%s", err, be.errOut)
				}
			},
			want: []string{"  linux/amd64    -> amd1, native", "  linux/arm64    -> arm1, native",
				"  (the buildx builders are as their last sync left them: nothing to create or change)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBuildEnv(t)
			be.f.DockerContexts = engine.DockerContextStore{}
			tc.setup(t, be)
			roots := []string{home, dockerConfig, be.env["XBUILD_CONFIG_DIR"]}
			before := map[string]string{}
			for _, r := range roots {
				for k, v := range snapshotTree(t, r) {
					before[k] = v
				}
			}
			if err := be.build(t, t.TempDir(), "--platform", "linux/amd64,linux/arm64", "--dry-run"); err != nil {
				t.Fatalf("dry run: %v\n%s", err, be.errOut)
			}
			for _, want := range tc.want {
				if !strings.Contains(be.out.String(), want) {
					t.Errorf("plan lacks %q:\n%s", want, be.out)
				}
			}
			after := map[string]string{}
			for _, r := range roots {
				for k, v := range snapshotTree(t, r) {
					after[k] = v
				}
			}
			if d := diffTrees(before, after); len(d) > 0 {
				t.Errorf("the dry run wrote:\n  %s", strings.Join(d, "\n  "))
			}
			if calls := be.eng.Calls(); len(calls) != 0 || len(be.eng.builds) != 0 {
				t.Errorf("the dry run ran buildx %q, %d builds", calls, len(be.eng.builds))
			}

			if len(tc.buildWrites) == 0 {
				return
			}
			if err := be.build(t, t.TempDir(), "--platform", "linux/amd64,linux/arm64"); err != nil {
				t.Fatalf("build: %v\n%s", err, be.errOut)
			}
			written := map[string]string{}
			for _, r := range roots {
				for k, v := range snapshotTree(t, r) {
					written[k] = v
				}
			}
			d := strings.Join(diffTrees(after, written), "\n")
			for _, w := range tc.buildWrites {
				w = strings.Replace(w, "XBUILD_CONFIG_DIR", be.env["XBUILD_CONFIG_DIR"], 1)
				if !strings.Contains(d, w) {
					t.Errorf("the build wrote nothing under %s; the snapshots saw:\n%s", w, d)
				}
			}
		})
	}
}

// The docker context of this machine's Docker engine is written through
// the factory's seam by the build, not by the plan or a dry run.
func TestBuildWritesDockerContextAtBuildTime(t *testing.T) {
	be := newBuildEnv(t)
	sock := be.dockerHere(t, t.TempDir())
	ctxs := be.f.DockerContexts.(*recordingContexts)
	if err := be.build(t, t.TempDir(), "--platform", "linux/amd64", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if len(ctxs.ensured) != 0 {
		t.Fatalf("the dry run wrote docker contexts %q", ctxs.ensured)
	}
	if err := be.build(t, t.TempDir(), "--platform", "linux/amd64"); err != nil {
		t.Fatalf("build: %v\n%s", err, be.errOut)
	}
	if got := strings.Join(ctxs.ensured, "|"); got != "xbuild-local unix://"+sock {
		t.Errorf("docker contexts written: %q", got)
	}
	if got := strings.Join(be.eng.Calls(), "|"); got != "create --name xbuild-node-local --node local --driver docker-container --platform linux/amd64 --timeout 2s xbuild-local" {
		t.Errorf("buildx calls: %q", got)
	}
	if want := "WARNING: No build nodes are registered: building on this machine's Docker engine at unix://" + sock + " (linux/amd64 native).\n"; !strings.Contains(be.errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, be.errOut)
	}
	if _, err := os.Stat(filepath.Join(be.env["XBUILD_CONFIG_DIR"], "builders", "xbuild-node-local.json")); err != nil {
		t.Errorf("the build recorded no builder state: %v", err)
	}
}

// A failing lint never opens the node registry, builds the engine or
// contacts a daemon.
func TestBuildLintFailureOpensNothing(t *testing.T) {
	be := newBuildEnv(t)
	be.dockerHere(t, t.TempDir())
	be.f.Linter = func(context.Context, lint.Options) (*lint.Result, error) {
		return &lint.Result{Findings: []lint.Finding{{Rule: "XB001", Severity: lint.SeverityError, File: "Dockerfile", Line: 2, Message: "ENV sets HTTP_PROXY"}}, Notices: []string{}}, nil
	}
	err := be.build(t, t.TempDir())
	if err == nil || !strings.HasPrefix(err.Error(), "lint: ") || !strings.Contains(err.Error(), "nothing was built") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(be.env["XBUILD_CONFIG_DIR"]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the node registry was opened: %v", err)
	}
	if be.engines != 0 || be.dials.Load() != 0 || len(be.f.DockerContexts.(*recordingContexts).ensured) != 0 {
		t.Errorf("engines built %d, dials %d, contexts %q", be.engines, be.dials.Load(), be.f.DockerContexts.(*recordingContexts).ensured)
	}
}

// Builds on registered nodes sync the builder once; later builds run no
// buildx command until something changes, and notice a builder removed by
// hand. --debug times buildx with the factory's clock.
func TestBuildSyncsTheBuilderOnlyWhenItChanged(t *testing.T) {
	be := newBuildEnv(t)
	be.register(t)
	be.f.Debug = true
	createAmd := "create --name xbuild-node-amd1 --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/amd1.sock"
	createArm := "create --name xbuild-node-arm1 --node arm1 --driver remote --platform linux/arm64 --timeout 2s unix:///run/arm1.sock"
	steps := []struct {
		name  string
		do    func()
		calls []string
	}{
		{"first build", func() {}, []string{createAmd, createArm}},
		{"nothing changed", func() {}, nil},
		{"removed by hand", func() { be.eng.DeleteBuilder("xbuild-node-arm1") }, []string{createArm}},
	}
	for _, st := range steps {
		st.do()
		if err := be.build(t, t.TempDir()); err != nil {
			t.Fatalf("%s: %v\n%s", st.name, err, be.errOut)
		}
		got := be.eng.Calls()
		sort.Strings(got) // the platforms' builders are made ready concurrently
		if !reflect.DeepEqual(got, st.calls) {
			t.Errorf("%s: buildx calls\n  %q\nwant\n  %q", st.name, got, st.calls)
		}
		if len(st.calls) > 0 && !strings.Contains(be.errOut.String(), "debug: buildx create: ok in 1s\n") {
			t.Errorf("%s: --debug does not time buildx with the factory's clock:\n%s", st.name, be.errOut)
		}
	}
	if be.engines != len(steps) {
		t.Errorf("%d engines built for %d builds", be.engines, len(steps))
	}
}

// buildx build's flags are parsed under buildx's names into the run
// options.
func TestBuildxFlags(t *testing.T) {
	be := newBuildEnv(t)
	o := parseBuild(t, be.f, "app", "--build-context", "src=../src", "--build-context", "base=docker-image://alpine:3.20", "--network", "none",
		"--add-host", "db:10.0.0.5,cache:10.0.0.6", "--add-host", "q:10.0.0.7", "--no-cache-filter", "deps", "--shm-size", "128m",
		"--ulimit", "nofile=1024:2048", "--check", "--load", "--iidfile", "iid", "--all-or-nothing", "--only", "api,worker")
	want := engine.RunOptions{BuildContexts: []string{"src=../src", "base=docker-image://alpine:3.20"}, Network: "none",
		AddHosts: []string{"db:10.0.0.5", "cache:10.0.0.6", "q:10.0.0.7"}, NoCacheFilter: []string{"deps"}, ShmSize: "128m",
		Ulimits: []string{"nofile=1024:2048"}, Call: "build"}
	if !reflect.DeepEqual(o.run, want) || !o.check || !o.load || o.iidFile != "iid" || !o.allOrNothing || !slices.Equal(o.only, []string{"api", "worker"}) {
		t.Errorf("options: run %+v check %v load %v iid %q all %v only %q", o.run, o.check, o.load, o.iidFile, o.allOrNothing, o.only)
	}
}

// -o type=registry without --push is the verified push path: each
// platform by digest, one index, verified, then tagged with the output's
// names; the dry run shows it and says so.
func TestBuildRegistryOutputIsVerifiedPush(t *testing.T) {
	be := newBuildEnv(t)
	be.register(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := be.build(t, dir, "--no-lint", "--dry-run", "-o", "type=registry,name=r.example/app:1,compression=zstd"); err != nil {
		t.Fatalf("%v\n%s", err, be.errOut)
	}
	for _, want := range []string{"push-by-digest=true", "compression=zstd", "and only then tagged: r.example/app:1"} {
		if !strings.Contains(be.out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, be.out)
		}
	}
	if !strings.Contains(be.errOut.String(), "--output type=registry,name=r.example/app:1,compression=zstd: pushing through xbuild's verified path, as --push does") {
		t.Errorf("no note that -o type=registry means --push:\n%s", be.errOut)
	}
}

// The images list of xbuild.yaml: one plan per image, one after the
// other, each with its own repository and the -t tag appended to it.
func TestBuildImagesListDryRun(t *testing.T) {
	be := newBuildEnv(t)
	be.register(t)
	dir := t.TempDir()
	for _, f := range []string{"api/Dockerfile", "worker/Dockerfile"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "xbuild.yaml")
	yaml := "images:\n  - name: api\n    image: r.example/api\n    context: api\n  - name: worker\n    image: r.example/worker\n    context: worker\n    platforms: [linux/arm64]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	be.f.ConfigFile = cfg
	if err := be.build(t, "--no-lint", "--dry-run", "--push", "-t", "1.0"); err != nil {
		t.Fatalf("%v\n%s", err, be.errOut)
	}
	out := be.out.String()
	api, worker := strings.Index(out, "== image api\n"), strings.Index(out, "== image worker\n")
	if api < 0 || worker < api {
		t.Fatalf("plans:\n%s", out)
	}
	if a := out[api:worker]; !strings.Contains(a, "linux/amd64    -> amd1") || !strings.Contains(a, "and only then tagged: r.example/api:1.0") {
		t.Errorf("api's plan:\n%s", a)
	}
	if w := out[worker:]; strings.Contains(w, "linux/amd64") || !strings.Contains(w, "and only then tagged: r.example/worker:1.0") || !strings.Contains(w, filepath.Join(dir, "worker")) {
		t.Errorf("worker's plan:\n%s", w)
	}
}

// --node pins platforms (PLATFORM=NODE or a bare NODE, repeatable or
// comma-joined); a bad pin is refused naming the flag, before anything runs.
func TestBuildNodeFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // a line of the plan, or of the error
		err  bool
	}{
		{name: "platform=node", args: []string{"--node", "linux/amd64=amd1"}, want: "  linux/amd64    -> amd1, native, pinned (--node)"},
		{name: "bare node", args: []string{"--node", "arm1"}, want: "  linux/arm64    -> arm1, native, pinned (--node)"},
		{name: "comma-joined", args: []string{"--node", "amd1,linux/arm64=arm1"}, want: "  linux/arm64    -> arm1, native, pinned (--node)"},
		{name: "unknown node", args: []string{"--node", "linux/amd64=amd9"}, err: true,
			want: "--node linux/amd64=amd9: no node amd9 among the nodes of this builder that build linux/amd64, linux/arm64 (they are: amd1, arm1); see xbuild nodes ls"},
		{name: "bad platform", args: []string{"--node", "linux/amr64=amd1"}, err: true,
			want: `nodes (from --node): "linux/amr64=amd1": platform "linux/amr64": unknown architecture "amr64"`},
		{name: "node without the platform", args: []string{"--node", "linux/arm64=amd1"}, err: true,
			want: "--node linux/arm64=amd1: node amd1 does not build linux/arm64 (it builds linux/amd64)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBuildEnv(t)
			be.register(t)
			args := append([]string{t.TempDir(), "--platform", "linux/amd64,linux/arm64", "--dry-run"}, tc.args...)
			err := be.build(t, args...)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("dry run: %v\n%s", err, be.errOut)
			}
			if !strings.Contains(be.out.String(), tc.want+"\n") {
				t.Errorf("plan lacks %q:\n%s", tc.want, be.out)
			}
		})
	}
}

// The supply-chain flags reach the configuration keys: --secret, --ssh,
// --label and --annotation entries as given (commas inside them kept),
// --sbom in buildx's forms, --provenance, --reproducible, --sign-key.
func TestBuildSupplyFlags(t *testing.T) {
	be := newBuildEnv(t)
	load := func(args ...string) (*config.Loaded, error) {
		o := parseBuild(t, be.f, args...)
		sbom, err := withSBOMFlag(o.sbom, o.cmd.Flags().Changed("sbom"))
		if err != nil {
			return nil, err
		}
		return be.f.loadConfig(o.cmd.Flags(), buildBindings, sbom)
	}
	lc, err := load("--secret", "id=netrc,src=/h/.netrc", "--secret", "id=npm,env=NPM_TOKEN", "--ssh", "default", "--ssh", "git=/k/a,/k/b",
		"--label", "a=1,2", "--annotation", "index,manifest:k=v", "--provenance", "mode=max", "--sbom=generator=reg/sbom:1",
		"--reproducible", "--sign-key", "cosign.key")
	if err != nil {
		t.Fatal(err)
	}
	c := lc.Config
	got := fmt.Sprintf("secrets=%q ssh=%q labels=%q annotations=%q provenance=%s sbom=%v generator=%s reproducible=%v key=%s",
		c.Secrets, c.SSH, c.Labels, c.Annotations, c.Provenance, c.SBOM, c.SBOMGenerator, c.Reproducible, c.Sign.Key)
	want := `secrets=["id=netrc,src=/h/.netrc" "id=npm,env=NPM_TOKEN"] ssh=["default" "git=/k/a,/k/b"] labels=["a=1,2"] annotations=["index,manifest:k=v"] provenance=max sbom=true generator=reg/sbom:1 reproducible=true key=cosign.key`
	if got != want {
		t.Errorf("config:\n got %s\nwant %s", got, want)
	}
	if lc.Source("secrets") != "--secret" || lc.Source("sbom-generator") != "--sbom" {
		t.Errorf("sources: %s, %s", lc.Source("secrets"), lc.Source("sbom-generator"))
	}
	for args, want := range map[string]bool{"--sbom": true, "--sbom=true": true, "--sbom=false": false} {
		lc, err := load(args)
		if err != nil || lc.SBOM != want || lc.SBOMGenerator != "" {
			t.Errorf("%s: sbom %v generator %q, %v", args, lc.SBOM, lc.SBOMGenerator, err)
		}
	}
	if _, err := load("--sbom=spdx"); err == nil || err.Error() != "--sbom=spdx: use --sbom, --sbom=false or --sbom=generator=IMAGE" {
		t.Errorf("--sbom=spdx: %v", err)
	}
}

package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
	"github.com/xbuild-dev/xbuild/internal/gitinfo"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/nodes"
)

// fakeEngine keeps buildx builders as buildx does (enginetest.FakeBuildx),
// records buildx commands and builds, and answers probes.
type fakeEngine struct {
	enginetest.FakeBuildx
	mu       sync.Mutex
	builds   []engine.BuildSpec
	digest   string
	buildErr error
	probes   map[string][]string // endpoint -> platforms it reports
	// onBuild, when set, runs before a build returns (it may block until
	// the build's context ends, as a build on a lost node does); an error
	// fails the build.
	onBuild func(ctx context.Context, spec engine.BuildSpec) error
	// probed counts the node probes (health checks).
	probed atomic.Int32
	// pushes, when set, is the digest a platform's build pushes (by
	// platform) instead of "sha256:push-ARCH".
	pushes map[string]string
	// echo, when set, is one more line every build prints (a RUN step
	// that prints a secret, say).
	echo string
}

// Build records the spec; a one-platform build (every build but -o
// outputs) pushes "sha256:push-ARCH".
func (e *fakeEngine) Build(ctx context.Context, spec engine.BuildSpec, opts engine.BuildOptions) (*engine.BuildResult, error) {
	e.mu.Lock()
	e.builds = append(e.builds, spec)
	hook, buildErr := e.onBuild, e.buildErr
	e.mu.Unlock()
	if buildErr != nil {
		return nil, buildErr
	}
	lines := []string{fmt.Sprintf("#1 RUN echo %s", spec.BuildArgs["HTTP_PROXY"])}
	if e.echo != "" {
		lines = append(lines, e.echo)
	}
	for _, line := range lines {
		if opts.Display != nil {
			opts.Display.Text(opts.Label, line)
		} else {
			fmt.Fprintln(opts.Out, line)
		}
	}
	if hook != nil {
		if err := hook(ctx, spec); err != nil {
			return nil, err
		}
	}
	for _, v := range spec.Outputs {
		if err := fakeExport(v, spec.Platforms); err != nil {
			return nil, err
		}
	}
	if len(spec.Platforms) == 1 {
		if d, ok := e.pushes[spec.Platforms[0]]; ok {
			return &engine.BuildResult{Digest: d, Metadata: map[string]any{"containerimage.digest": d}}, nil
		}
	}
	if spec.Run.Call != "" && opts.Stdout != nil {
		fmt.Fprintf(opts.Stdout, "Check complete, no warnings found (%s).\n", spec.Run.Call)
	}
	if len(spec.Platforms) == 1 {
		arch := platformArch(spec.Platforms[0])
		return &engine.BuildResult{Digest: "sha256:push-" + arch, Metadata: map[string]any{
			"buildx.build.ref": spec.Builder + "/" + arch + "/ref", "containerimage.digest": "sha256:push-" + arch,
			"buildx.build.provenance": map[string]any{"buildType": "https://mobyproject.org/buildkit@v1"}}}, nil
	}
	return &engine.BuildResult{Digest: e.digest, Metadata: map[string]any{"buildx.build.ref": spec.Builder + "/all/ref", "containerimage.digest": e.digest}}, nil
}

// Reset forgets the buildx commands and the builds seen so far.
func (e *fakeEngine) Reset() {
	e.FakeBuildx.Reset()
	e.mu.Lock()
	e.builds = nil
	e.mu.Unlock()
}

// buildsOn lists the builds' builders and platforms: "xbuild-node-amd1 linux/amd64".
func (e *fakeEngine) buildsOn() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, b := range e.builds {
		out = append(out, b.Builder+" "+strings.Join(b.Platforms, ","))
	}
	sort.Strings(out)
	return out
}

func platformArch(p string) string {
	parts := strings.Split(p, "/")
	return parts[1]
}

func (e *fakeEngine) Bake(ctx context.Context, builder string, specs map[string]engine.BuildSpec, _ []string, _ engine.BuildOptions) (map[string]*engine.BuildResult, error) {
	e.mu.Lock()
	out := map[string]*engine.BuildResult{}
	for name, s := range specs {
		e.builds = append(e.builds, s)
		out[name] = &engine.BuildResult{Digest: "sha256:" + name}
	}
	e.mu.Unlock()
	return out, e.FakeBuildx.Buildx(ctx, engine.Invocation{Args: []string{"bake", "--builder", builder}})
}

func (e *fakeEngine) ImagetoolsCreate(ctx context.Context, tags, sources []string) (string, error) {
	return e.digest, e.FakeBuildx.Buildx(ctx, engine.Invocation{Args: engine.ImagetoolsCreateArgs(tags, sources, "")})
}

func (e *fakeEngine) Probe(_ context.Context, t engine.ProbeTarget) (*engine.ProbeResult, error) {
	e.probed.Add(1)
	return &engine.ProbeResult{BuildKitVersion: "v0.34.2", Platforms: e.probes[t.Endpoint]}, nil
}

func (e *fakeEngine) Describe() string { return "fake engine" }

// fakeContexts records the docker contexts written.
type fakeContexts struct {
	mu      sync.Mutex
	ensured []string
}

func (c *fakeContexts) Ensure(dc engine.DockerContext) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensured = append(c.ensured, dc.Name+" "+dc.Host)
	return nil
}

func (c *fakeContexts) Remove(string) error { return errors.New("the build removes no docker context") }

func (c *fakeContexts) Snapshot(string) (engine.DockerContextSnapshot, error) {
	return engine.DockerContextSnapshot{}, errors.New("the build snapshots no docker context")
}

func (c *fakeContexts) Restore(engine.DockerContextSnapshot) error {
	return errors.New("the build restores no docker context")
}

// fakeDialer answers unix sockets whose path is not in dead; it counts dials.
type fakeDialer struct {
	mu    sync.Mutex
	dead  map[string]bool
	dials int
}

// setDead makes a socket refuse (or answer again).
func (d *fakeDialer) setDead(path string, dead bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dead {
		d.dead[path] = true
	} else {
		delete(d.dead, path)
	}
}

func (d *fakeDialer) Dial(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if d.dead[addr] {
		return nil, &net.OpError{Op: "dial", Net: "unix", Err: syscall.ECONNREFUSED}
	}
	a, b := net.Pipe()
	go func() { _ = b.Close() }()
	return a, nil
}

// fakeRegistry serves one pushed index from memory and records what is
// written to it.
type fakeRegistry struct {
	mu      sync.Mutex
	index   *registry.Index
	images  map[string]*registry.Image // digest -> image
	files   map[string][]byte          // digest + path -> header
	blobs   map[string][]byte
	indexes map[string]*registry.Index // other tags
	// merged are the sources of each PushIndex call; tags maps each tag
	// written to its digest.
	merged [][]string
	tags   map[string]string
	// annotations are those of the last PushIndexAnnotated.
	annotations map[string]string
	// sigs are the signatures written, by digest; sigErr fails writing
	// them; events lists "sign DIGEST" and "tag REF" in order.
	sigs   map[string][]registry.SignatureLayer
	sigErr error
	events []string
	// present are the repo@digest references Exists finds (besides what
	// PushIndex merged).
	present map[string]bool
	// tagErr fails Tag.
	tagErr error
	// walkErr makes WalkFiles of a digest fail
	walkErr map[string]error
}

func (r *fakeRegistry) Index(_ context.Context, ref string) (*registry.Index, error) {
	if idx, ok := r.indexes[ref]; ok {
		return idx, nil
	}
	return r.index, nil
}

func (r *fakeRegistry) PushIndex(_ context.Context, repo string, sources []string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merged = append(r.merged, sources)
	if r.present == nil {
		r.present = map[string]bool{}
	}
	for _, src := range sources {
		r.present[src] = true
	}
	return r.index.Digest, nil
}

func (r *fakeRegistry) PushIndexAnnotated(ctx context.Context, repo string, sources []string, annotations map[string]string) (string, error) {
	r.mu.Lock()
	r.annotations = annotations
	r.mu.Unlock()
	return r.PushIndex(ctx, repo, sources)
}

func (r *fakeRegistry) Signatures(_ context.Context, _, digest string) ([]registry.SignatureLayer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sigs[digest], nil
}

func (r *fakeRegistry) WriteSignatures(_ context.Context, repo, digest string, sigs []registry.SignatureLayer) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sigErr != nil {
		return "", r.sigErr
	}
	if r.sigs == nil {
		r.sigs = map[string][]registry.SignatureLayer{}
	}
	r.sigs[digest] = append(r.sigs[digest], sigs...)
	r.events = append(r.events, "sign "+digest)
	return repo + ":" + registry.SignatureTag(digest), nil
}

func (r *fakeRegistry) Tag(_ context.Context, repo, digest string, tags []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tagErr != nil {
		return r.tagErr
	}
	if r.tags == nil {
		r.tags = map[string]string{}
	}
	for _, t := range tags {
		r.tags[t] = digest
		r.events = append(r.events, "tag "+t)
	}
	return nil
}

func (r *fakeRegistry) Exists(_ context.Context, ref string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.present[ref], nil
}
func (r *fakeRegistry) Image(_ context.Context, _, digest string) (*registry.Image, error) {
	if img, ok := r.images[digest]; ok {
		return img, nil
	}
	return nil, errors.New("no such image " + digest)
}
func (r *fakeRegistry) ReadFile(_ context.Context, _, digest, p string, _ int64) ([]byte, error) {
	if b, ok := r.files[digest+p]; ok {
		return b, nil
	}
	return nil, registry.ErrNotFound
}
func (r *fakeRegistry) Blob(_ context.Context, _, digest string, _ int64) ([]byte, error) {
	return r.blobs[digest], nil
}

// WalkFiles serves an image's filesystem from files: every entry under
// the digest is a regular file, in path order.
func (r *fakeRegistry) WalkFiles(_ context.Context, _, digest string, opts registry.WalkOptions, fn func(registry.File) error) (*registry.WalkSummary, error) {
	if err := r.walkErr[digest]; err != nil {
		return &registry.WalkSummary{Bytes: 4096}, err
	}
	var paths []string
	for k := range r.files {
		if p, ok := strings.CutPrefix(k, digest); ok && strings.HasPrefix(p, "/") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	sum := &registry.WalkSummary{Layers: 1}
	for _, p := range paths {
		b := r.files[digest+p]
		h := sha256.Sum256(b)
		sum.Files++
		sum.Bytes += int64(len(b))
		if err := fn(registry.File{Path: p, Mode: 0o755, Size: int64(len(b)), Head: b[:min(len(b), opts.HeadSize)], Digest: "sha256:" + hex.EncodeToString(h[:])}); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5] = 2, 1
	h[18], h[19] = byte(machine), byte(machine>>8)
	return h
}

// indexDigest is the merged index the fake registry holds.
var indexDigest = "sha256:" + strings.Repeat("ab", 32)

// pushedRegistry returns a registry holding a correct two-platform push.
func pushedRegistry(compression string) *fakeRegistry {
	mt := layerMediaType(compression)
	img := func(arch string, size int64) *registry.Image {
		return &registry.Image{Digest: "sha256:" + arch, OS: "linux", Architecture: arch, Entrypoint: []string{"/app"},
			Env: []string{"PATH=/bin"}, History: []string{"COPY /out/app /app"}, ConfigSize: 500,
			Layers: []registry.Layer{{Digest: "sha256:l-" + arch, MediaType: mt, Size: size}}}
	}
	return &fakeRegistry{
		index: &registry.Index{Digest: indexDigest, Manifests: []registry.Manifest{
			{Digest: "sha256:amd64", Platform: "linux/amd64"},
			{Digest: "sha256:arm64", Platform: "linux/arm64"},
			{Digest: "sha256:att", Platform: "unknown/unknown", Attestation: true, AttestsTo: "sha256:amd64"},
		}},
		images: map[string]*registry.Image{
			"sha256:amd64": img("amd64", 1_500_000), "sha256:arm64": img("arm64", 1_400_000),
			"sha256:att": {Digest: "sha256:att", Layers: []registry.Layer{{Digest: "sha256:prov"}}},
		},
		files: map[string][]byte{"sha256:amd64/app": elfHeader(62), "sha256:arm64/app": elfHeader(183)},
		blobs: map[string][]byte{"sha256:prov": []byte(`{"predicate":{"buildDefinition":{}}}`)},
	}
}

type harness struct {
	state  *State
	eng    *fakeEngine
	dialer *fakeDialer
	out    *lockedBuffer
	err    *lockedBuffer
	linted int
}

// newHarness sets up a State with three local nodes (amd1, arm1, emulated
// qemu) registered in a node registry of its own, all reachable unless
// listed in dead.
func newHarness(t *testing.T, cfg config.Config, dead ...string) *harness {
	t.Helper()
	h := &harness{
		eng: &fakeEngine{digest: indexDigest, probes: map[string][]string{
			"unix:///run/amd1.sock": {"linux/amd64"}, "unix:///run/arm1.sock": {"linux/arm64"},
			"unix:///run/qemu.sock": {"linux/amd64", "linux/arm64"},
		}},
		dialer: &fakeDialer{dead: map[string]bool{}},
		out:    &lockedBuffer{}, err: &lockedBuffer{},
	}
	for _, d := range dead {
		h.dialer.dead["/run/"+d+".sock"] = true
	}
	// a build context of its own (the resume state hashes it)
	if cfg.Context == "." && cfg.Dockerfile == "Dockerfile" {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY app /app\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Context, cfg.Dockerfile = dir, filepath.Join(dir, "Dockerfile")
	}
	store, err := nodes.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []nodes.Node{
		{Name: "amd1", Endpoint: "unix:///run/amd1.sock", Platforms: []string{"linux/amd64"}},
		{Name: "arm1", Endpoint: "unix:///run/arm1.sock", Platforms: []string{"linux/arm64"}},
		{Name: "qemu", Endpoint: "unix:///run/qemu.sock", Platforms: []string{"linux/amd64", "linux/arm64"}, Emulated: true},
	} {
		n.Kind, n.Builder = nodes.KindLocal, "xbuild"
		if err := store.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	list, errs := store.List()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	h.state = &State{
		StateDir:      store.Dir(),
		WatchInterval: 10 * time.Millisecond,
		Config:        cfg,
		Getenv:        func(k string) string { return map[string]string{"HTTP_PROXY": "http://bob:pw1234@proxy:3128"}[k] },
		Now:           time.Now,
		Out:           h.out,
		Err:           h.err,
		Log:           &TextLogger{W: h.err},
		Secrets:       redact.New(),
		Git:           func(context.Context, string) (*gitinfo.Info, error) { return nil, gitinfo.ErrNotGit },
		Engine:        h.eng,
		Nodes:         list,
		Store:         store,
		Checker:       &nodes.Checker{Prober: h.eng, Dial: h.dialer.Dial, Timeout: time.Second},
		Lint: func(context.Context, lint.Options) (*lint.Result, error) {
			h.linted++
			return &lint.Result{Findings: []lint.Finding{}, Notices: []string{}}, nil
		},
	}
	return h
}

// noRegisteredNodes gives the harness an empty node registry.
func (h *harness) noRegisteredNodes(t *testing.T) {
	t.Helper()
	store, err := nodes.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.state.Store, h.state.Nodes = store, nil
}

// rerun resets what a run leaves in State and output, keeping the
// engine's builders, the registry and the dialer.
func (h *harness) rerun(t *testing.T) error {
	t.Helper()
	s := h.state
	*s = State{Config: s.Config, Options: s.Options, Getenv: s.Getenv, Now: s.Now, Out: s.Out, Err: s.Err, Log: s.Log, Secrets: s.Secrets,
		Lint: s.Lint, Open: s.Open, StateDir: s.StateDir, BinfmtDir: s.BinfmtDir, LocalNodes: s.LocalNodes, DockerContexts: s.DockerContexts,
		WatchInterval: s.WatchInterval, Engine: s.Engine, Nodes: s.Nodes, Store: s.Store, Checker: s.Checker, Registry: s.Registry, Git: s.Git}
	h.out.Reset()
	h.err.Reset()
	h.eng.Reset()
	return Run(context.Background(), s, Steps())
}

func pushConfig() config.Config {
	c := config.Defaults()
	c.Image, c.Tags, c.Push = "registry.example.com/team/app", []string{"1.0"}, true
	return c
}

// lockedBuffer is a bytes.Buffer the platforms' goroutines may share, as
// they share stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// fakeExport writes what BuildKit would for an OCI layout directory (one
// manifest of the platform) or a local directory (/app holding the
// platform's name), so xbuild's merge has something to merge.
func fakeExport(v string, platforms []string) error {
	o, err := ParseOutput(v)
	if err != nil {
		return err
	}
	dest := o.Get("dest")
	switch {
	case o.Type == "local" && dest != "":
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dest, "app"), []byte(strings.Join(platforms, ",")), 0o644)
	case o.Type == "oci" && o.Get("tar") == "false":
		body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","platform":"` + strings.Join(platforms, ",") + `"}`)
		sum := sha256.Sum256(body)
		hexSum := hex.EncodeToString(sum[:])
		if err := os.MkdirAll(filepath.Join(dest, "blobs", "sha256"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dest, "blobs", "sha256", hexSum), body, 0o644); err != nil {
			return err
		}
		index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d}]}`, hexSum, len(body))
		return os.WriteFile(filepath.Join(dest, "index.json"), []byte(index), 0o644)
	}
	return nil
}

// fakeDocker is a Docker engine: it keeps multi-platform images or not,
// and records the archives loaded into it.
type fakeDocker struct {
	containerd bool
	mu         sync.Mutex
	loaded     [][]byte
}

func (d *fakeDocker) Info(context.Context) (*engine.DockerInfo, error) {
	return &engine.DockerInfo{Host: "unix:///var/run/docker.sock", Version: "28.0.0", ContainerdStore: d.containerd}, nil
}

func (d *fakeDocker) Load(_ context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loaded = append(d.loaded, b)
	return nil
}

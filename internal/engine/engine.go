// Package engine is the only package that imports github.com/docker/buildx,
// github.com/docker/cli and the BuildKit client. Everything above it talks to
// the Engine through argument lists built by the pure functions in args.go
// (buildx's command-line flags are a stable contract; its Go API is not) and
// through the small typed calls below.
package engine

import (
	"context"
	"crypto/tls"
	"io"
)

// Runner runs one buildx command from an argument list, without the leading
// "buildx": {"create", "--name", "x", ...}.
type Runner interface {
	// Run executes inv and returns when the command ends or ctx is done.
	Run(ctx context.Context, inv Invocation) error
	// Name describes the runner for messages: "embedded buildx v0.38.2".
	Name() string
}

// Invocation is one buildx command line and where its output goes.
type Invocation struct {
	Args []string
	// Stdout receives buildx's standard output; nil discards it.
	Stdout io.Writer
	// Stderr receives buildx's diagnostics and progress; nil discards it.
	Stderr io.Writer
}

// Engine is what the rest of xbuild needs from buildx and BuildKit.
type Engine interface {
	// Buildx runs one buildx command (see Runner).
	Buildx(ctx context.Context, inv Invocation) error
	// Build runs one buildx build, showing progress and enforcing the stall
	// watchdog (see RunBuild).
	Build(ctx context.Context, spec BuildSpec, opts BuildOptions) (*BuildResult, error)
	// Bake runs several builds as one `buildx bake` (see RunBake).
	Bake(ctx context.Context, builder string, specs map[string]BuildSpec, allow []string, opts BuildOptions) (map[string]*BuildResult, error)
	// ImagetoolsCreate merges pushed images into one tagged index and
	// returns its digest.
	ImagetoolsCreate(ctx context.Context, tags, sources []string) (string, error)
	// Probe asks a node for its BuildKit version and worker platforms.
	Probe(ctx context.Context, t ProbeTarget) (*ProbeResult, error)
	// ReadBuilder reads a builder from buildx's store without contacting
	// its nodes or writing anything; nil when there is no such builder
	// (see ReadBuilder).
	ReadBuilder(name string) (*StoredBuilder, error)
	// Describe names the engine for messages and reports.
	Describe() string
}

// ProbeTarget is a node as seen by a health check.
type ProbeTarget struct {
	// Kind is buildkit, docker, kubernetes or local.
	Kind string
	// Endpoint is tcp://host:port, unix:///path, or a docker host URL.
	Endpoint string
	// TLS is the client side of mutual TLS, built from material the caller
	// has already read and checked (CA as the only root, client
	// certificate, server name to verify); nil means no TLS. The probe
	// clones it and reads no file.
	TLS *tls.Config
}

// ProbeResult is what a healthy node reports.
type ProbeResult struct {
	// BuildKitVersion is the daemon's version (v0.34.2); for docker nodes,
	// the engine's version.
	BuildKitVersion string
	// Platforms are the worker platforms the daemon reports as it writes
	// them (nodes normalizes them), first the
	// native ones, then those it emulates.
	Platforms []string
	// Running is how many builds the daemon is running now: BuildKit's
	// build history, active records only (one per buildx build). nil when
	// the daemon cannot say: a docker engine (its BuildKit API is not the
	// BuildKit that docker-container builders run in), or a BuildKit whose
	// build history does not answer.
	Running *int
}

// New returns the Engine for the configured engine name: "embedded" runs
// buildx in process, "docker-cli" runs `docker buildx` from PATH.
func New(name string) (Engine, error) {
	switch name {
	case "", "embedded":
		e := &engine{runner: NewEmbedded()}
		e.builds = e.runner
		// builds run in a child process of this binary: concurrently, and
		// killable when a node is lost (see Exec)
		if self, err := NewSelf(); err == nil {
			e.builds = self
		}
		return e, nil
	case "docker-cli":
		d, err := NewDockerCLI("")
		if err != nil {
			return nil, err
		}
		return &engine{runner: d, builds: d}, nil
	}
	return nil, &UnknownEngineError{Name: name}
}

// UnknownEngineError is returned for an engine name New does not know.
type UnknownEngineError struct{ Name string }

func (e *UnknownEngineError) Error() string {
	return "engine " + e.Name + " is not known: use embedded or docker-cli"
}

type engine struct {
	// runner runs short commands (create, rm, ls, imagetools); builds runs
	// builds and bakes.
	runner Runner
	builds Runner
}

func (e *engine) Buildx(ctx context.Context, inv Invocation) error { return e.runner.Run(ctx, inv) }
func (e *engine) Describe() string                                 { return e.runner.Name() }

func (e *engine) ReadBuilder(name string) (*StoredBuilder, error) { return ReadBuilder(name) }

func (e *engine) Build(ctx context.Context, spec BuildSpec, opts BuildOptions) (*BuildResult, error) {
	return RunBuild(ctx, e.builds, spec, opts)
}

func (e *engine) Bake(ctx context.Context, builder string, specs map[string]BuildSpec, allow []string, opts BuildOptions) (map[string]*BuildResult, error) {
	return RunBake(ctx, e.builds, builder, specs, allow, opts)
}

func (e *engine) ImagetoolsCreate(ctx context.Context, tags, sources []string) (string, error) {
	return ImagetoolsCreate(ctx, e.runner, tags, sources)
}

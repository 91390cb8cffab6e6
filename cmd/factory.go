package cmd

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/nodes"
	"github.com/xbuild-dev/xbuild/pipeline"
)

// Factory holds the dependencies commands share. Production code builds it
// with NewFactory; tests build one with fakes, so no command test needs a
// home directory or a daemon.
type Factory struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	Now    func() time.Time

	// ConfigFile is the --config value; empty means ./xbuild.yaml if present.
	ConfigFile string
	// Debug is the --debug value.
	Debug bool

	// BinfmtDir is where binfmt_misc is mounted ("" means the real
	// /proc/sys/fs/binfmt_misc); tests point it at a fake.
	BinfmtDir string

	// Linter runs the lint gate; nil means lint.Run. Tests inject fakes.
	Linter pipeline.Linter
	// Registry reads pushed images for verify; nil means the real registry.
	Registry pipeline.Registry

	// NewEngine builds the buildx engine for a config's engine name;
	// tests replace it with a fake.
	NewEngine func(name string) (engine.Engine, error)

	// DockerContexts keeps the docker contexts of docker nodes; tests
	// inject a fake so nothing is written to a real docker config.
	DockerContexts nodes.DockerContexts

	// Dial opens the health checks' connections to nodes; nil means a
	// net.Dialer. Tests answer in memory.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// FileExists tells whether a local daemon's socket exists; nil means
	// os.Stat (pipeline.FileExists).
	FileExists func(path string) bool
	// Getwd is the directory relative paths in flags are taken from; nil
	// means os.Getwd.
	Getwd func() (string, error)
}

// NewFactory returns the production Factory.
func NewFactory(io *iostreams.IOStreams, getenv func(string) string) *Factory {
	return &Factory{IO: io, Getenv: getenv, Now: time.Now, NewEngine: engine.New, BinfmtDir: getenv("XBUILD_BINFMT_DIR"),
		DockerContexts: engine.DockerContextStore{}}
}

// NodeStore opens the per-user node registry.
func (f *Factory) NodeStore() (*nodes.Store, error) {
	dir, err := f.StateDir()
	if err != nil {
		return nil, err
	}
	st, err := nodes.Open(dir)
	if err != nil {
		return nil, err
	}
	for _, w := range st.Warnings() {
		f.IO.Warnf("%s", w)
	}
	return st, nil
}

// Checker returns a health checker probing through e, bounded per node.
func (f *Factory) Checker(e engine.Engine, timeout time.Duration) *nodes.Checker {
	return &nodes.Checker{Prober: e, Dial: f.Dial, Timeout: timeout, Now: f.Now}
}

// Registrar returns the node registrar: the per-user registry, the engine
// for engineName (buildx and the probe), this factory's docker contexts,
// dialer, binfmt_misc and clock, warnings to the error stream.
func (f *Factory) Registrar(engineName string) (*nodes.Registrar, error) {
	st, err := f.NodeStore()
	if err != nil {
		return nil, err
	}
	eng, err := f.NewEngine(engineName)
	if err != nil {
		return nil, err
	}
	eng = f.traced(eng, nil)
	return &nodes.Registrar{
		Store: st, Buildx: eng, Prober: eng, Dial: f.Dial, Contexts: f.DockerContexts,
		BinfmtDir: f.BinfmtDir, Now: f.Now, Warn: func(msg string) { f.IO.Warnf("%s", msg) },
	}, nil
}

// WorkDir is the directory relative paths in flags are taken from.
func (f *Factory) WorkDir() (string, error) {
	if f.Getwd != nil {
		return f.Getwd()
	}
	return os.Getwd()
}

// fileExists is f.FileExists, or os.Stat.
func (f *Factory) fileExists(path string) bool {
	if f.FileExists != nil {
		return f.FileExists(path)
	}
	return pipeline.FileExists(path)
}

// StateDir is the per-user directory for the node registry.
func (f *Factory) StateDir() (string, error) {
	return config.StateDir(f.Getenv)
}

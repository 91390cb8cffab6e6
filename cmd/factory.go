package cmd

import (
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
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

	// NewEngine builds the buildx engine for a config's engine name;
	// tests replace it with a fake.
	NewEngine func(name string) (engine.Engine, error)
}

// NewFactory returns the production Factory.
func NewFactory(io *iostreams.IOStreams, getenv func(string) string) *Factory {
	return &Factory{IO: io, Getenv: getenv, Now: time.Now, NewEngine: engine.New}
}

// StateDir is the per-user directory for the node registry.
func (f *Factory) StateDir() (string, error) {
	return config.StateDir(f.Getenv)
}

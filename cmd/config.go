package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// flagBinding ties a config key to the command-line flag that overrides it.
type flagBinding struct {
	Key  string
	Flag string
}

// loadOption adds what a command applies on top of its bound flags.
type loadOption func(*config.Sources)

// withContextArg passes build's and lint's positional [CONTEXT].
func withContextArg(args []string) loadOption {
	return func(s *config.Sources) {
		if len(args) > 0 {
			s.ContextArg = &args[0]
		}
	}
}

// withBuildArgs passes the --build-arg values.
func withBuildArgs(values []string) loadOption {
	return func(s *config.Sources) { s.BuildArgs = values }
}

// withNoLint passes --no-lint.
func withNoLint(noLint bool) loadOption {
	return func(s *config.Sources) { s.NoLint = noLint }
}

// loadConfig loads the configuration from the flags the user set, the
// factory's environment and --config (see config.Load). A bad --build-arg
// is a usage error.
func (f *Factory) loadConfig(flags *pflag.FlagSet, bindings []flagBinding, opts ...loadOption) (*config.Loaded, error) {
	src, err := f.configSources(flags, bindings, opts...)
	if err != nil {
		return nil, err
	}
	lc, err := config.Load(src)
	var fe *config.FlagError
	if errors.As(err, &fe) {
		return nil, &UsageError{Err: err}
	}
	return lc, err
}

// configSources maps the flags of bindings that the user set, and opts, to
// config.Sources.
func (f *Factory) configSources(flags *pflag.FlagSet, bindings []flagBinding, opts ...loadOption) (config.Sources, error) {
	src := config.Sources{ConfigFile: f.ConfigFile, Getenv: f.Getenv}
	for _, b := range bindings {
		fl := flags.Lookup(b.Flag)
		if fl == nil {
			return config.Sources{}, fmt.Errorf("internal error: no flag --%s for key %s", b.Flag, b.Key)
		}
		if fl.Changed {
			src.Flags = append(src.Flags, config.Flag{Key: b.Key, Name: b.Flag, Values: flagValues(fl)})
		}
	}
	for _, o := range opts {
		o(&src)
	}
	return src, nil
}

// flagValues returns a flag's value as given: a repeatable flag's values in
// order, else its one value.
func flagValues(fl *pflag.Flag) []string {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return []string{fl.Value.String()}
}

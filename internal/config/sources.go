package config

// Sources is everything a command's configuration is made of besides the
// built-in defaults: the config file to read, the environment, the flags the
// user set and what build and lint apply on top of them. It holds no
// flag-library type, so Load is tested without a command tree.
type Sources struct {
	// ConfigFile is the --config value: it must exist. "" means
	// ./xbuild.yaml when it exists, else no file.
	ConfigFile string
	// Getenv reads the XBUILD_* variables and the value of a bare
	// --build-arg NAME; nil means an empty environment.
	Getenv func(string) string
	// Flags are the flags the user set, each with the key it overrides.
	// Flags left at their defaults must not be listed: they would hide the
	// environment and the file.
	Flags []Flag
	// ContextArg is the positional CONTEXT of build and lint; nil when none
	// was given. It becomes the context key, and CONTEXT/Dockerfile becomes
	// the dockerfile key unless a flag, variable or the file set one.
	ContextArg *string
	// BuildArgs are the --build-arg values, NAME=value or a bare NAME that
	// takes its value from Getenv, layered entry by entry over the
	// build-args key (docker build's rule).
	BuildArgs []string
	// NoLint is --no-lint: the lint step is off whatever the other layers say.
	NoLint bool
}

// Flag is one flag the user set and the configuration key it overrides.
type Flag struct {
	// Key is the configuration key, e.g. platforms or lint.hadolint.
	Key string
	// Name is the flag's name without dashes, e.g. platform; sources and
	// errors name the flag as --Name.
	Name string
	// Values is what the user gave: a repeatable flag's values in order, a
	// single-valued flag's one value. Comma-joined entries of list keys are
	// split by Load.
	Values []string
}

// FlagError is a bad command-line value Load refuses outright (a --build-arg
// naming a platform argument, say); commands report it as a usage mistake.
type FlagError struct {
	// Flag is the flag's name without dashes.
	Flag string
	Err  error
}

// Error renders the error as "--flag message".
func (e *FlagError) Error() string { return "--" + e.Flag + " " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FlagError) Unwrap() error { return e.Err }

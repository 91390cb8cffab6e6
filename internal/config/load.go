package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// Loaded is a merged configuration and where each value came from.
type Loaded struct {
	Config
	// File is the config file used, "" when none.
	File string
	// sources maps a key to the flag, variable or file that set it; a key
	// missing here has its default.
	sources map[string]string
	// flagBuildArgs are the --build-arg values, which win over an image
	// entry's build-args too.
	flagBuildArgs map[string]string
}

// Source names where key's value came from, for messages: the flag
// ("--platform"), the variable ("XBUILD_COMPRESSION"), the config file's
// path, "the CONTEXT argument", or "default".
func (l *Loaded) Source(key string) string {
	if s, ok := l.sources[key]; ok {
		return s
	}
	return "default"
}

// Validate checks the merged config and names each bad value's source.
// With keys, only problems with those keys count: `nodes ls` must not fail
// over a project setting it does not use.
func (l *Loaded) Validate(keys ...string) error {
	var errs []error
	for _, p := range l.Problems() {
		if len(keys) > 0 && !slices.Contains(keys, p.Key) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s (from %s): %s", p.Key, l.Source(p.Key), p.Message))
	}
	return errors.Join(errs...)
}

// Load merges flags > XBUILD_* environment > config file > defaults, then
// applies the CONTEXT argument, --no-lint and --build-arg. Besides src it
// reads only the config file (once) and, without --config, looks for
// ./xbuild.yaml: no process environment, no globals. An explicit config
// file must exist; the default ./xbuild.yaml is optional. Unknown keys and
// ill-shaped values in the file are errors naming the file, line and key;
// an ill-shaped variable is an error naming it; a bad --build-arg is a
// *FlagError. Invalid values are left for Validate, which names where each
// came from.
func Load(src Sources) (*Loaded, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	v := viper.New()
	for k, d := range DefaultMap() {
		v.SetDefault(k, d)
	}

	path, err := FindFile(src.ConfigFile)
	if err != nil {
		return nil, err
	}
	// the file is read once: checked, layered under flags and environment,
	// and searched for build-args as written
	var data []byte
	if path != "" {
		if data, err = ReadFile(path); err != nil {
			return nil, err
		}
		if err := CheckBytes(path, data); err != nil {
			return nil, err
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}

	// each variable's shape is checked on its own, to name the variable
	if err := checkEnvShapes(getenv); err != nil {
		return nil, err
	}
	for _, k := range Keys() {
		if val := getenv(EnvName(k)); val != "" && k != imagesKey {
			v.Set(k, val)
		}
	}

	types := keyTypes()
	flagFor := map[string]string{}
	for _, fl := range src.Flags {
		t, ok := types[fl.Key]
		if !ok {
			return nil, fmt.Errorf("internal error: flag --%s is bound to unknown key %q", fl.Name, fl.Key)
		}
		flagFor[fl.Key] = fl.Name
		if t.Kind() == reflect.Slice {
			v.Set(fl.Key, slices.Clone(fl.Values))
		} else {
			v.Set(fl.Key, strings.Join(fl.Values, ","))
		}
	}

	var cfg Config
	if err := v.Unmarshal(&cfg, viper.DecodeHook(decodeHook())); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	splitLists(&cfg)
	cfg.Provenance = normalizeProvenance(cfg.Provenance)
	if cfg.BuildArgs, err = buildArgsAsWritten(path, data, getenv); err != nil {
		return nil, err
	}
	if cfg.Images, err = imagesAsWritten(path, data); err != nil {
		return nil, err
	}

	l := &Loaded{Config: cfg, File: path, sources: map[string]string{}}
	for _, k := range Keys() {
		if name, ok := flagFor[k]; ok {
			l.sources[k] = "--" + name
		} else if getenv(EnvName(k)) != "" {
			l.sources[k] = EnvName(k)
		} else if path != "" && v.InConfig(k) {
			l.sources[k] = path
		}
	}
	l.joinSplitSpecs()
	l.resolveFilePaths()
	l.applyContextArg(src.ContextArg)
	l.applyPushByDigest()
	if src.NoLint {
		l.Lint.Enabled = false
		l.sources["lint.enabled"] = "--no-lint"
	}
	if err := l.mergeBuildArgs(src.BuildArgs, getenv); err != nil {
		return nil, err
	}
	return l, nil
}

// FindFile resolves the config file: explicit (the --config value) must be
// an existing file; without it, ./xbuild.yaml when it exists, else "" (no
// file, which is fine).
func FindFile(explicit string) (string, error) {
	if explicit != "" {
		st, err := os.Stat(explicit)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config file %s does not exist (given with --config); create it with `xbuild init` or fix the path", explicit)
		}
		if err != nil {
			return "", err
		}
		if st.IsDir() {
			return "", fmt.Errorf("config file %s is a directory; pass the path of an xbuild.yaml", explicit)
		}
		return explicit, nil
	}
	if _, err := os.Stat(FileName); err == nil {
		return FileName, nil
	}
	return "", nil
}

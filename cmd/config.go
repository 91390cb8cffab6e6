package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/platform"
)

// flagBinding ties a config key to the command-line flag that overrides it.
type flagBinding struct {
	Key  string
	Flag string
}

// loadedConfig is the merged configuration and where it came from.
type loadedConfig struct {
	config.Config
	// File is the config file used, "" when none.
	File string
	// source names where a key's value came from, for error messages.
	source func(key string) string
}

// loadConfig merges flags > XBUILD_* environment > config file > defaults
// with one local viper instance. An explicit --config must exist; the
// default ./xbuild.yaml is optional. Unknown keys and ill-shaped values in
// the file are errors naming the file, line and key; invalid values are
// errors naming the flag, variable or file they came from.
func (f *Factory) loadConfig(flags *pflag.FlagSet, bindings []flagBinding) (*loadedConfig, error) {
	v := viper.New()
	for k, d := range config.DefaultMap() {
		v.SetDefault(k, d)
	}

	path, err := f.configPath()
	if err != nil {
		return nil, err
	}
	// the file is read once: checked, layered under flags and environment,
	// and searched for build-args as written
	var data []byte
	if path != "" {
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		if err := config.CheckBytes(path, data); err != nil {
			return nil, err
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}

	// Environment: read through f.Getenv (not viper.AutomaticEnv) so tests
	// can inject it, and check each value's shape here to name the variable.
	for _, k := range config.Keys() {
		if val := f.Getenv(config.EnvName(k)); val != "" {
			v.Set(k, val)
		}
	}
	if err := checkEnvShapes(f.Getenv); err != nil {
		return nil, err
	}

	flagFor := map[string]string{}
	for _, b := range bindings {
		fl := flags.Lookup(b.Flag)
		if fl == nil {
			return nil, fmt.Errorf("internal error: no flag --%s for key %s", b.Flag, b.Key)
		}
		flagFor[b.Key] = b.Flag
		if fl.Changed {
			v.Set(b.Key, flagValue(fl))
		}
	}

	var cfg config.Config
	if err := v.Unmarshal(&cfg, viper.DecodeHook(decodeHook())); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	splitLists(&cfg)
	// viper lower-cases map keys; build argument names are case-sensitive
	// (ARG VERSION is not ARG version), so read them again as written
	if cfg.BuildArgs, err = buildArgsAsWritten(path, data, f.Getenv); err != nil {
		return nil, err
	}

	lc := &loadedConfig{Config: cfg, File: path}
	defer lc.resolveFilePaths()
	lc.source = func(key string) string {
		if fl, ok := flagFor[key]; ok && flags.Lookup(fl).Changed {
			return "--" + fl
		}
		if f.Getenv(config.EnvName(key)) != "" {
			return config.EnvName(key)
		}
		if path != "" && v.InConfig(key) {
			return path
		}
		return "default"
	}
	return lc, nil
}

// resolveFilePaths makes paths written in the config file relative to the
// file's directory, as compose files do, so `xbuild build --config
// services/api/xbuild.yaml` works from anywhere. Paths from flags and the
// environment stay relative to the working directory.
func (lc *loadedConfig) resolveFilePaths() {
	if lc.File == "" {
		return
	}
	dir := filepath.Dir(lc.File)
	if dir == "." {
		return
	}
	for key, p := range map[string]*string{"dockerfile": &lc.Dockerfile, "context": &lc.Context, "metadata-file": &lc.MetadataFile} {
		if *p != "" && !filepath.IsAbs(*p) && lc.source(key) == lc.File {
			*p = filepath.Join(dir, *p)
		}
	}
	if h := lc.Lint.Hadolint; strings.Contains(h, "/") && !filepath.IsAbs(h) && lc.source("lint.hadolint") == lc.File {
		lc.Lint.Hadolint = filepath.Join(dir, h)
	}
}

// validate checks the merged config and names each bad value's origin.
// With keys, only problems with those keys count: `nodes ls` must not fail
// over a project setting it does not use.
func (lc *loadedConfig) validate(keys ...string) error {
	var errs []error
	for _, p := range lc.Problems() {
		if len(keys) > 0 && !slices.Contains(keys, p.Key) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s (from %s): %s", p.Key, lc.source(p.Key), p.Message))
	}
	return errors.Join(errs...)
}

// buildArgsAsWritten returns build-args with their names' case kept:
// XBUILD_BUILD_ARGS when set, else the build-args mapping of the file at
// path, whose content is data.
func buildArgsAsWritten(path string, data []byte, getenv func(string) string) (map[string]string, error) {
	if env := getenv(config.EnvName("build-args")); env != "" {
		return parseKVList(env)
	}
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	var doc struct {
		BuildArgs map[string]string `yaml:"build-args"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: build-args: %w", path, err)
	}
	for k, v := range doc.BuildArgs {
		out[k] = v
	}
	return out, nil
}

// configPath resolves --config / ./xbuild.yaml.
func (f *Factory) configPath() (string, error) {
	if f.ConfigFile != "" {
		st, err := os.Stat(f.ConfigFile)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config file %s does not exist (given with --config); create it with `xbuild init` or fix the path", f.ConfigFile)
		}
		if err != nil {
			return "", err
		}
		if st.IsDir() {
			return "", fmt.Errorf("config file %s is a directory; pass the path of an xbuild.yaml", f.ConfigFile)
		}
		return f.ConfigFile, nil
	}
	if _, err := os.Stat(config.FileName); err == nil {
		return config.FileName, nil
	}
	return "", nil
}

// flagValue returns a flag's value in a shape viper can store: lists stay lists.
func flagValue(fl *pflag.Flag) any {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return fl.Value.String()
}

// decodeHook turns environment/flag strings into the schema's types:
// "a,b" -> []string, "K=V,K2=V2" -> map, "10m" -> time.Duration.
func decodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		func(from, to reflect.Type, data any) (any, error) {
			s, ok := data.(string)
			if !ok || from.Kind() != reflect.String {
				return data, nil
			}
			switch {
			case to.Kind() == reflect.Slice:
				return splitList(s), nil
			case to.Kind() == reflect.Map:
				return parseKVList(s)
			}
			return data, nil
		},
	)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseKVList(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range splitList(s) {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not NAME=value", p)
		}
		out[k] = val
	}
	return out, nil
}

// splitLists splits comma-joined entries (--platform a,b, -t x,y) and drops
// blanks. Platforms are normalized once, here: everything downstream trusts
// the list. An invalid one is left as written for validate to report with
// its source.
func splitLists(c *config.Config) {
	if ps, err := platform.List(c.Platforms); err == nil {
		c.Platforms = ps
	} else {
		var out []string
		for _, p := range c.Platforms {
			out = append(out, splitList(p)...)
		}
		c.Platforms = out
	}
	var tags []string
	for _, t := range c.Tags {
		tags = append(tags, splitList(t)...)
	}
	c.Tags = tags
}

// checkEnvShapes decodes every XBUILD_* variable on its own, so a bad value
// is reported with the variable's name.
func checkEnvShapes(getenv func(string) string) error {
	defaults := config.DefaultMap()
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		name := config.EnvName(k)
		val := getenv(name)
		if val == "" {
			continue
		}
		target := reflect.New(reflect.TypeOf(defaults[k]))
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: decodeHook(), WeaklyTypedInput: true, Result: target.Interface(),
		})
		if err != nil {
			return err
		}
		if err := dec.Decode(val); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a valid %s", name, val, describeKind(reflect.TypeOf(defaults[k]))))
		}
	}
	return errors.Join(errs...)
}

func describeKind(t reflect.Type) string {
	switch {
	case t.String() == "time.Duration":
		return "duration (e.g. 90s, 10m)"
	case t.Kind() == reflect.Bool:
		return "boolean (true or false)"
	case t.Kind() == reflect.Int:
		return "whole number"
	case t.Kind() == reflect.Slice:
		return "comma-separated list"
	case t.Kind() == reflect.Map:
		return "comma-separated NAME=value list"
	}
	return "value"
}

package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

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

// parseKVList parses "K=V,K2=V2". An entry without "=" is reported by its
// position only: the list holds build arguments, whose values (and a
// mistyped entry) may be secrets.
func parseKVList(s string) (map[string]string, error) {
	out := map[string]string{}
	entries := splitList(s)
	for i, p := range entries {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, &kvError{entry: i + 1, of: len(entries)}
		}
		out[k] = val
	}
	return out, nil
}

// kvError is an entry of a NAME=value list without "=".
type kvError struct{ entry, of int }

func (e *kvError) Error() string {
	return fmt.Sprintf("entry %d of %d is not NAME=value (the value is not shown: it may be a secret)", e.entry, e.of)
}

// splitLists splits comma-joined entries (--platform a,b, -t x,y) and drops
// blanks. Platforms are normalized once, here: everything downstream trusts
// the list. An invalid one is left as written for Validate to report with
// its source.
func splitLists(c *Config) {
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
	var pins []string
	for _, e := range c.Nodes {
		for _, pin := range splitList(e) {
			// the platform is normalized here, like platforms; an invalid
			// pin stays as written for Validate to report
			if p, node, err := ParseNodePin(pin); err == nil && p != "" {
				pin = p + "=" + node
			}
			pins = append(pins, pin)
		}
	}
	c.Nodes = pins
}

// checkEnvShapes decodes every XBUILD_* variable on its own, so a bad value
// is reported with the variable's name.
func checkEnvShapes(getenv func(string) string) error {
	defaults := DefaultMap()
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		name := EnvName(k)
		val := getenv(name)
		if val == "" {
			continue
		}
		if k == imagesKey {
			errs = append(errs, fmt.Errorf("%s: the images list is set in xbuild.yaml only (a list of mappings does not fit in a variable); pick images with --only", name))
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
			var kv *kvError
			if errors.As(err, &kv) {
				errs = append(errs, fmt.Errorf("%s: %v", name, kv))
				continue
			}
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

// buildArgsAsWritten returns build-args with their names' case kept (a
// layered loader lower-cases map keys, and ARG VERSION is not ARG version):
// XBUILD_BUILD_ARGS when set, else the build-args mapping of the file at
// path, whose content is data.
func buildArgsAsWritten(path string, data []byte, getenv func(string) string) (map[string]string, error) {
	if env := getenv(EnvName("build-args")); env != "" {
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

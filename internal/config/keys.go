package config

import (
	"reflect"
	"sort"
	"strings"
)

// Keys returns every configuration key in dotted form (lint.failure-threshold),
// sorted. Map-valued keys (build-args) are leaves: their entries are free-form.
func Keys() []string {
	var out []string
	walkKeys(reflect.TypeOf(Config{}), "", func(key string, _ reflect.Type) { out = append(out, key) })
	sort.Strings(out)
	return out
}

// DefaultMap returns Defaults() as dotted key -> value, the shape a layered
// config loader needs to register a default for every key (a loader that does
// not know a key ignores its environment variable).
func DefaultMap() map[string]any {
	out := map[string]any{}
	collect(reflect.ValueOf(Defaults()), "", out)
	return out
}

// EnvName is the environment variable that sets key.
func EnvName(key string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "XBUILD_" + strings.ToUpper(r.Replace(key))
}

func walkKeys(t reflect.Type, prefix string, fn func(string, reflect.Type)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		if name == "" {
			continue
		}
		key := prefix + name
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			walkKeys(f.Type, key+".", fn)
			continue
		}
		fn(key, f.Type)
	}
}

func collect(v reflect.Value, prefix string, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		if name == "" {
			continue
		}
		key := prefix + name
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			collect(v.Field(i), key+".", out)
			continue
		}
		out[key] = v.Field(i).Interface()
	}
}

// keyTypes maps each dotted key to its Go type, for the file check.
func keyTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	walkKeys(reflect.TypeOf(Config{}), "", func(key string, t reflect.Type) { out[key] = t })
	return out
}

// sections returns the dotted names of nested sections (proxy, lint).
func sections() map[string]bool {
	out := map[string]bool{}
	for k := range keyTypes() {
		if i := strings.LastIndex(k, "."); i > 0 {
			out[k[:i]] = true
		}
	}
	return out
}

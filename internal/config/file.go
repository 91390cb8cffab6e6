package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// CheckFile reads a config file and reports, with line numbers, every key the
// schema does not know and every value of the wrong shape. Load checks the
// file this way before layering it under flags and environment, so a typo
// ("platfroms:") is an error naming the file, line and key instead of a
// silently ignored setting.
func CheckFile(path string) error {
	data, err := ReadFile(path)
	if err != nil {
		return err
	}
	return CheckBytes(path, data)
}

// MaxFileSize is the largest xbuild.yaml xbuild reads: a real one is a few
// kilobytes, and a huge one (the wrong file) would cost the YAML parser a
// minute and a gigabyte.
const MaxFileSize = 1 << 20

// ReadFile reads a config file, refusing one over MaxFileSize before
// parsing anything.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		size := "more than 1 MiB"
		if fi, err := f.Stat(); err == nil {
			size = fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
		}
		return nil, fmt.Errorf("%s: %s is over the 1 MiB an xbuild.yaml may have: is it the right file?", path, size)
	}
	return data, nil
}

// CheckBytes is CheckFile on content already read; name is used in messages.
func CheckBytes(name string, data []byte) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file is a valid, empty config
		}
		return fmt.Errorf("%s: not valid YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// a second document would be silently ignored by the loader
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		line := second.Line
		if len(second.Content) > 0 {
			line = second.Content[0].Line
		}
		return fmt.Errorf("%s:%d: a second YAML document (after ---): xbuild.yaml holds one; merge them or remove the ---", name, line)
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: not valid YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the top level must be a mapping of keys (image:, platforms:, ...)", name, root.Line)
	}
	var errs []error
	checkMapping(name, root, "", keyTypes(), sections(), &errs)
	return errors.Join(errs...)
}

func checkMapping(file string, m *yaml.Node, prefix string, types map[string]reflect.Type, secs map[string]bool, errs *[]error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		if key == imagesKey {
			checkImages(file, v, errs)
			continue
		}
		if secs[key] {
			if v.Kind != yaml.MappingNode {
				if v.Tag == "!!null" {
					continue
				}
				*errs = append(*errs, fmt.Errorf("%s:%d: %q must be a mapping (keys: %s)", file, v.Line, key, strings.Join(childKeys(key, types), ", ")))
				continue
			}
			checkMapping(file, v, key+".", types, secs, errs)
			continue
		}
		t, ok := types[key]
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s:%d: unknown key %q%s", file, k.Line, key, suggest(key, types)))
			continue
		}
		if err := checkShape(v, t); err != nil {
			*errs = append(*errs, fmt.Errorf("%s:%d: key %q: %v", file, v.Line, key, err))
		}
	}
}

// checkShape decodes the node into a value of the key's type, so "platforms: 3"
// or "verify: maybe" are reported here with their line.
func checkShape(v *yaml.Node, t reflect.Type) error {
	if v.Tag == "!!null" {
		return nil
	}
	if t.Kind() == reflect.Int64 && t.String() == "time.Duration" {
		var s string
		if err := v.Decode(&s); err != nil {
			return fmt.Errorf("want a duration such as 90s or 10m")
		}
		return nil
	}
	if t.Kind() == reflect.Slice && v.Kind == yaml.ScalarNode {
		return nil // "platforms: linux/amd64,linux/arm64" is accepted as a list
	}
	p := reflect.New(t)
	if err := v.Decode(p.Interface()); err != nil {
		return fmt.Errorf("want %s", describe(t))
	}
	return nil
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Slice:
		return "a list of strings"
	case reflect.Map:
		return "a mapping of NAME: value"
	default:
		return "a string"
	}
}

func childKeys(section string, types map[string]reflect.Type) []string {
	var out []string
	for k := range types {
		if strings.HasPrefix(k, section+".") {
			out = append(out, strings.TrimPrefix(k, section+"."))
		}
	}
	sort.Strings(out)
	return out
}

// suggest names the closest known key, for typos.
func suggest(key string, types map[string]reflect.Type) string {
	best, bestD := "", 4
	for k := range types {
		// on a tie the first key in order: the same answer every time
		if d := distance(key, k); d < bestD || d == bestD && best != "" && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return " (see `xbuild init` for every key)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

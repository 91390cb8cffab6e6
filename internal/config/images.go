package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

// imagesKey is the key of the images list.
const imagesKey = "images"

// imageNameRE is what an image entry's name may be: it names the image in
// reports, on the command line and as a key of --metadata-file.
var imageNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// imageEntryKeys maps each key an images entry may set to its Go type.
func imageEntryKeys() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	t := reflect.TypeOf(ImageEntry{})
	for i := 0; i < t.NumField(); i++ {
		out[t.Field(i).Tag.Get("yaml")] = t.Field(i).Type
	}
	return out
}

// checkImages checks the images list of a config file: a list of
// mappings, each with known keys of the right shape.
func checkImages(file string, v *yaml.Node, errs *[]error) {
	if v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		*errs = append(*errs, fmt.Errorf("%s:%d: key %q: want a list of images, each a mapping with name: and the keys it sets (%s)", file, v.Line, imagesKey, strings.Join(sortedKeys(imageEntryKeys()), ", ")))
		return
	}
	types := imageEntryKeys()
	for i, e := range v.Content {
		where := fmt.Sprintf("%s[%d]", imagesKey, i)
		if e.Kind != yaml.MappingNode {
			*errs = append(*errs, fmt.Errorf("%s:%d: %s: want a mapping with name: and the keys it sets (%s)", file, e.Line, where, strings.Join(sortedKeys(types), ", ")))
			continue
		}
		for j := 0; j+1 < len(e.Content); j += 2 {
			k, val := e.Content[j], e.Content[j+1]
			t, ok := types[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s:%d: %s: unknown key %q (an image sets %s; the other keys are set once, at the top of the file)", file, k.Line, where, k.Value, strings.Join(sortedKeys(types), ", ")))
				continue
			}
			if err := checkShape(val, t); err != nil {
				*errs = append(*errs, fmt.Errorf("%s:%d: %s: key %q: %v", file, val.Line, where, k.Value, err))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// imagesAsWritten decodes the file's images list with its build-args
// names' case kept (see buildArgsAsWritten), and makes its paths relative
// to the file's directory.
func imagesAsWritten(path string, data []byte) ([]ImageEntry, error) {
	if path == "" {
		return nil, nil
	}
	var doc struct {
		Images []rawImage `yaml:"images"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: images: %w", path, err)
	}
	dir := filepath.Dir(path)
	out := make([]ImageEntry, len(doc.Images))
	for i, r := range doc.Images {
		out[i] = ImageEntry{Name: r.Name, Image: r.Image, Tags: r.Tags, Platforms: r.Platforms, Dockerfile: r.Dockerfile,
			Context: r.Context, Target: r.Target, BuildArgs: r.BuildArgs, SizeBudget: r.SizeBudget}
		e := &out[i]
		for _, p := range []*string{&e.Dockerfile, &e.Context} {
			if *p != "" && !filepath.IsAbs(*p) && dir != "." {
				*p = filepath.Join(dir, *p)
			}
		}
		var plats []string
		for _, p := range e.Platforms {
			plats = append(plats, splitList(p)...)
		}
		if ps, err := platform.List(plats); err == nil {
			plats = ps
		}
		e.Platforms = plats
		var tags []string
		for _, t := range e.Tags {
			tags = append(tags, splitList(t)...)
		}
		e.Tags = tags
	}
	return out, nil
}

// rawImage is an images entry as written: a list may also be written as
// one comma-separated string ("platforms: linux/amd64,linux/arm64"), as
// at the top of the file.
type rawImage struct {
	Name       string            `yaml:"name"`
	Image      string            `yaml:"image"`
	Tags       stringList        `yaml:"tags"`
	Platforms  stringList        `yaml:"platforms"`
	Dockerfile string            `yaml:"dockerfile"`
	Context    string            `yaml:"context"`
	Target     string            `yaml:"target"`
	BuildArgs  map[string]string `yaml:"build-args"`
	SizeBudget string            `yaml:"size-budget"`
}

// stringList is a YAML list of strings, or one string.
type stringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// NamedConfig is the configuration of one image of the images list.
type NamedConfig struct {
	Name string
	Config
}

// ImageConfigs returns the configuration of each image of the images list
// (only those named in only, when given), in the file's order: the file's
// keys with the entry's on top, and the flags and XBUILD_* variables on
// top of both (flags > environment > the image's entry > the rest of the
// file > defaults). Every invalid value of every image is reported at
// once, naming the image, the key and where the value came from.
func (l *Loaded) ImageConfigs(only []string) ([]NamedConfig, error) {
	if len(l.Images) == 0 {
		if len(only) > 0 {
			return nil, fmt.Errorf("--only %s: there is no images list in %s", strings.Join(only, ","), orNoFile(l.File))
		}
		return nil, nil
	}
	var errs []error
	var names []string
	for i, e := range l.Images {
		switch {
		case e.Name == "":
			errs = append(errs, fmt.Errorf("images[%d] (from %s): name: every image needs a name (it names the image in reports and --only)", i, l.File))
		case !imageNameRE.MatchString(e.Name):
			errs = append(errs, fmt.Errorf("images[%d] (from %s): name: %q is not a usable name (letters, digits, '.', '-', '_')", i, l.File, e.Name))
		case slices.Contains(names, e.Name):
			errs = append(errs, fmt.Errorf("images[%d] (from %s): name: %q is used twice", i, l.File, e.Name))
		}
		names = append(names, e.Name)
	}
	for _, n := range only {
		if !slices.Contains(names, n) {
			errs = append(errs, fmt.Errorf("--only %s: no image of that name in %s (images: %s)", n, l.File, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []NamedConfig
	for _, e := range l.Images {
		if len(only) > 0 && !slices.Contains(only, e.Name) {
			continue
		}
		c, set := l.imageConfig(e)
		for _, p := range c.Problems() {
			src := l.Source(p.Key)
			if set[p.Key] {
				src = l.File
			}
			errs = append(errs, fmt.Errorf("image %s: %s (from %s): %s", e.Name, p.Key, src, p.Message))
		}
		out = append(out, NamedConfig{Name: e.Name, Config: c})
	}
	if err := distinctRefs(out); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// imageConfig layers an entry over the file's keys, under the flags and
// the environment; set names the keys the entry decided.
func (l *Loaded) imageConfig(e ImageEntry) (Config, map[string]bool) {
	c := l.Config
	c.Images = nil
	set := map[string]bool{}
	// the entry is part of the file: it loses to a flag or a variable
	entryWins := func(key string) bool {
		src := l.Source(key)
		return src == "default" || src == l.File
	}
	str := func(key, v string, dst *string) {
		if v != "" && entryWins(key) {
			*dst, set[key] = v, true
		}
	}
	list := func(key string, v []string, dst *[]string) {
		if len(v) > 0 && entryWins(key) {
			*dst, set[key] = slices.Clone(v), true
		}
	}
	str("image", e.Image, &c.Image)
	list("tags", e.Tags, &c.Tags)
	list("platforms", e.Platforms, &c.Platforms)
	str("context", e.Context, &c.Context)
	if e.Context != "" && e.Dockerfile == "" && set["context"] && entryWins("dockerfile") {
		c.Dockerfile, set["dockerfile"] = filepath.Join(e.Context, "Dockerfile"), true
	}
	str("dockerfile", e.Dockerfile, &c.Dockerfile)
	str("target", e.Target, &c.Target)
	str("size-budget", e.SizeBudget, &c.SizeBudget)
	if len(e.BuildArgs) > 0 {
		args := map[string]string{}
		for k, v := range l.BuildArgs {
			args[k] = v
		}
		for k, v := range e.BuildArgs {
			if _, fromFlag := l.flagBuildArgs[k]; !fromFlag {
				args[k] = v
			}
		}
		c.BuildArgs, set["build-args"] = args, true
	}
	return c, set
}

// distinctRefs refuses two images that would write the same tag: the
// second would silently replace the first.
func distinctRefs(images []NamedConfig) error {
	owner := map[string]string{}
	var errs []error
	for _, img := range images {
		if !img.Push {
			continue
		}
		for _, r := range img.Refs() {
			if other, ok := owner[r]; ok {
				errs = append(errs, fmt.Errorf("images %s and %s would both be tagged %s: give each image its own image: (repository), or bare tags (-t 1.2.3) that are appended to each", other, img.Name, r))
				continue
			}
			owner[r] = img.Name
		}
	}
	return errors.Join(errs...)
}

func orNoFile(file string) string {
	if file == "" {
		return "the config (no xbuild.yaml was found)"
	}
	return file
}

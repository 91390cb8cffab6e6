package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestKeysAndEnvNames(t *testing.T) {
	keys := Keys()
	for _, want := range []string{"image", "platforms", "build-args", "proxy.from-env", "lint.failure-threshold", "size-budget", "engine"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys() lacks %q", want)
		}
	}
	if slices.Contains(keys, "proxy") || slices.Contains(keys, "lint") {
		t.Errorf("sections must not be keys themselves: %v", keys)
	}
	if got := EnvName("lint.failure-threshold"); got != "XBUILD_LINT_FAILURE_THRESHOLD" {
		t.Errorf("EnvName = %q", got)
	}
	defs := DefaultMap()
	if len(defs) != len(keys) {
		t.Errorf("DefaultMap has %d keys, Keys has %d", len(defs), len(keys))
	}
	if defs["compression"] != "gzip" || defs["lint.enabled"] != true {
		t.Errorf("DefaultMap compression=%v lint.enabled=%v", defs["compression"], defs["lint.enabled"])
	}
}

func TestCheckBytes(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of the error; nil means valid
	}{
		{"empty", "", nil},
		{"comments only", "# nothing\n", nil},
		{"valid", "image: r/app\nplatforms: [linux/amd64]\nlint:\n  enabled: false\nbuild-args:\n  FOO: bar\n", nil},
		{"platforms as csv", "platforms: linux/amd64,linux/arm64\n", nil},
		{"unknown top key", "image: r/app\nplatfroms: [linux/amd64]\n", []string{`x.yaml:2: unknown key "platfroms"`, `did you mean "platforms"`}},
		{"unknown nested key", "lint:\n  enabled: true\n  treshold: error\n", []string{`x.yaml:3: unknown key "lint.treshold"`}},
		{"two unknown keys", "foo: 1\nbar: 2\n", []string{`x.yaml:1: unknown key "foo"`, `x.yaml:2: unknown key "bar"`}},
		{"section not a mapping", "lint: yes\n", []string{`x.yaml:1: "lint" must be a mapping`, "failure-threshold"}},
		{"wrong bool", "verify: maybe\n", []string{`x.yaml:1: key "verify": want true or false`}},
		{"wrong int", "compression-level: high\n", []string{`key "compression-level": want a whole number`}},
		{"wrong map", "build-args: [A=1]\n", []string{`key "build-args": want a mapping`}},
		{"not a mapping", "- a\n- b\n", []string{"top level must be a mapping"}},
		{"bad yaml", "image: [\n", []string{"x.yaml: not valid YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBytes("x.yaml", []byte(tc.in))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCheckFileMissing(t *testing.T) {
	err := CheckFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !os.IsNotExist(err) {
		t.Fatalf("want not-exist error, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no platforms", func(c *Config) { c.Platforms = nil }, "platforms: at least one platform"},
		{"bad platform", func(c *Config) { c.Platforms = []string{"amd64"} }, `platforms: platform "amd64" has no OS: use os/arch, e.g. linux/amd64`},
		{"misspelt architecture", func(c *Config) { c.Platforms = []string{"linux/amr64"} }, `platforms: platform "linux/amr64": unknown architecture "amr64"`},
		{"duplicate platform", func(c *Config) { c.Platforms = []string{"linux/arm64", "linux/aarch64"} }, "platforms: linux/arm64 is listed twice"},
		{"compression", func(c *Config) { c.Compression = "lz4" }, `compression: "lz4" is not one of gzip, zstd, uncompressed`},
		{"gzip level", func(c *Config) { c.CompressionLevel = 12 }, "compression-level: 12 is out of range for gzip"},
		{"zstd level ok", func(c *Config) { c.Compression, c.CompressionLevel = "zstd", 12 }, ""},
		{"threshold", func(c *Config) { c.Lint.FailureThreshold = "fatal" }, `lint.failure-threshold: "fatal" is not one of`},
		{"engine", func(c *Config) { c.Engine = "podman" }, `engine: "podman" is not one of embedded, docker-cli`},
		{"targetarch arg", func(c *Config) { c.BuildArgs = map[string]string{"TARGETARCH": "amd64"} }, "build-args: TARGETARCH must not be passed"},
		{"lower targetos arg", func(c *Config) { c.BuildArgs = map[string]string{"targetos": "linux"} }, "build-args: targetos must not be passed"},
		{"size budget", func(c *Config) { c.SizeBudget = "lots" }, `size-budget: "lots" is not a size`},
		{"builder default", func(c *Config) { c.Builder = "default" }, "builder:"},
		{"push without refs", func(c *Config) { c.Push = true }, "push: nothing to push to"},
		{"tag without image", func(c *Config) { c.Tags = []string{"1.0"} }, `tags: tag "1.0" needs an image`},
		{"push full ref", func(c *Config) { c.Push, c.Tags = true, []string{"r.example/app:1"} }, ""},
		{"stall", func(c *Config) { c.StallTimeout = 0 }, "stall-timeout: must be positive"},
		{"pins", func(c *Config) { c.Nodes = []string{"linux/amd64=amd2", "arm1", "arm2", "linux/amd64=amd2"} }, ""},
		{"pin without platform", func(c *Config) { c.Nodes = []string{"=amd2"} }, `nodes: "=amd2" has no platform before '=': use PLATFORM=NODE (linux/amd64=amd2) or a bare NODE`},
		{"pin without node", func(c *Config) { c.Nodes = []string{"linux/amd64="} }, `nodes: "linux/amd64=" names no node`},
		{"pin to a bad platform", func(c *Config) { c.Nodes = []string{"linux/amr64=amd2"} }, `nodes: "linux/amr64=amd2": platform "linux/amr64": unknown architecture "amr64"`},
		{"pin a platform to a platform", func(c *Config) { c.Nodes = []string{"linux/amd64"} }, `nodes: "linux/amd64": "linux/amd64" is not a node name`},
		{"pin a platform twice", func(c *Config) { c.Nodes = []string{"linux/amd64=amd1", "linux/amd64=amd2"} }, "nodes: linux/amd64 is pinned to both amd1 and amd2: pin a platform to one node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	c := Config{Image: "reg.example/app", Tags: []string{"1.0", "other.example/x:2"}}
	want := []string{"reg.example/app:1.0", "other.example/x:2"}
	if got := c.Refs(); !slices.Equal(got, want) {
		t.Fatalf("Refs = %v, want %v", got, want)
	}
	if got := (Config{Image: "reg.example/app"}).Refs(); !slices.Equal(got, []string{"reg.example/app:latest"}) {
		t.Fatalf("Refs without tags = %v", got)
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{"50MB": 50e6, "3MiB": 3 << 20, "1.5GB": 15e8, "4096": 4096, "10 kb": 10e3, "7B": 7}
	for in, want := range tests {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-3MB", "lots"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestStateDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if d, _ := StateDir(env(map[string]string{"XBUILD_CONFIG_DIR": "/x/y", "HOME": "/h"})); d != "/x/y" {
		t.Errorf("XBUILD_CONFIG_DIR ignored: %q", d)
	}
	if d, _ := StateDir(env(map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"})); d != "/xdg/xbuild" {
		t.Errorf("XDG_CONFIG_HOME ignored: %q", d)
	}
	if d, _ := StateDir(env(map[string]string{"HOME": "/h"})); d != "/h/.config/xbuild" {
		t.Errorf("HOME fallback: %q", d)
	}
	if _, err := StateDir(env(nil)); err == nil {
		t.Error("no HOME accepted")
	}
}

// The init template must be a valid config that mentions every key, so it
// stays the reference as the schema grows.
func TestTemplate(t *testing.T) {
	if err := CheckBytes("template", []byte(Template)); err != nil {
		t.Fatalf("template does not pass the file check: %v", err)
	}
	var c Config
	if err := yaml.Unmarshal([]byte(Template), &c); err != nil {
		t.Fatal(err)
	}
	var flat map[string]any
	if err := yaml.Unmarshal([]byte(Template), &flat); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		top, rest, nested := strings.Cut(k, ".")
		v, ok := flat[top]
		if ok && nested {
			_, ok = v.(map[string]any)[rest]
		}
		if !ok {
			t.Errorf("template lacks key %q", k)
		}
	}
	d := Defaults()
	if c.Compression != d.Compression || c.Builder != d.Builder || !slices.Equal(c.Platforms, d.Platforms) || c.Lint.FailureThreshold != d.Lint.FailureThreshold {
		t.Errorf("template values differ from Defaults(): %+v", c)
	}
}

// A tag is appended to image unless it is a whole reference already:
// docker's short NAME:TAG (app:dev, as --load users write it) is one.
func TestIsFullRef(t *testing.T) {
	for tag, want := range map[string]bool{
		"1.0": false, "latest": false, "app": false,
		"app:dev": true, "r.example/app": true, "r.example:5000/app:1": true, "app@sha256:abc": true,
	} {
		if got := IsFullRef(tag); got != want {
			t.Errorf("IsFullRef(%q) = %v, want %v", tag, got, want)
		}
	}
	c := Defaults()
	c.Tags = []string{"app:dev"}
	if err := c.Validate(); err != nil {
		t.Errorf("-t app:dev without an image: %v", err)
	}
}

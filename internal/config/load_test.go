package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func strPtr(s string) *string { return &s }

// inEmptyDir runs the test in a directory without ./xbuild.yaml, so Load
// with no --config reads no file.
func inEmptyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// With no file, no variable and no flag, Load returns exactly Defaults().
func TestLoadDefaultsOnly(t *testing.T) {
	inEmptyDir(t)
	lc, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lc.Config, Defaults()) {
		t.Errorf("config =\n%+v\nwant\n%+v", lc.Config, Defaults())
	}
	if lc.File != "" {
		t.Errorf("file = %q", lc.File)
	}
	for _, k := range Keys() {
		if s := lc.Source(k); s != "default" {
			t.Errorf("Source(%s) = %q", k, s)
		}
	}
	if err := lc.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	const file = "compression: zstd\ncompression-level: 5\nplatforms: [linux/arm64]\nimage: r.example/app\n" +
		"stall-timeout: 5m\ntags: [dev]\nlint:\n  failure-threshold: warning\n"
	allEnv := map[string]string{
		"XBUILD_COMPRESSION": "gzip", "XBUILD_COMPRESSION_LEVEL": "9", "XBUILD_PLATFORMS": "linux/amd64, linux/arm/v7",
		"XBUILD_STALL_TIMEOUT": "90s", "XBUILD_PUSH": "true", "XBUILD_LINT_FAILURE_THRESHOLD": "info", "XBUILD_TAGS": "1.0, latest",
	}
	allFlags := []Flag{
		{Key: "compression", Name: "compression", Values: []string{"zstd"}},
		{Key: "compression-level", Name: "compression-level", Values: []string{"19"}},
		{Key: "platforms", Name: "platform", Values: []string{"linux/aarch64,linux/x86_64", "linux/s390x"}},
		{Key: "stall-timeout", Name: "stall-timeout", Values: []string{"2m0s"}},
		{Key: "push", Name: "push", Values: []string{"false"}},
		{Key: "lint.failure-threshold", Name: "failure-threshold", Values: []string{"style"}},
		{Key: "tags", Name: "tag", Values: []string{"r.example/x:1,r.example/x:2"}},
	}
	type want struct {
		compression string
		level       int
		platforms   []string
		stall       time.Duration
		push        bool
		threshold   string
		tags        []string
		sources     map[string]string // {file} stands for the config file's path
	}
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []Flag
		want  want
	}{
		{"file over defaults", file, nil, nil, want{"zstd", 5, []string{"linux/arm64"}, 5 * time.Minute, false, "warning", []string{"dev"},
			map[string]string{"compression": "{file}", "compression-level": "{file}", "platforms": "{file}", "stall-timeout": "{file}",
				"push": "default", "lint.failure-threshold": "{file}", "tags": "{file}", "image": "{file}", "verify": "default"}}},
		{"env over file", file, allEnv, nil, want{"gzip", 9, []string{"linux/amd64", "linux/arm/v7"}, 90 * time.Second, true, "info", []string{"1.0", "latest"},
			map[string]string{"compression": "XBUILD_COMPRESSION", "compression-level": "XBUILD_COMPRESSION_LEVEL", "platforms": "XBUILD_PLATFORMS",
				"stall-timeout": "XBUILD_STALL_TIMEOUT", "push": "XBUILD_PUSH", "lint.failure-threshold": "XBUILD_LINT_FAILURE_THRESHOLD",
				"tags": "XBUILD_TAGS", "image": "{file}", "verify": "default"}}},
		{"env over file, key by key", file, map[string]string{"XBUILD_COMPRESSION": "gzip", "XBUILD_COMPRESSION_LEVEL": "1"}, nil,
			want{"gzip", 1, []string{"linux/arm64"}, 5 * time.Minute, false, "warning", []string{"dev"},
				map[string]string{"compression": "XBUILD_COMPRESSION", "compression-level": "XBUILD_COMPRESSION_LEVEL", "platforms": "{file}",
					"stall-timeout": "{file}", "push": "default", "lint.failure-threshold": "{file}", "tags": "{file}"}}},
		{"flags over env", file, allEnv, allFlags, want{"zstd", 19, []string{"linux/arm64", "linux/amd64", "linux/s390x"}, 2 * time.Minute, false, "style",
			[]string{"r.example/x:1", "r.example/x:2"},
			map[string]string{"compression": "--compression", "compression-level": "--compression-level", "platforms": "--platform",
				"stall-timeout": "--stall-timeout", "push": "--push", "lint.failure-threshold": "--failure-threshold", "tags": "--tag",
				"image": "{file}", "verify": "default"}}},
		{"flags over defaults, no file", "", nil, allFlags[:3], want{"zstd", 19, []string{"linux/arm64", "linux/amd64", "linux/s390x"}, 10 * time.Minute, false, "error", nil,
			map[string]string{"compression": "--compression", "compression-level": "--compression-level", "platforms": "--platform",
				"stall-timeout": "default", "tags": "default"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			src := Sources{Getenv: envOf(tc.env), Flags: tc.flags}
			if tc.file != "" {
				src.ConfigFile = writeFile(t, dir, "svc/xbuild.yaml", tc.file)
			}
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			got := want{lc.Compression, lc.CompressionLevel, lc.Platforms, lc.StallTimeout, lc.Push, lc.Lint.FailureThreshold, lc.Tags, nil}
			w := tc.want
			if got.compression != w.compression || got.level != w.level || !slices.Equal(got.platforms, w.platforms) || got.stall != w.stall ||
				got.push != w.push || got.threshold != w.threshold || !slices.Equal(got.tags, w.tags) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			for k, s := range w.sources {
				s = strings.ReplaceAll(s, "{file}", src.ConfigFile)
				if g := lc.Source(k); g != s {
					t.Errorf("Source(%s) = %q, want %q", k, g, s)
				}
			}
			if lc.File != src.ConfigFile {
				t.Errorf("File = %q, want %q", lc.File, src.ConfigFile)
			}
			if err := lc.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// Lists are split on commas: a variable or a scalar in the file always,
// platforms and tags from flags too. Other repeatable flags keep each value
// whole (buildx's --cache-from type=registry,ref=... has commas).
func TestLoadListsSplitOnCommas(t *testing.T) {
	dir := inEmptyDir(t)
	src := Sources{
		ConfigFile: writeFile(t, dir, "xbuild.yaml", "platforms: linux/amd64,linux/arm64\ncache-to: type=inline\n"),
		Getenv:     envOf(map[string]string{"XBUILD_LINT_IGNORE": "XB005, DL3008,"}),
		Flags: []Flag{
			{Key: "tags", Name: "tag", Values: []string{"r/a:1, r/a:2", "r/a:3"}},
			{Key: "nodes", Name: "node", Values: []string{"linux/x86_64=amd2, arm1", "linux/arm/v7=pi"}},
			{Key: "cache-from", Name: "cache-from", Values: []string{"type=registry,ref=r/c", "type=local,src=d"}},
		},
	}
	lc, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key       string
		got, want []string
	}{
		{"platforms", lc.Platforms, []string{"linux/amd64", "linux/arm64"}},
		{"tags", lc.Tags, []string{"r/a:1", "r/a:2", "r/a:3"}},
		{"cache-from", lc.CacheFrom, []string{"type=registry,ref=r/c", "type=local,src=d"}},
		{"cache-to", lc.CacheTo, []string{"type=inline"}},
		{"lint.ignore", lc.Lint.Ignore, []string{"XB005", "DL3008"}},
		// pinned platforms normalized, as platforms are
		{"nodes", lc.Nodes, []string{"linux/amd64=amd2", "arm1", "linux/arm/v7=pi"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}
}

func TestLoadEnvShapeErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XBUILD_PUSH": "maybe"}, `XBUILD_PUSH="maybe": not a valid boolean (true or false)`},
		{map[string]string{"XBUILD_STALL_TIMEOUT": "soon"}, `XBUILD_STALL_TIMEOUT="soon": not a valid duration (e.g. 90s, 10m)`},
		{map[string]string{"XBUILD_COMPRESSION_LEVEL": "high"}, `XBUILD_COMPRESSION_LEVEL="high": not a valid whole number`},
		{map[string]string{"XBUILD_BUILD_ARGS": "FOO"}, `XBUILD_BUILD_ARGS: entry 1 of 1 is not NAME=value (the value is not shown: it may be a secret)`},
		// every bad variable at once, in key order
		{map[string]string{"XBUILD_VERIFY": "nah", "XBUILD_HEALTH_TIMEOUT": "3"},
			`XBUILD_HEALTH_TIMEOUT="3": not a valid duration (e.g. 90s, 10m)` + "\n" + `XBUILD_VERIFY="nah": not a valid boolean (true or false)`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			inEmptyDir(t)
			_, err := Load(Sources{Getenv: envOf(tc.env)})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // written to {dir}/xbuild.yaml; "MISSING" and "{dir}" are special
		want string // {dir} and {file} stand for the paths; a trailing "..." matches a prefix
	}{
		{"missing explicit config", "MISSING", "config file {dir}/nope.yaml does not exist (given with --config); create it with `xbuild init` or fix the path"},
		{"config is a directory", "{dir}", "config file {dir} is a directory; pass the path of an xbuild.yaml"},
		{"unknown key", "image: r/app\ncompresion: zstd\n", `{file}:2: unknown key "compresion" (did you mean "compression"?)`},
		{"ill-shaped value", "verify: maybe\n", `{file}:1: key "verify": want true or false`},
		{"ill-shaped nested value", "lint:\n  enabled: sometimes\n", `{file}:2: key "lint.enabled": want true or false`},
		{"bad build-args", "build-args: [A=1]\n", `{file}:1: key "build-args": want a mapping of NAME: value`},
		{"not YAML", "image: [\n", "{file}: not valid YAML: ..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			var path string
			switch tc.file {
			case "MISSING":
				path = filepath.Join(dir, "nope.yaml")
			case "{dir}":
				path = dir
			default:
				path = writeFile(t, dir, "xbuild.yaml", tc.file)
			}
			_, err := Load(Sources{ConfigFile: path})
			want := strings.NewReplacer("{file}", path, "{dir}", dir).Replace(tc.want)
			if err == nil {
				t.Fatalf("no error, want %q", want)
			}
			if p, ok := strings.CutSuffix(want, "..."); ok {
				if !strings.HasPrefix(err.Error(), p) {
					t.Fatalf("error %q, want prefix %q", err, p)
				}
			} else if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

// ./xbuild.yaml is read when present and no --config was given; missing,
// it is no error.
func TestLoadDefaultFile(t *testing.T) {
	dir := inEmptyDir(t)
	lc, err := Load(Sources{})
	if err != nil || lc.File != "" {
		t.Fatalf("no file: File=%q err=%v", lc.File, err)
	}
	writeFile(t, dir, FileName, "compression: zstd\ncontext: app\n")
	lc, err = Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if lc.File != FileName || lc.Compression != "zstd" || lc.Source("compression") != FileName || lc.Context != "app" {
		t.Errorf("File=%q compression=%q from %q context=%q", lc.File, lc.Compression, lc.Source("compression"), lc.Context)
	}
}

func TestFindFile(t *testing.T) {
	dir := inEmptyDir(t)
	if p, err := FindFile(""); p != "" || err != nil {
		t.Errorf("no file: %q %v", p, err)
	}
	writeFile(t, dir, FileName, "")
	other := writeFile(t, dir, "sub/other.yaml", "")
	if p, err := FindFile(""); p != FileName || err != nil {
		t.Errorf("default file: %q %v", p, err)
	}
	if p, err := FindFile(other); p != other || err != nil {
		t.Errorf("explicit file: %q %v", p, err)
	}
	if _, err := FindFile("sub"); err == nil || err.Error() != "config file sub is a directory; pass the path of an xbuild.yaml" {
		t.Errorf("directory: %v", err)
	}
}

// Paths written in a config file are relative to that file; paths from
// flags, variables and defaults stay relative to the working directory.
func TestLoadPathsRelativeToFile(t *testing.T) {
	const file = "dockerfile: build/Dockerfile\ncontext: .\nmetadata-file: out/report.json\nlint:\n  hadolint: tools/hadolint\n"
	type paths struct{ dockerfile, context, metadata, hadolint string }
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags []Flag
		want  paths // {sub} stands for the file's directory
	}{
		{"all from the file", file, nil, nil, paths{"{sub}/build/Dockerfile", "{sub}", "{sub}/out/report.json", "{sub}/tools/hadolint"}},
		{"a flag's path is kept", file, nil, []Flag{{Key: "dockerfile", Name: "file", Values: []string{"other/Dockerfile"}}},
			paths{"other/Dockerfile", "{sub}", "{sub}/out/report.json", "{sub}/tools/hadolint"}},
		{"a variable's path is kept", file, map[string]string{"XBUILD_CONTEXT": "ctx", "XBUILD_METADATA_FILE": "m.json", "XBUILD_LINT_HADOLINT": "bin/hl"}, nil,
			paths{"{sub}/build/Dockerfile", "ctx", "m.json", "bin/hl"}},
		{"absolute paths and a bare hadolint name are kept", "dockerfile: /abs/Dockerfile\nlint:\n  hadolint: hadolint\n", nil, nil,
			paths{"/abs/Dockerfile", ".", "", "hadolint"}},
		{"defaults are kept", "image: r/app\n", nil, nil, paths{"Dockerfile", ".", "", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			path := writeFile(t, dir, "svc/xbuild.yaml", tc.file)
			lc, err := Load(Sources{ConfigFile: path, Getenv: envOf(tc.env), Flags: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			r := strings.NewReplacer("{sub}", filepath.Join(dir, "svc"))
			w := paths{r.Replace(tc.want.dockerfile), r.Replace(tc.want.context), r.Replace(tc.want.metadata), r.Replace(tc.want.hadolint)}
			if got := (paths{lc.Dockerfile, lc.Context, lc.MetadataFile, lc.Lint.Hadolint}); got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
	// a file in the working directory, named relatively, changes nothing
	dir := inEmptyDir(t)
	writeFile(t, dir, "x.yaml", file)
	lc, err := Load(Sources{ConfigFile: "x.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if lc.Dockerfile != "build/Dockerfile" || lc.Context != "." || lc.MetadataFile != "out/report.json" || lc.Lint.Hadolint != "tools/hadolint" {
		t.Errorf("file in the working directory: %q %q %q %q", lc.Dockerfile, lc.Context, lc.MetadataFile, lc.Lint.Hadolint)
	}
}

// The positional CONTEXT sets the context, and the Dockerfile inside it
// unless a flag, variable or the file named one; --no-lint wins over every
// layer.
func TestLoadCommandInputs(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		env       map[string]string
		src       Sources
		wantDf    string // {sub} stands for the file's directory
		wantCtx   string
		wantLint  bool
		wantSrcDf string // {file} stands for the file's path
		wantSrcCx string
		wantSrcLn string
	}{
		{"no inputs", "", nil, Sources{}, "Dockerfile", ".", true, "default", "default", "default"},
		{"context arg", "", nil, Sources{ContextArg: strPtr("app")}, "app/Dockerfile", "app", true,
			"the CONTEXT argument", "the CONTEXT argument", "default"},
		{"context arg over the file's context", "context: ctx\n", nil, Sources{ContextArg: strPtr("app")}, "app/Dockerfile", "app", true,
			"the CONTEXT argument", "the CONTEXT argument", "default"},
		{"context arg keeps -f", "", nil, Sources{ContextArg: strPtr("app"), Flags: []Flag{{Key: "dockerfile", Name: "file", Values: []string{"df/Dockerfile.prod"}}}},
			"df/Dockerfile.prod", "app", true, "--file", "the CONTEXT argument", "default"},
		{"context arg keeps the file's dockerfile", "dockerfile: build/Dockerfile\n", nil, Sources{ContextArg: strPtr("app")},
			"{sub}/build/Dockerfile", "app", true, "{file}", "the CONTEXT argument", "default"},
		{"context arg keeps XBUILD_DOCKERFILE", "", map[string]string{"XBUILD_DOCKERFILE": "x/Dockerfile"}, Sources{ContextArg: strPtr("app")},
			"x/Dockerfile", "app", true, "XBUILD_DOCKERFILE", "the CONTEXT argument", "default"},
		{"file disables lint", "lint:\n  enabled: false\n", nil, Sources{}, "Dockerfile", ".", false, "default", "default", "{file}"},
		{"--no-lint over the environment", "", map[string]string{"XBUILD_LINT_ENABLED": "true"}, Sources{NoLint: true},
			"Dockerfile", ".", false, "default", "default", "--no-lint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			src := tc.src
			src.Getenv = envOf(tc.env)
			if tc.file != "" {
				src.ConfigFile = writeFile(t, dir, "svc/xbuild.yaml", tc.file)
			}
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			wantDf := strings.ReplaceAll(tc.wantDf, "{sub}", filepath.Join(dir, "svc"))
			if lc.Dockerfile != wantDf || lc.Context != tc.wantCtx || lc.Lint.Enabled != tc.wantLint {
				t.Errorf("dockerfile=%q context=%q lint=%v, want %q %q %v", lc.Dockerfile, lc.Context, lc.Lint.Enabled, wantDf, tc.wantCtx, tc.wantLint)
			}
			r := strings.NewReplacer("{file}", src.ConfigFile)
			for key, want := range map[string]string{"dockerfile": tc.wantSrcDf, "context": tc.wantSrcCx, "lint.enabled": tc.wantSrcLn} {
				if got := lc.Source(key); got != r.Replace(want) {
					t.Errorf("Source(%s) = %q, want %q", key, got, r.Replace(want))
				}
			}
		})
	}
}

// An empty CONTEXT argument is reported as such, not as a default.
func TestLoadEmptyContextArg(t *testing.T) {
	inEmptyDir(t)
	lc, err := Load(Sources{ContextArg: strPtr("")})
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Validate(); err == nil || err.Error() != "context (from the CONTEXT argument): must not be empty" {
		t.Errorf("Validate = %v", err)
	}
}

// Build argument names keep their case from the file and XBUILD_BUILD_ARGS;
// --build-arg entries are layered one by one, a bare NAME taking its value
// from the environment.
func TestLoadBuildArgs(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		flags   []string
		want    map[string]string
		wantSrc string // {file} stands for the file's path
	}{
		{"none", "", nil, nil, map[string]string{}, "default"},
		{"file keeps case", "build-args:\n  VERSION: v1.2.3\n  npm_Token_Name: x\n", nil, nil,
			map[string]string{"VERSION": "v1.2.3", "npm_Token_Name": "x"}, "{file}"},
		{"environment replaces the file, keeping case", "build-args:\n  VERSION: v1\n", map[string]string{"XBUILD_BUILD_ARGS": "GIT_SHA=abc,Mixed=1"}, nil,
			map[string]string{"GIT_SHA": "abc", "Mixed": "1"}, "XBUILD_BUILD_ARGS"},
		{"flags over the file, entry by entry", "build-args:\n  VERSION: v1\n  Keep: k\n", nil, []string{"VERSION=v2", "Extra=e=f"},
			map[string]string{"VERSION": "v2", "Keep": "k", "Extra": "e=f"}, "{file}"},
		{"flags over the environment", "", map[string]string{"XBUILD_BUILD_ARGS": "A=1,B=2"}, []string{"B=3"},
			map[string]string{"A": "1", "B": "3"}, "XBUILD_BUILD_ARGS"},
		{"bare NAME from the environment", "", map[string]string{"Token": "s3cret"}, []string{"Token", "UNSET", "EMPTY="},
			map[string]string{"Token": "s3cret", "UNSET": "", "EMPTY": ""}, "default"},
		{"last flag wins", "", nil, []string{"A=1", "A=2"}, map[string]string{"A": "2"}, "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			src := Sources{Getenv: envOf(tc.env), BuildArgs: tc.flags}
			if tc.file != "" {
				src.ConfigFile = writeFile(t, dir, "xbuild.yaml", tc.file)
			}
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if lc.BuildArgs == nil || !maps.Equal(lc.BuildArgs, tc.want) {
				t.Errorf("build-args = %#v, want %#v", lc.BuildArgs, tc.want)
			}
			if got, want := lc.Source("build-args"), strings.ReplaceAll(tc.wantSrc, "{file}", src.ConfigFile); got != want {
				t.Errorf("Source(build-args) = %q, want %q", got, want)
			}
		})
	}
}

// A platform argument given with --build-arg is a *FlagError naming the
// flag; in the file it is left for Validate, which names the file.
func TestLoadBuildArgErrors(t *testing.T) {
	dir := inEmptyDir(t)
	for _, tc := range []struct{ arg, want string }{
		{"TARGETARCH=amd64", "--build-arg TARGETARCH must not be passed as a build argument: BuildKit sets it for each platform"},
		{"buildplatform", "--build-arg buildplatform must not be passed as a build argument"},
		{"=x", `--build-arg "" is not a valid build argument name`},
	} {
		_, err := Load(Sources{BuildArgs: []string{"OK=1", tc.arg}})
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != "build-arg" || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("--build-arg %s: error %v (%T), want a *FlagError starting %q", tc.arg, err, err, tc.want)
		}
	}
	path := writeFile(t, dir, "app/xbuild.yaml", "build-args:\n  TARGETARCH: amd64\n")
	lc, err := Load(Sources{ConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	want := "build-args (from " + path + "): TARGETARCH must not be passed as a build argument"
	if err := lc.Validate(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Validate = %v, want prefix %q", err, want)
	}
}

func TestLoadValidateNamesSource(t *testing.T) {
	dir := inEmptyDir(t)
	path := writeFile(t, dir, "xbuild.yaml", "lint:\n  failure-threshold: fatal\n")
	lc, err := Load(Sources{
		ConfigFile: path,
		Getenv:     envOf(map[string]string{"XBUILD_COMPRESSION": "lz4"}),
		Flags:      []Flag{{Key: "platforms", Name: "platform", Values: []string{"amd64"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// an invalid platform is left as written for Validate to report
	if !slices.Equal(lc.Platforms, []string{"amd64"}) {
		t.Errorf("platforms = %q", lc.Platforms)
	}
	tests := []struct {
		keys []string
		want string
	}{
		{nil, `platforms (from --platform): platform "amd64" has no OS: use os/arch, e.g. linux/amd64` + "\n" +
			`compression (from XBUILD_COMPRESSION): "lz4" is not one of gzip, zstd, uncompressed` + "\n" +
			`lint.failure-threshold (from ` + path + `): "fatal" is not one of error, warning, info, style, none`},
		{[]string{"compression", "builder"}, `compression (from XBUILD_COMPRESSION): "lz4" is not one of gzip, zstd, uncompressed`},
		{[]string{"builder", "engine"}, ""},
	}
	for _, tc := range tests {
		err := lc.Validate(tc.keys...)
		if got := fmtErr(err); got != tc.want {
			t.Errorf("Validate(%q) =\n%s\nwant\n%s", tc.keys, got, tc.want)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Platforms are normalized once, at load; a duplicate is left as written
// and reported with its source.
func TestLoadPlatforms(t *testing.T) {
	dir := inEmptyDir(t)
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
		wantErr    string // {file} stands for the file's path
	}{
		{"normalized", "platforms: [linux/x86_64, linux/aarch64, linux/arm]\n", nil, []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}, ""},
		{"duplicate", "platforms: [linux/arm64, linux/aarch64]\n", nil, []string{"linux/arm64", "linux/aarch64"},
			"platforms (from {file}): linux/arm64 is listed twice"},
		{"misspelt", "", map[string]string{"XBUILD_PLATFORMS": "linux/amr64"}, []string{"linux/amr64"},
			`platforms (from XBUILD_PLATFORMS): platform "linux/amr64": unknown architecture "amr64" (known: `},
		{"blank entries only", "", map[string]string{"XBUILD_PLATFORMS": " , "}, nil,
			"platforms (from XBUILD_PLATFORMS): at least one platform is needed, e.g. linux/amd64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Getenv: envOf(tc.env)}
			if tc.file != "" {
				src.ConfigFile = writeFile(t, dir, tc.name+".yaml", tc.file)
			}
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(lc.Platforms, tc.want) {
				t.Errorf("platforms = %q, want %q", lc.Platforms, tc.want)
			}
			want := strings.ReplaceAll(tc.wantErr, "{file}", src.ConfigFile)
			if err := lc.Validate("platforms"); (want == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Validate = %v, want %q", err, want)
			}
		})
	}
}

func TestLoadFlagForUnknownKey(t *testing.T) {
	inEmptyDir(t)
	_, err := Load(Sources{Flags: []Flag{{Key: "platfroms", Name: "platform", Values: []string{"linux/amd64"}}}})
	if err == nil || err.Error() != `internal error: flag --platform is bound to unknown key "platfroms"` {
		t.Errorf("error %v", err)
	}
}

// Every example's xbuild.yaml loads and validates, and names files that exist.
func TestExampleConfigsValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", FileName))
	if err != nil || len(files) < 3 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			lc, err := Load(Sources{ConfigFile: file})
			if err != nil {
				t.Fatal(err)
			}
			if err := lc.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(lc.Dockerfile); err != nil {
				t.Errorf("dockerfile: %v", err)
			}
			if st, err := os.Stat(lc.Context); err != nil || !st.IsDir() {
				t.Errorf("context %s: %v", lc.Context, err)
			}
			if len(lc.Platforms) != 2 || lc.Image == "" {
				t.Errorf("platforms %v image %q", lc.Platforms, lc.Image)
			}
		})
	}
}

// A bad XBUILD_BUILD_ARGS is reported without its values: the other
// entries may hold secrets (issue 18).
func TestBuildArgsEnvErrorShowsNoValue(t *testing.T) {
	env := map[string]string{"XBUILD_BUILD_ARGS": "NPM_TOKEN=npm_s3cret_value,sk_live_oops"}
	_, err := Load(Sources{Getenv: func(k string) string { return env[k] }})
	if err == nil {
		t.Fatal("accepted")
	}
	if strings.Contains(err.Error(), "npm_s3cret_value") || strings.Contains(err.Error(), "sk_live_oops") {
		t.Errorf("the error shows a value: %v", err)
	}
	if want := "XBUILD_BUILD_ARGS: entry 2 of 2 is not NAME=value (the value is not shown: it may be a secret)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

// An unknown key gets the same suggestion every time, even when two keys
// are equally close (found by FuzzCheckBytes: "s" was 3 edits from both
// push and tags; since the ssh key, "pgs" is the tie: 2 from both).
func TestSuggestionIsStable(t *testing.T) {
	want := errString(CheckBytes("x.yaml", []byte("pgs: 1\n")))
	if !strings.Contains(want, `did you mean "push"?`) {
		t.Fatalf("suggestion: %s", want)
	}
	for range 50 {
		if got := errString(CheckBytes("x.yaml", []byte("pgs: 1\n"))); got != want {
			t.Fatalf("suggestions differ between runs: %q and %q", got, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// An xbuild.yaml is bounded: a huge one fails at once instead of taking
// a minute and a gigabyte (issue 18), and a second YAML document is an
// error rather than silently ignored.
func TestConfigFileBounds(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.yaml")
	big := "image: r.example/app\nbuild-args:\n" + strings.Repeat("  A_LONG_BUILD_ARGUMENT_NAME_0123456789: some value that goes on and on\n", 20000)
	if err := os.WriteFile(huge, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Sources{ConfigFile: huge}); err == nil || err.Error() != huge+": 1.4 MiB is over the 1 MiB an xbuild.yaml may have: is it the right file?" {
		t.Errorf("huge file: %v", err)
	}
	two := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(two, []byte("image: r.example/app\n---\nimage: r.example/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Sources{ConfigFile: two}); err == nil || err.Error() != two+":3: a second YAML document (after ---): xbuild.yaml holds one; merge them or remove the ---" {
		t.Errorf("two documents: %v", err)
	}
	if err := CheckBytes("x.yaml", []byte("---\nimage: r.example/app\n")); err != nil {
		t.Errorf("a leading --- is one document: %v", err)
	}
}

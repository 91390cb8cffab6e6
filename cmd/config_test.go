package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
)

func testFlags() (*pflag.FlagSet, []flagBinding) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("compression", "", "")
	fs.StringArray("platform", nil, "")
	fs.Bool("push", false, "")
	fs.Duration("stall-timeout", 0, "")
	return fs, []flagBinding{{"compression", "compression"}, {"platforms", "platform"}, {"push", "push"}, {"stall-timeout", "stall-timeout"}}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	file := "compression: zstd\nplatforms: [linux/arm64]\nimage: r.example/app\nstall-timeout: 5m\n"
	tests := []struct {
		name            string
		file            string
		env             map[string]string
		args            []string
		wantCompression string
		wantPlatforms   []string
		wantStall       time.Duration
		wantSource      string // source of "compression"
	}{
		{"defaults only", "", nil, nil, "gzip", []string{"linux/amd64", "linux/arm64"}, 10 * time.Minute, "default"},
		{"file over defaults", file, nil, nil, "zstd", []string{"linux/arm64"}, 5 * time.Minute, "FILE"},
		{"env over file", file, map[string]string{"XBUILD_COMPRESSION": "uncompressed", "XBUILD_PLATFORMS": "linux/amd64, linux/arm/v7", "XBUILD_STALL_TIMEOUT": "90s"}, nil,
			"uncompressed", []string{"linux/amd64", "linux/arm/v7"}, 90 * time.Second, "XBUILD_COMPRESSION"},
		{"flags over env", file, map[string]string{"XBUILD_COMPRESSION": "uncompressed", "XBUILD_PLATFORMS": "linux/amd64"},
			[]string{"--compression", "gzip", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/s390x", "--stall-timeout", "2m"},
			"gzip", []string{"linux/amd64", "linux/arm64", "linux/s390x"}, 2 * time.Minute, "--compression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			io, _, _ := iostreams.Test()
			f := NewFactory(io, func(k string) string { return tc.env[k] })
			if tc.file != "" {
				f.ConfigFile = writeFile(t, dir, "xbuild.yaml", tc.file)
			}
			fs, b := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			lc, err := f.loadConfig(fs, b)
			if err != nil {
				t.Fatal(err)
			}
			if lc.Compression != tc.wantCompression {
				t.Errorf("compression = %q, want %q", lc.Compression, tc.wantCompression)
			}
			if !slices.Equal(lc.Platforms, tc.wantPlatforms) {
				t.Errorf("platforms = %q, want %q", lc.Platforms, tc.wantPlatforms)
			}
			if lc.StallTimeout != tc.wantStall {
				t.Errorf("stall-timeout = %v, want %v", lc.StallTimeout, tc.wantStall)
			}
			want := strings.ReplaceAll(tc.wantSource, "FILE", f.ConfigFile)
			if got := lc.source("compression"); got != want {
				t.Errorf("source(compression) = %q, want %q", got, want)
			}
			if err := lc.validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // "" = no file; "MISSING" = --config to a missing file
		env  map[string]string
		args []string
		want []string
	}{
		{"missing explicit config", "MISSING", nil, nil, []string{"config file", "nope.yaml does not exist (given with --config)"}},
		{"unknown key", "image: r/app\ncompresion: zstd\n", nil, nil, []string{"xbuild.yaml:2: unknown key \"compresion\"", `did you mean "compression"`}},
		{"bad env bool", "", map[string]string{"XBUILD_PUSH": "maybe"}, nil, []string{`XBUILD_PUSH="maybe": not a valid boolean`}},
		{"bad env duration", "", map[string]string{"XBUILD_STALL_TIMEOUT": "soon"}, nil, []string{`XBUILD_STALL_TIMEOUT="soon": not a valid duration`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			io, _, _ := iostreams.Test()
			f := NewFactory(io, func(k string) string { return tc.env[k] })
			switch tc.file {
			case "":
			case "MISSING":
				f.ConfigFile = filepath.Join(dir, "nope.yaml")
			default:
				f.ConfigFile = writeFile(t, dir, "xbuild.yaml", tc.file)
			}
			fs, b := testFlags()
			_ = fs.Parse(tc.args)
			_, err := f.loadConfig(fs, b)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfigValidateNamesSource(t *testing.T) {
	dir := t.TempDir()
	io, _, _ := iostreams.Test()
	env := map[string]string{"XBUILD_COMPRESSION": "lz4"}
	f := NewFactory(io, func(k string) string { return env[k] })
	f.ConfigFile = writeFile(t, dir, "xbuild.yaml", "lint:\n  failure-threshold: fatal\n")
	fs, b := testFlags()
	_ = fs.Parse([]string{"--platform", "amd64"})
	lc, err := f.loadConfig(fs, b)
	if err != nil {
		t.Fatal(err)
	}
	err = lc.validate()
	for _, w := range []string{
		`compression (from XBUILD_COMPRESSION): "lz4" is not one of gzip, zstd, uncompressed`,
		`platforms (from --platform): platform "amd64" has no OS: use os/arch, e.g. linux/amd64`,
		`lint.failure-threshold (from ` + f.ConfigFile + `): "fatal" is not one of`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("validate error %v lacks %q", err, w)
		}
	}
}

func TestConfigDefaultFileInWorkingDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "xbuild.yaml", "compression: zstd\n")
	t.Chdir(dir)
	io, _, _ := iostreams.Test()
	f := NewFactory(io, func(string) string { return "" })
	fs, b := testFlags()
	lc, err := f.loadConfig(fs, b)
	if err != nil {
		t.Fatal(err)
	}
	if lc.File != "xbuild.yaml" || lc.Compression != "zstd" {
		t.Errorf("file=%q compression=%q", lc.File, lc.Compression)
	}
}

// Build argument names are case-sensitive: viper lower-cases map keys, so
// the loader reads them again as written.
func TestConfigBuildArgsKeepCase(t *testing.T) {
	dir := t.TempDir()
	io, _, _ := iostreams.Test()
	f := NewFactory(io, func(string) string { return "" })
	f.ConfigFile = writeFile(t, dir, "xbuild.yaml", "build-args:\n  VERSION: v1.2.3\n  npm_Token_Name: x\n")
	fs, b := testFlags()
	lc, err := f.loadConfig(fs, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.BuildArgs) != 2 || lc.BuildArgs["VERSION"] != "v1.2.3" || lc.BuildArgs["npm_Token_Name"] != "x" {
		t.Errorf("build-args = %v", lc.BuildArgs)
	}
	// the environment replaces the file's map, also keeping case
	f.Getenv = func(k string) string { return map[string]string{"XBUILD_BUILD_ARGS": "GIT_SHA=abc,Mixed=1"}[k] }
	lc, err = f.loadConfig(fs, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.BuildArgs) != 2 || lc.BuildArgs["GIT_SHA"] != "abc" || lc.BuildArgs["Mixed"] != "1" {
		t.Errorf("build-args from env = %v", lc.BuildArgs)
	}
	// and TARGETARCH in the file is refused by its real name
	f.Getenv = func(string) string { return "" }
	f.ConfigFile = writeFile(t, dir, "xbuild.yaml", "build-args:\n  TARGETARCH: amd64\n")
	lc, err = f.loadConfig(fs, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.validate(); err == nil || !strings.Contains(err.Error(), "TARGETARCH must not be passed") {
		t.Errorf("validate = %v", err)
	}
}

// Paths written in a config file are relative to that file; paths from
// flags stay relative to the working directory.
func TestConfigPathsRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "svc")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	io, _, _ := iostreams.Test()
	f := NewFactory(io, func(string) string { return "" })
	f.ConfigFile = writeFile(t, sub, "xbuild.yaml", "dockerfile: build/Dockerfile\ncontext: .\nmetadata-file: out/report.json\n")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("file", "", "")
	lc, err := f.loadConfig(fs, []flagBinding{{"dockerfile", "file"}})
	if err != nil {
		t.Fatal(err)
	}
	if lc.Dockerfile != filepath.Join(sub, "build/Dockerfile") || lc.Context != sub || lc.MetadataFile != filepath.Join(sub, "out/report.json") {
		t.Errorf("dockerfile=%q context=%q metadata=%q", lc.Dockerfile, lc.Context, lc.MetadataFile)
	}
	_ = fs.Parse([]string{"--file", "other/Dockerfile"})
	lc, err = f.loadConfig(fs, []flagBinding{{"dockerfile", "file"}})
	if err != nil {
		t.Fatal(err)
	}
	if lc.Dockerfile != "other/Dockerfile" {
		t.Errorf("a flag's path was rewritten: %q", lc.Dockerfile)
	}
}

// Every example's xbuild.yaml loads and validates, and names files that exist.
func TestExampleConfigsValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*", "xbuild.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			io, _, _ := iostreams.Test()
			f := NewFactory(io, func(string) string { return "" })
			f.ConfigFile = file
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			lc, err := f.loadConfig(fs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := lc.validate(); err != nil {
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

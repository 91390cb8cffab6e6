package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/iostreams"
)

func testFlags() (*pflag.FlagSet, []flagBinding) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("compression", "", "")
	fs.StringArray("platform", nil, "")
	fs.Bool("push", false, "")
	fs.Duration("stall-timeout", 0, "")
	fs.Int("compression-level", 0, "")
	fs.Bool("unbound", false, "")
	return fs, []flagBinding{{"compression", "compression"}, {"platforms", "platform"}, {"push", "push"},
		{"stall-timeout", "stall-timeout"}, {"compression-level", "compression-level"}}
}

// configSources lists only the bound flags the user set, each value as
// given, plus --config, the factory's environment and the options.
func TestConfigSources(t *testing.T) {
	tests := []struct {
		name string
		args []string
		opts []loadOption
		want config.Sources // Getenv is checked apart
	}{
		{"nothing set", nil, nil, config.Sources{ConfigFile: "c.yaml"}},
		{"unbound and unset flags are left out", []string{"--unbound", "--compression", "zstd"}, nil,
			config.Sources{ConfigFile: "c.yaml", Flags: []config.Flag{{Key: "compression", Name: "compression", Values: []string{"zstd"}}}}},
		{"every kind of flag, in binding order",
			[]string{"--stall-timeout", "2m", "--platform", "linux/amd64,linux/arm64", "--push=false", "--platform", "linux/s390x", "--compression-level", "19"}, nil,
			config.Sources{ConfigFile: "c.yaml", Flags: []config.Flag{
				{Key: "platforms", Name: "platform", Values: []string{"linux/amd64,linux/arm64", "linux/s390x"}},
				{Key: "push", Name: "push", Values: []string{"false"}},
				{Key: "stall-timeout", Name: "stall-timeout", Values: []string{"2m0s"}},
				{Key: "compression-level", Name: "compression-level", Values: []string{"19"}},
			}}},
		{"options", nil, []loadOption{withContextArg([]string{"app"}), withBuildArgs([]string{"A=1", "B"}), withNoLint(true)},
			config.Sources{ConfigFile: "c.yaml", ContextArg: ptr("app"), BuildArgs: []string{"A=1", "B"}, NoLint: true}},
		{"no CONTEXT argument", nil, []loadOption{withContextArg(nil), withNoLint(false)}, config.Sources{ConfigFile: "c.yaml"}},
		{"an empty CONTEXT argument is one", nil, []loadOption{withContextArg([]string{""})}, config.Sources{ConfigFile: "c.yaml", ContextArg: ptr("")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			io, _, _ := iostreams.Test()
			f := NewFactory(io, func(k string) string { return map[string]string{"XBUILD_PUSH": "true"}[k] })
			f.ConfigFile = "c.yaml"
			fs, b := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.configSources(fs, b, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Getenv == nil || got.Getenv("XBUILD_PUSH") != "true" {
				t.Errorf("Getenv is not the factory's")
			}
			got.Getenv = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("sources\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestConfigSourcesUnknownFlag(t *testing.T) {
	io, _, _ := iostreams.Test()
	f := NewFactory(io, func(string) string { return "" })
	fs, _ := testFlags()
	_, err := f.configSources(fs, []flagBinding{{Key: "image", Flag: "image"}})
	if err == nil || err.Error() != "internal error: no flag --image for key image" {
		t.Errorf("error %v", err)
	}
}

// loadConfig hands the mapped sources to config.Load: flags reach the
// config with their names as sources, and a bad --build-arg is a usage
// error (exit 2).
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xbuild.yaml")
	if err := os.WriteFile(path, []byte("compression: zstd\nimage: r.example/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, _ := iostreams.Test()
	f := NewFactory(io, func(k string) string { return map[string]string{"XBUILD_STALL_TIMEOUT": "90s"}[k] })
	f.ConfigFile = path
	fs, b := testFlags()
	if err := fs.Parse([]string{"--platform", "linux/aarch64", "--push"}); err != nil {
		t.Fatal(err)
	}
	lc, err := f.loadConfig(fs, b, withContextArg([]string{"app"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{lc.Compression, lc.Source("compression"), strings.Join(lc.Platforms, ","), lc.Source("platforms"),
		lc.StallTimeout.String(), lc.Source("stall-timeout"), lc.Context, lc.Source("push")}
	want := []string{"zstd", path, "linux/arm64", "--platform", "1m30s", "XBUILD_STALL_TIMEOUT", "app", "--push"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	_, err = f.loadConfig(fs, b, withBuildArgs([]string{"TARGETARCH=amd64"}))
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), "--build-arg TARGETARCH must not be passed as a build argument") {
		t.Errorf("error %v (%T), want a usage error about --build-arg", err, err)
	}
	// other load errors are not usage errors
	f.ConfigFile = filepath.Join(dir, "nope.yaml")
	if _, err = f.loadConfig(fs, b); err == nil || errors.As(err, &usage) {
		t.Errorf("missing --config: %v (%T)", err, err)
	}
}

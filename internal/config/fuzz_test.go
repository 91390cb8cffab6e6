package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzCheckBytes feeds the xbuild.yaml checker arbitrary files: it must
// never panic, give the same answer twice, and start every message with
// the file's name (so the user knows which file to fix).
func FuzzCheckBytes(f *testing.F) {
	f.Add([]byte(Template))
	for _, glob := range []string{"../../examples/*/xbuild.yaml", "../../hack/image/xbuild.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "image: r/app\nplatfroms: [linux/amd64]\n", "lint: yes\n", "build-args: [A=1]\n", "- a\n", "image: [\n",
		"lint:\n  enabled: true\n  treshold: error\n", "a: &x [*x]\n", "size-budget: 1e30GB\n", "build-args:\n  ? [a]\n  : b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckBytes("x.yaml", data)
		again := CheckBytes("x.yaml", data)
		if (err == nil) != (again == nil) || err != nil && err.Error() != again.Error() {
			t.Fatalf("two answers for %q: %v / %v", data, err, again)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "x.yaml") {
			t.Fatalf("error does not name the file: %q", err)
		}
	})
}

// FuzzParseSize: an accepted size is 0 to math.MaxInt64 bytes, and the
// number of bytes written out parses back to itself, with or without a B.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"50MB", "3MiB", "1.5GB", "4096", "10 kb", "7B", "NaN", "inf", "1e30GB", "-3MB",
		"9223372036854775807", "9223372036854775808", "8589934591GiB", "0x1p4", "1_000", " 2 G "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		for _, back := range []string{strconv.FormatInt(n, 10), strconv.FormatInt(n, 10) + "B", " " + strconv.FormatInt(n, 10) + " b "} {
			if m, err := ParseSize(back); err != nil || m != n {
				t.Fatalf("ParseSize(%q) = %d, but ParseSize(%q) = %d, %v", s, n, back, m, err)
			}
		}
		_ = FormatSize(n)
	})
}

// FuzzBuildArg: a build-arg name CheckBuildArgName accepts, joined to any
// value as --build-arg NAME=VALUE, splits back into that name and value
// (as buildx splits it, at the first '='); BuildKit's per-platform
// arguments are refused whatever their case.
func FuzzBuildArg(f *testing.F) {
	for _, s := range [][2]string{{"VERSION", "1.2.3"}, {"HTTP_PROXY", "http://u:p@proxy:3128"}, {"targetarch", "arm64"},
		{"A=B", "c"}, {"", "x"}, {"NAME WITH SPACE", "v"}, {"TOKEN", "a=b=c\nd"}, {"é", ""}} {
		f.Add(s[0], s[1])
	}
	platformArgs := []string{"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"}
	f.Fuzz(func(t *testing.T, name, value string) {
		err := CheckBuildArgName(name)
		for _, p := range platformArgs {
			if strings.EqualFold(name, p) && err == nil {
				t.Fatalf("CheckBuildArgName(%q) accepted a per-platform argument", name)
			}
		}
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(name)) && !strings.Contains(err.Error(), name) {
				t.Fatalf("error for %q does not name it: %v", name, err)
			}
			return
		}
		k, v, ok := strings.Cut(name+"="+value, "=")
		if !ok || k != name || v != value {
			t.Fatalf("--build-arg %s=%s splits into %q, %q", name, value, k, v)
		}
	})
}

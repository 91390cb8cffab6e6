package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ReadBuilder reads what buildx itself writes: builders are created, grown
// and shrunk by the embedded buildx (nothing is dialled: create does not
// contact a remote node), then read back from the same BUILDX_CONFIG.
func TestReadBuilderReadsWhatBuildxWrites(t *testing.T) {
	t.Setenv("BUILDX_CONFIG", t.TempDir())
	if got := BuildxConfigDir(); got != os.Getenv("BUILDX_CONFIG") {
		t.Fatalf("BuildxConfigDir = %s, want $BUILDX_CONFIG", got)
	}
	run := func(args ...string) {
		t.Helper()
		var stderr strings.Builder
		if err := NewEmbedded().Run(context.Background(), Invocation{Args: args, Stderr: &stderr}); err != nil {
			t.Fatalf("buildx %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
	}
	if b, err := ReadBuilder("xb"); b != nil || err != nil {
		t.Fatalf("ReadBuilder of a builder never created = %+v, %v; want nil, nil", b, err)
	}
	run(CreateArgs(BuilderNode{Builder: "Xb", Node: "amd1", Driver: "remote", Platforms: []string{"linux/amd64"}, Endpoint: "unix:///run/a.sock"}, false)...)
	run(CreateArgs(BuilderNode{Builder: "Xb", Node: "arm1", Driver: "remote", Platforms: []string{"linux/arm64", "linux/arm/v7"}, Endpoint: "unix:///run/b.sock"}, true)...)
	want := &StoredBuilder{Name: "Xb", Driver: "remote", Nodes: []StoredNode{
		{Name: "amd1", Endpoint: "unix:///run/a.sock", Platforms: []string{"linux/amd64"}},
		{Name: "arm1", Endpoint: "unix:///run/b.sock", Platforms: []string{"linux/arm64", "linux/arm/v7"}},
	}}
	for _, name := range []string{"Xb", "xb"} { // buildx keys builders by the lower-cased name
		if got, err := ReadBuilder(name); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ReadBuilder(%s) = %+v, %v\nwant %+v", name, got, err, want)
		}
	}
	run(LeaveArgs("Xb", "amd1")...)
	want.Nodes = want.Nodes[1:]
	if got, err := ReadBuilder("Xb"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after leave: ReadBuilder = %+v, %v\nwant %+v", got, err, want)
	}
	run(RemoveArgs("Xb")...)
	if got, err := ReadBuilder("Xb"); got != nil || err != nil {
		t.Errorf("after rm: ReadBuilder = %+v, %v; want nil, nil", got, err)
	}
}

func TestReadBuilderErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "instances", "xb")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"xb", "buildx builder file " + path + " is not valid JSON (invalid character 'n' looking for beginning of object key string): remove the builder (docker buildx rm xb, or delete the file); the next xbuild run creates it again"},
		{"a/b", `buildx builder name "a/b": invalid name a/b, name needs to start with a letter and may not contain symbols, except ._-`},
	}
	for _, tc := range tests {
		b, err := readBuilder(dir, tc.name)
		if b != nil || err == nil || err.Error() != tc.want {
			t.Errorf("readBuilder(%s) = %+v, %v\nwant error %s", tc.name, b, err, tc.want)
		}
	}
}

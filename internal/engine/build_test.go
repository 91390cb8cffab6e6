package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// fakeRunner plays a buildx build: it writes rawjson status lines and text to
// stderr and the metadata file, as buildx does.
type fakeRunner struct {
	run  func(ctx context.Context, inv Invocation) error
	args []string
}

func (f *fakeRunner) Name() string { return "fake" }
func (f *fakeRunner) Run(ctx context.Context, inv Invocation) error {
	f.args = inv.Args
	return f.run(ctx, inv)
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func statusLine(t *testing.T, name string, started, completed bool) string {
	t.Helper()
	now := time.Now()
	v := &bkclient.Vertex{Digest: digest.FromString(name), Name: name}
	if started {
		v.Started = &now
	}
	if completed {
		v.Completed = &now
	}
	b, err := json.Marshal(bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{v}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func TestBuildReadsMetadataAndForcesRawJSON(t *testing.T) {
	f := &fakeRunner{run: func(ctx context.Context, inv Invocation) error {
		fmt.Fprint(inv.Stderr, statusLine(t, "[linux/amd64 1/2] FROM busybox", true, false))
		fmt.Fprint(inv.Stderr, "WARNING: something buildx says\n")
		fmt.Fprint(inv.Stderr, statusLine(t, "[linux/amd64 1/2] FROM busybox", true, true))
		md := `{"containerimage.digest":"sha256:abc","image.name":"r/app:1"}`
		return os.WriteFile(flagValue(inv.Args, "--metadata-file"), []byte(md), 0o600)
	}}
	var out bytes.Buffer
	res, err := RunBuild(context.Background(), f, BuildSpec{Builder: "b", Progress: "tty", MetadataFile: "/ignored"}, BuildOptions{Progress: "plain", Out: &out, StallTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != "sha256:abc" || res.Metadata["image.name"] != "r/app:1" {
		t.Errorf("result = %+v", res)
	}
	if got := flagValue(f.args, "--progress"); got != "rawjson" {
		t.Errorf("--progress = %q, want rawjson", got)
	}
	if got := flagValue(f.args, "--metadata-file"); got == "/ignored" || got == "" {
		t.Errorf("--metadata-file = %q, want a private temp file", got)
	}
	if !strings.Contains(out.String(), "FROM busybox") || !strings.Contains(out.String(), "WARNING: something buildx says") {
		t.Errorf("display lacks the vertex or the warning:\n%s", out.String())
	}
	if strings.Contains(out.String(), `{"vertexes"`) {
		t.Errorf("raw JSON leaked into the display:\n%s", out.String())
	}
}

func TestBuildStallWatchdog(t *testing.T) {
	f := &fakeRunner{run: func(ctx context.Context, inv Invocation) error {
		fmt.Fprint(inv.Stderr, statusLine(t, "[linux/arm64 2/3] RUN go build", true, false))
		select { // hang like buildx with a node cut off, until cancelled
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Second):
			return errors.New("watchdog never fired")
		}
	}}
	_, err := RunBuild(context.Background(), f, BuildSpec{Builder: "b"}, BuildOptions{Progress: "quiet", StallTimeout: 150 * time.Millisecond})
	var stall *StallError
	if !errors.As(err, &stall) {
		t.Fatalf("want StallError, got %v", err)
	}
	if len(stall.Running) != 1 || stall.Running[0] != "[linux/arm64 2/3] RUN go build" {
		t.Errorf("Running = %q", stall.Running)
	}
	if !strings.Contains(err.Error(), "made no progress") || !strings.Contains(err.Error(), "xbuild nodes check") {
		t.Errorf("message = %q", err)
	}
}

func TestBuildErrorCarriesTail(t *testing.T) {
	f := &fakeRunner{run: func(ctx context.Context, inv Invocation) error {
		fmt.Fprint(inv.Stderr, "ERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n")
		return errors.New("exit status 1")
	}}
	_, err := RunBuild(context.Background(), f, BuildSpec{Builder: "b"}, BuildOptions{Progress: "quiet"})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("want BuildError, got %v", err)
	}
	if !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), "did not complete successfully") {
		t.Errorf("message = %q", err)
	}
}

func TestBuildCancelledByCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRunner{run: func(rctx context.Context, inv Invocation) error {
		cancel()
		<-rctx.Done()
		return rctx.Err()
	}}
	_, err := RunBuild(ctx, f, BuildSpec{Builder: "b"}, BuildOptions{Progress: "quiet", StallTimeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestLoadStreamError(t *testing.T) {
	tests := []struct{ stream, want string }{
		{`{"stream":"Loaded image: app:dev\n"}`, ""},
		{`{"stream":"x"}{"errorDetail":{"message":"unsupported manifest media type"},"error":"unsupported"}`, "unsupported manifest media type"},
		{`{"error":"no space left"}`, "no space left"},
		{`not json`, "reading the Docker engine's answer to the load: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tc := range tests {
		err := loadStreamError(strings.NewReader(tc.stream))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.stream, got, tc.want)
		}
	}
}

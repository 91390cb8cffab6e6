package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

func TestRelabel(t *testing.T) {
	d, in := digest.FromString("v1"), digest.FromString("v0")
	ss := &bkclient.SolveStatus{
		Vertexes: []*bkclient.Vertex{{Digest: d, Inputs: []digest.Digest{in}, Name: "[2/3] RUN go build"}, {Digest: in, Name: "exporting to image"}},
		Statuses: []*bkclient.VertexStatus{{ID: "push", Vertex: d}},
		Logs:     []*bkclient.VertexLog{{Vertex: d, Data: []byte("hello")}},
		Warnings: []*bkclient.VertexWarning{{Vertex: d, Short: []byte("careful")}},
	}
	a, b := relabel("linux/amd64", ss), relabel("linux/arm64", ss)
	if a.Vertexes[0].Name != "[linux/amd64 2/3] RUN go build" || a.Vertexes[1].Name != "[linux/amd64] exporting to image" {
		t.Errorf("names %q %q", a.Vertexes[0].Name, a.Vertexes[1].Name)
	}
	if a.Vertexes[0].Digest == b.Vertexes[0].Digest || a.Vertexes[0].Digest == d {
		t.Error("the same step of two builds keeps one digest: the display would merge them")
	}
	if a.Vertexes[0].Inputs[0] != a.Vertexes[1].Digest || a.Statuses[0].Vertex != a.Vertexes[0].Digest ||
		a.Logs[0].Vertex != a.Vertexes[0].Digest || a.Warnings[0].Vertex != a.Vertexes[0].Digest {
		t.Error("references to a vertex were not remapped with it")
	}
	if ss.Vertexes[0].Name != "[2/3] RUN go build" || ss.Vertexes[0].Digest != d {
		t.Error("relabel changed its input")
	}
}

// Two builds on one Display run at the same time and both show up, each
// under its label, with their warnings prefixed.
func TestDisplayTwoConcurrentBuilds(t *testing.T) {
	var out syncBuffer
	d := NewDisplay(&out, "plain")
	var started sync.WaitGroup
	started.Add(2)
	run := func(label string) error {
		f := &fakeRunner{run: func(ctx context.Context, inv Invocation) error {
			started.Done()
			started.Wait() // both builds are running now
			fmt.Fprint(inv.Stderr, statusLine(t, "[1/1] RUN make", true, true))
			fmt.Fprint(inv.Stderr, "WARNING: slow\n")
			return os.WriteFile(flagValue(inv.Args, "--metadata-file"), []byte(`{"containerimage.digest":"sha256:`+strings.ReplaceAll(label, "/", "")+`"}`), 0o600)
		}}
		res, err := RunBuild(context.Background(), f, BuildSpec{Builder: "b"}, BuildOptions{Display: d, Label: label})
		if err == nil && res.Digest != "sha256:"+strings.ReplaceAll(label, "/", "") {
			err = fmt.Errorf("%s: digest %s", label, res.Digest)
		}
		return err
	}
	errs := make(chan error, 2)
	for _, l := range []string{"linux/amd64", "linux/arm64"} {
		go func() { errs <- run(l) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	got := out.String()
	for _, want := range []string{"[linux/amd64 1/1] RUN make", "[linux/arm64 1/1] RUN make", "linux/amd64: WARNING: slow", "linux/arm64: WARNING: slow"} {
		if !strings.Contains(got, want) {
			t.Errorf("display lacks %q:\n%s", want, got)
		}
	}
}

// A silent build whose node vouches for it is not stopped; once the node
// no longer does, the watchdog stops it.
func TestWatchdogAsksWhetherTheBuildIsAlive(t *testing.T) {
	var asked atomic.Int32
	f := &fakeRunner{run: func(ctx context.Context, inv Invocation) error {
		fmt.Fprint(inv.Stderr, statusLine(t, "[2/3] RUN go build", true, false))
		<-ctx.Done()
		return ctx.Err()
	}}
	var out syncBuffer
	_, err := RunBuild(context.Background(), f, BuildSpec{Builder: "b"}, BuildOptions{
		Progress: "plain", Out: &out, StallTimeout: 100 * time.Millisecond, Label: "linux/arm64",
		Alive: func(context.Context) (bool, string) {
			if asked.Add(1) <= 2 {
				return true, "node arm1 answers and runs 1 build"
			}
			return false, ""
		},
	})
	var stall *StallError
	if !errors.As(err, &stall) {
		t.Fatalf("want StallError, got %v", err)
	}
	if asked.Load() != 3 {
		t.Errorf("Alive asked %d times, want 3 (two extensions, then the stop)", asked.Load())
	}
	if !strings.Contains(out.String(), "linux/arm64: no build output for") || !strings.Contains(out.String(), "but the build is alive (node arm1 answers and runs 1 build): waiting") {
		t.Errorf("the extension was not said:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the display's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

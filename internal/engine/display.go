package engine

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
)

// Display shows the progress of several concurrent builds as one: one
// BuildKit progress display (tty, plain or quiet) fed by every build, each
// build's steps named after its label ("[linux/arm64 2/3] RUN go build"),
// the way buildx shows one multi-platform build. Builds started on the same
// Display may end, fail and be restarted (a failover) while the others go on.
type Display struct {
	out    io.Writer
	events chan *bkclient.SolveStatus
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex // serialises text lines
}

// NewDisplay starts a display on out in mode auto, plain, tty or quiet
// ("" is auto). Close it when every build is over.
func NewDisplay(out io.Writer, mode string) *Display {
	if out == nil {
		out = io.Discard
	}
	if _, isFile := out.(interface{ Fd() uintptr }); !isFile {
		// the display and the text lines write out from two goroutines; a
		// file stays a file, so the display can still find a terminal
		out = &syncWriter{w: out}
	}
	d := &Display{out: out, events: make(chan *bkclient.SolveStatus, 256), done: make(chan struct{})}
	m := progressui.DisplayMode(mode)
	if mode == "" {
		m = progressui.AutoMode
	}
	pd, err := progressui.NewDisplay(out, m, progressui.WithPhase("Building"))
	if err != nil {
		pd, _ = progressui.NewDisplay(out, progressui.PlainMode)
	}
	go func() {
		_, _ = pd.UpdateFrom(context.Background(), d.events)
		close(d.done)
	}()
	return d
}

// Close ends the display and waits (a few seconds at most) for its last
// frame.
func (d *Display) Close() {
	d.once.Do(func() { close(d.events) })
	waitBounded(d.done, 5*time.Second)
}

// send forwards one build's status under its label.
func (d *Display) send(label string, ss *bkclient.SolveStatus) {
	defer func() { _ = recover() }() // a status after Close is dropped
	d.events <- relabel(label, ss)
}

// Text prints a plain line (one of buildx's warnings or errors) for the
// build labelled label.
func (d *Display) Text(label, line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if label != "" {
		line = label + ": " + line
	}
	_, _ = io.WriteString(d.out, line+"\n")
}

// relabel returns ss with every vertex renamed after label and its digest
// (and every reference to it) mixed with label, so identical steps of two
// builds stay two lines.
func relabel(label string, ss *bkclient.SolveStatus) *bkclient.SolveStatus {
	if label == "" {
		return ss
	}
	mix := func(d digest.Digest) digest.Digest {
		if d == "" {
			return d
		}
		return digest.FromString(label + "\x00" + d.String())
	}
	out := &bkclient.SolveStatus{}
	for _, v := range ss.Vertexes {
		c := *v
		c.Digest = mix(v.Digest)
		c.Inputs = nil
		for _, in := range v.Inputs {
			c.Inputs = append(c.Inputs, mix(in))
		}
		c.Name = labelName(label, v.Name)
		out.Vertexes = append(out.Vertexes, &c)
	}
	for _, s := range ss.Statuses {
		c := *s
		c.Vertex = mix(s.Vertex)
		out.Statuses = append(out.Statuses, &c)
	}
	for _, l := range ss.Logs {
		c := *l
		c.Vertex = mix(l.Vertex)
		out.Logs = append(out.Logs, &c)
	}
	for _, w := range ss.Warnings {
		c := *w
		c.Vertex = mix(w.Vertex)
		out.Warnings = append(out.Warnings, &c)
	}
	return out
}

// labelName puts the label into a step name: "[2/3] RUN x" becomes
// "[linux/arm64 2/3] RUN x", "exporting to image" "[linux/arm64] exporting to image".
func labelName(label, name string) string {
	if rest, ok := strings.CutPrefix(name, "["); ok {
		return "[" + label + " " + rest
	}
	return "[" + label + "] " + name
}

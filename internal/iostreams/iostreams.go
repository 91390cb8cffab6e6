// Package iostreams carries the three standard streams through xbuild, so
// results go to Out, everything else to ErrOut, and tests can capture both.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// IOStreams is the set of streams a command writes to. Library code never
// touches os.Stdout or os.Stderr directly.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY bool
	errTTY bool
}

// System returns streams bound to the process's stdin, stdout and stderr.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		outTTY: isTerminal(os.Stdout), errTTY: isTerminal(os.Stderr),
	}
}

// Test returns streams backed by buffers, plus the buffers, for tests.
// Writes are serialised, as the kernel serialises writes to a real stdout
// and stderr: a build's platforms write from several goroutines. Read the
// buffers once the command has returned.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	var mu sync.Mutex
	return &IOStreams{In: &bytes.Buffer{}, Out: &lockedWriter{mu: &mu, w: out}, ErrOut: &lockedWriter{mu: &mu, w: errOut}}, out, errOut
}

// lockedWriter serialises writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// IsStdoutTTY reports whether results are read by a person (tables) or a
// program (tab-separated).
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether progress can be drawn in place.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// SetTTY overrides terminal detection (tests, --progress).
func (s *IOStreams) SetTTY(out, err bool) { s.outTTY, s.errTTY = out, err }

// Warnf prints one warning line to ErrOut.
func (s *IOStreams) Warnf(format string, a ...any) {
	fmt.Fprintf(s.ErrOut, "WARNING: "+format+"\n", a...)
}

// Infof prints one informational line to ErrOut.
func (s *IOStreams) Infof(format string, a ...any) {
	fmt.Fprintf(s.ErrOut, format+"\n", a...)
}

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

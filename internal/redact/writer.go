package redact

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// holdLimit bounds the masked output a Writer keeps while it waits for
// the end of a line: a terminal redraw without newlines is passed on once
// it is this long.
const holdLimit = 64 << 10

// Writer returns a writer that masks secrets before passing text on to w,
// also secrets that arrive split across writes and lines. It passes text
// on a line at a time, once no registered secret can still be starting in
// it, so it holds at most one unfinished line (up to 64 KiB) plus the
// bytes of a secret that may be arriving. Call Close to flush the rest.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &writer{r: r, w: w}
}

type writer struct {
	r  *Redactor
	w  io.Writer
	mu sync.Mutex
	// in holds input not yet decided: a registered form may start in it.
	in []byte
	// out holds masked output not yet passed on (no newline yet).
	out []byte
}

func (l *writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.in = append(l.in, p...)
	l.r.mu.RLock()
	out, n := l.r.mask(l.out, l.in, false, false)
	l.r.mu.RUnlock()
	l.out = out
	l.in = l.in[:copy(l.in, l.in[n:])]
	cut := bytes.LastIndexByte(l.out, '\n') + 1
	if len(l.out) > holdLimit {
		cut = len(l.out)
	}
	if cut == 0 {
		return len(p), nil
	}
	_, err := l.w.Write(l.out[:cut])
	l.out = l.out[:copy(l.out, l.out[cut:])]
	return len(p), err
}

// Close flushes what is buffered. The writer stays usable.
func (l *writer) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.mu.RLock()
	out, _ := l.r.mask(l.out, l.in, true, false)
	l.r.mu.RUnlock()
	l.in, l.out = l.in[:0], nil
	if len(out) == 0 {
		return nil
	}
	_, err := l.w.Write(out)
	return err
}

// File wraps a terminal so that a progress display can still drive it (it
// needs the file descriptor for the window size) while every line written
// is masked. Close flushes; it does not close f.
type File struct {
	f *os.File
	w io.WriteCloser
}

// File returns a masking wrapper around f.
func (r *Redactor) File(f *os.File) *File { return &File{f: f, w: r.Writer(f)} }

// Write masks and writes.
func (rf *File) Write(p []byte) (int, error) { return rf.w.Write(p) }

// Read reads from the underlying file.
func (rf *File) Read(p []byte) (int, error) { return rf.f.Read(p) }

// Close flushes what is buffered, leaving the file open.
func (rf *File) Close() error { return rf.w.Close() }

// Fd is the underlying file's descriptor.
func (rf *File) Fd() uintptr { return rf.f.Fd() }

// Name is the underlying file's name.
func (rf *File) Name() string { return rf.f.Name() }

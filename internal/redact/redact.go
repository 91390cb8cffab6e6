// Package redact keeps secrets (proxy credentials, tokens passed as build
// arguments) out of everything xbuild prints or writes: dry-run plans, debug
// output, progress logs, errors and reports.
package redact

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "[REDACTED]"

// minSecretLen ignores values too short to be secrets (and that would mask
// innocent text everywhere).
const minSecretLen = 4

// Redactor replaces known secret values in text.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{} }

// Add registers secret values.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) >= minSecretLen && !containsString(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	// longest first, so "user:pass" is masked whole before "pass"
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// AddURL registers the credentials inside a URL (http://user:pass@proxy:3128):
// the password, the user:password pair and the percent-decoded forms.
func (r *Redactor) AddURL(raw string) {
	r.Add(URLSecrets(raw)...)
}

// String masks every registered secret in s.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, Mask)
	}
	return s
}

// Empty reports whether no secret is registered.
func (r *Redactor) Empty() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.secrets) == 0
}

// URLSecrets returns the credential parts of a URL; none when it has no
// password. A bare "user@host" is not treated as secret.
func URLSecrets(raw string) []string {
	s := raw
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return nil
	}
	pass, ok := u.User.Password()
	if !ok || pass == "" {
		return nil
	}
	var out []string
	out = append(out, u.User.String(), pass) // percent-encoded forms as written
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw, "@"); at > i {
			out = append(out, raw[i+3:at]) // exactly as the user wrote it
		}
	}
	out = append(out, u.User.Username()+":"+pass)
	return out
}

// Writer returns a writer that masks secrets line by line before passing
// text on to w. Call Close to flush a final partial line.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &lineWriter{r: r, w: w}
}

type lineWriter struct {
	r   *Redactor
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(l.w, l.r.String(string(l.buf[:i+1]))); err != nil {
			return len(p), err
		}
		l.buf = l.buf[i+1:]
	}
	// a very long line without newline (a tty redraw) is flushed in pieces.
	// Mask the whole buffer before cutting it, so a secret across the cut is
	// masked too, and keep a tail that holds any secret still arriving.
	if len(l.buf) > 64*1024 {
		m := l.r.String(string(l.buf))
		keep := min(4096, len(m))
		if _, err := io.WriteString(l.w, m[:len(m)-keep]); err != nil {
			return len(p), err
		}
		l.buf = []byte(m[len(m)-keep:])
	}
	return len(p), nil
}

// Close flushes what is buffered.
func (l *lineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(l.w, l.r.String(string(l.buf)))
	l.buf = nil
	return err
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
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

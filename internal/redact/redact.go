// Package redact keeps secrets (proxy credentials, tokens passed as build
// arguments, cache credentials) out of everything xbuild prints or writes:
// dry-run plans, debug output, progress logs, errors and reports.
//
// Redaction is a property of the value, not of how it was parsed: a
// registered value is masked raw and in every encoding xbuild or buildx may
// print it in (see Encodings), and multi-line values are masked whole and
// line by line.
package redact

import (
	"slices"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "[REDACTED]"

// minSecretLen ignores values too short to be secrets (and that would mask
// innocent text everywhere).
const minSecretLen = 4

// secret is one registered form of a value and what replaces it.
type secret struct {
	text, repl string
}

// Redactor replaces known secret values in text. It is safe for
// concurrent use; the zero value is an empty Redactor.
type Redactor struct {
	mu sync.RWMutex
	// byFirst holds every registered form by its first byte, longest
	// first, so that scanning tries only the forms that can start at a
	// position and takes the longest one that matches.
	byFirst [256][]secret
	known   map[string]bool
	maxLen  int
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{} }

// Add registers secret values, each in all its encodings (Encodings).
// Values shorter than 4 bytes are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < minSecretLen {
			continue
		}
		for _, f := range Encodings(v) {
			r.addLocked(f, Mask)
		}
	}
}

// addLocked registers one form; repl is what replaces it.
func (r *Redactor) addLocked(text, repl string) {
	if len(text) < minSecretLen || r.known[text] {
		return
	}
	if r.known == nil {
		r.known = map[string]bool{}
	}
	r.known[text] = true
	b := text[0]
	list := append(r.byFirst[b], secret{text, repl})
	slices.SortStableFunc(list, func(x, y secret) int { return len(y.text) - len(x.text) })
	r.byFirst[b] = list
	r.maxLen = max(r.maxLen, len(text))
}

// String masks every registered secret in s.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.known) == 0 {
		return s
	}
	out, _ := r.mask(nil, []byte(s), true, false)
	return string(out)
}

// Empty reports whether no secret is registered.
func (r *Redactor) Empty() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.known) == 0
}

// mask appends buf to dst with every registered form replaced, scanning
// left to right and taking the longest form that starts at a position
// (leftmost-longest), so the result does not depend on registration order
// and no registered form survives in the unmasked text. Unless final, it
// stops at the first position where a form may start but buf ends before
// it can tell (a secret still arriving) and returns that position; with
// final, it consumes all of buf. A form with a replacement of its own (a
// whole URL: scheme://[REDACTED]@host) has that replacement masked in
// turn with plain masks (plain), so no other secret passes through it.
func (r *Redactor) mask(dst, buf []byte, final, plain bool) ([]byte, int) {
	run := 0 // start of the unmasked bytes not yet copied to dst
	for p := 0; p < len(buf); {
		cands := r.byFirst[buf[p]]
		if len(cands) == 0 {
			p++
			continue
		}
		var hit *secret
		for i := range cands {
			s := &cands[i]
			if rest := len(buf) - p; len(s.text) > rest {
				if !final && s.text[:rest] == string(buf[p:]) {
					return append(dst, buf[run:p]...), p
				}
				continue
			}
			if string(buf[p:p+len(s.text)]) == s.text {
				hit = s // the longest: longer candidates did not match
				break
			}
		}
		if hit == nil {
			p++
			continue
		}
		dst = append(dst, buf[run:p]...)
		if plain || hit.repl == Mask {
			dst = append(dst, Mask...)
		} else {
			dst, _ = r.mask(dst, []byte(hit.repl), true, true)
		}
		p += len(hit.text)
		run = p
	}
	return append(dst, buf[run:]...), len(buf)
}

// Forms lists every registered form of every secret, longest first: what
// a check for leaked values (an image config, a report) must look for.
func (r *Redactor) Forms() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.known))
	for f := range r.known {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return out
}

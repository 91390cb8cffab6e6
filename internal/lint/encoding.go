package lint

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// checkEncoding makes sure only UTF-8 text reaches BuildKit's parser and
// shell lexer, whose scanner prints complaints about NUL bytes and invalid
// UTF-8 straight to the process's stderr.
//
// A file with NUL bytes (UTF-16, or not text at all) yields an XB000
// finding and stop=true. A file with invalid UTF-8 (Latin-1, say) yields
// an XB000 finding at the first bad line and a copy with the bad bytes
// replaced by U+FFFD, which is what BuildKit would put in the image; the
// rules then run on that copy.
func checkEncoding(file string, data []byte) (clean []byte, problem *Finding, stop bool) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		f := newFinding(file, "XB000", lineOf(data, i),
			"the Dockerfile contains NUL bytes: it is not UTF-8 text (UTF-16 files must be converted to UTF-8)")
		return nil, &f, true
	}
	if utf8.Valid(data) {
		return data, nil, false
	}
	i := 0
	for i < len(data) {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		i += size
	}
	f := newFinding(file, "XB000", lineOf(data, i), fmt.Sprintf(
		"the Dockerfile is not valid UTF-8 (byte 0x%02x): BuildKit replaces invalid bytes with U+FFFD", data[i]))
	return bytes.ToValidUTF8(data, []byte("\uFFFD")), &f, false
}

// lineOf is the 1-based line of byte offset i.
func lineOf(data []byte, i int) int {
	return bytes.Count(data[:i], []byte("\n")) + 1
}

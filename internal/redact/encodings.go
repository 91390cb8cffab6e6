package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Encodings returns the forms in which a value may be printed, the value
// itself first:
//
//   - percent-encoded, as url.QueryEscape, url.PathEscape and a URL's
//     user:password part (url.UserPassword) write it;
//   - shell-quoted, as engine.Quote writes an argument inside single
//     quotes (where a quote inside is closed, escaped and reopened);
//   - JSON-escaped (with and without HTML escaping) and Go-quoted (%q);
//   - CSV-quoted, as a --driver-opt, --cache-to or --cache-from field
//     holding a '"' is written (" becomes ""), and that shell-quoted;
//
// and for a multi-line value, the same for the value with CRLF line ends
// and for each of its lines (trimmed), which another program may print
// with a prefix of its own before each line. Forms shorter than 4 bytes
// are left out.
func Encodings(v string) []string {
	bases := []string{v}
	if strings.ContainsAny(v, "\r\n") {
		lf := strings.ReplaceAll(v, "\r\n", "\n")
		bases = append(bases, lf, strings.ReplaceAll(lf, "\n", "\r\n"))
		for _, line := range strings.Split(lf, "\n") {
			bases = append(bases, strings.TrimSpace(line))
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if len(s) >= minSecretLen && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, b := range bases {
		if len(b) < minSecretLen {
			continue
		}
		for _, e := range encoders {
			s := e(b)
			add(s)
			add(shellBody(s))
		}
	}
	return out
}

// encoders are the escapings of a whole value; identity first.
var encoders = []func(string) string{
	func(s string) string { return s },
	url.QueryEscape,
	url.PathEscape,
	userinfoEscape,
	func(s string) string { return jsonBody(s, true) },
	func(s string) string { return jsonBody(s, false) },
	func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },
	func(s string) string { return strings.ReplaceAll(s, `"`, `""`) },
}

// shellBody is s as it appears inside a single-quoted shell word
// (internal/engine's shellQuote).
func shellBody(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }

// userinfoEscape is s percent-encoded as the password of a URL.
func userinfoEscape(s string) string {
	return strings.TrimPrefix(url.UserPassword("", s).String(), ":")
}

// jsonBody is s JSON-encoded, without the quotes.
func jsonBody(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

package redact

import (
	"net/url"
	"strings"
)

// AddURL registers the credentials in a URL (http://user:pass@proxy:3128)
// or a user:password@host reference (a cache ref, a registry): the
// password, user:password and the whole value, each in all its encodings,
// also when net/url cannot parse the value (a password holding %, #, /, ?,
// a space or a quote). Where the whole value is printed it is replaced by
// itself with the credentials masked (http://[REDACTED]@proxy:3128), so
// output still says which proxy. A value without a password registers
// nothing: a bare user@host is not secret.
func (r *Redactor) AddURL(raw string) {
	c, ok := splitCredentials(raw)
	r.Add(URLSecrets(raw)...)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range encoders {
		for _, sh := range []func(string) string{func(s string) string { return s }, shellBody} {
			repl := sh(e(c.masked))
			if !strings.Contains(repl, Mask) {
				repl = Mask
			}
			r.addLocked(sh(e(c.whole)), repl)
		}
	}
}

// URLSecrets returns the secret parts of a URL or user:password@host
// reference: the password and user:password as written and
// percent-decoded, and user:password as net/url writes it. It returns
// none when the value has no password.
func URLSecrets(raw string) []string {
	var out []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" && !containsString(out, v) {
				out = append(out, v)
			}
		}
	}
	if c, ok := splitCredentials(raw); ok {
		add(c.pass, c.user+":"+c.pass)
		if p, err := url.PathUnescape(c.pass); err == nil {
			u, err := url.PathUnescape(c.user)
			if err != nil {
				u = c.user
			}
			add(p, c.user+":"+p, u+":"+p, url.UserPassword(u, p).String())
		}
	}
	// what net/url makes of it: it may pick another '@' than the split
	// above (one in the path), so both are kept
	s := raw
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if pass, ok := u.User.Password(); ok && pass != "" {
			add(u.User.String(), pass, u.User.Username()+":"+pass)
		}
	}
	return out
}

// credentials is a URL split around its user:password part.
type credentials struct {
	user, pass string // as written
	whole      string // the value as written
	masked     string // the value with user:password replaced by Mask
}

// splitCredentials finds user:password in a URL or reference by hand, so
// that passwords net/url refuses are found too: the userinfo ends at the
// last '@' that is followed by a host[:port] (and then the end, '/', '?'
// or '#'), and the password starts after the first ':' of the userinfo.
// Without a scheme, the user may hold no whitespace or '/': in
// "team/app:v1@host" the '@' does not follow credentials.
func splitCredentials(raw string) (credentials, bool) {
	start := 0
	scheme := false
	if i := strings.Index(raw, "://"); i > 0 && isScheme(raw[:i]) {
		start, scheme = i+3, true
	}
	rest := raw[start:]
	for at := strings.LastIndexByte(rest, '@'); at >= 0; at = strings.LastIndexByte(rest[:at], '@') {
		if !looksLikeHost(rest[at+1:]) {
			continue
		}
		user, pass, ok := strings.Cut(rest[:at], ":")
		if !ok || pass == "" || user == "" && !scheme {
			return credentials{}, false
		}
		if !scheme && strings.ContainsAny(user, " \t\r\n/") {
			return credentials{}, false
		}
		return credentials{
			user: user, pass: pass, whole: raw,
			masked: raw[:start] + Mask + rest[at:],
		}, true
	}
	return credentials{}, false
}

// isScheme reports an RFC 3986 scheme: a letter, then letters, digits,
// '+', '-' or '.'.
func isScheme(s string) bool {
	for i, c := range []byte(s) {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// looksLikeHost reports whether s starts with host[:port] ending at the end
// of s or at '/', '?' or '#': a DNS name or IPv4 address, or an IPv6
// address in brackets; the port is 1 to 5 digits.
func looksLikeHost(s string) bool {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	port := ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 || !allBytes(s[1:end], hostBytes+":%") {
			return false
		}
		switch rest := s[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port = rest[1:]
		default:
			return false
		}
	} else {
		host := s
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
		}
		if host == "" || !allBytes(host, hostBytes) {
			return false
		}
	}
	return len(port) <= 5 && allBytes(port, "0123456789")
}

// hostBytes are the bytes of a DNS name or IP address (and '_', which
// resolvers accept).
const hostBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

func allBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

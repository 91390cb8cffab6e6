package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Proxy passwords net/url cannot parse must still be masked, in every form
// the dry-run plan and --debug print them (issue 18, item 2).
func TestAddURLUnparsablePasswords(t *testing.T) {
	tests := []struct {
		url, pass string
	}{
		{"http://alice:50%off!@proxy.corp:3128", "50%off!"},
		{"http://alice:ab#cd1234@proxy.corp:3128", "ab#cd1234"},
		{"http://alice:ab/cd1234@proxy.corp:3128", "ab/cd1234"},
		{"http://alice:ab?cd1234@proxy.corp:3128", "ab?cd1234"},
		{"http://alice:ab cd1234@proxy.corp:3128", "ab cd1234"},
		{`http://alice:ab"cd1234@proxy.corp:3128`, `ab"cd1234`},
		{"http://alice:p@ss:w/rd#1?@proxy.corp:3128/", "p@ss:w/rd#1?"},
		{"alice:ab/cd1234@proxy.corp:3128", "ab/cd1234"},
		{"http://alice:it's-secret@proxy.corp:3128", "it's-secret"},
	}
	for _, tc := range tests {
		r := New()
		r.AddURL(tc.url)
		lines := []string{
			engine.Quote("docker buildx", []string{"build", "--build-arg", "HTTP_PROXY=" + tc.url, "."}),
			"HTTP_PROXY=" + tc.url,
			fmt.Sprintf("%q", tc.url),
			jsonString(tc.url),
		}
		for _, line := range lines {
			got := r.String(line)
			if strings.Contains(got, tc.pass) || strings.Contains(got, shellBody(tc.pass)) || strings.Contains(got, "alice") && !strings.Contains(got, Mask) {
				t.Errorf("AddURL(%q): %q prints as %q", tc.url, line, got)
			}
		}
	}
}

// A registered value is masked in each encoding xbuild or buildx prints it
// in: percent-encoded (query and path), shell-quoted (engine.Quote),
// JSON-escaped, Go-quoted (%q) and CSV-quoted (--driver-opt, --cache-to).
func TestAddMasksEncodings(t *testing.T) {
	const secret = `p@ss w/rd'"&<x>\é`
	r := New()
	r.Add(secret)
	forms := map[string]string{
		"query":        url.QueryEscape(secret),
		"path":         url.PathEscape(secret),
		"user":         url.UserPassword("alice", secret).String(),
		"shell":        engine.Quote("docker buildx", []string{"--build-arg", "TOKEN=" + secret}),
		"json":         jsonString(secret),
		"go":           fmt.Sprintf("%q", secret),
		"csv":          `"type=s3,secret_access_key=` + strings.ReplaceAll(secret, `"`, `""`) + `"`,
		"shell of csv": engine.Quote("docker buildx", []string{"--driver-opt", `"env.TOKEN=` + strings.ReplaceAll(secret, `"`, `""`) + `"`}),
	}
	for name, form := range forms {
		got := r.String("x " + form + " y")
		if !strings.Contains(got, Mask) {
			t.Errorf("%s form %q is not masked: %q", name, form, got)
		}
	}
}

// A multi-line value (a key, a netrc) is masked whole, and line by line
// when another program prefixes each of its lines (issue 18, item 3).
func TestWriterMultiLineSecret(t *testing.T) {
	const secret = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----"
	tests := []struct {
		name, in, want string
	}{
		{"whole", "key:\n" + secret + "\ndone\n", "key:\n" + Mask + "\ndone\n"},
		{"prefixed lines", "#5 0.1 MIIEvQIBADANBgkq\n#5 0.1 hkiG9w0BAQEFAASC\n", "#5 0.1 " + Mask + "\n#5 0.1 " + Mask + "\n"},
		{"crlf", strings.ReplaceAll(secret, "\n", "\r\n") + "\r\n", Mask + "\r\n"},
	}
	for _, tc := range tests {
		for _, size := range []int{1, 3, 7, len(tc.in)} {
			r := New()
			r.Add(secret)
			var out bytes.Buffer
			w := r.Writer(&out)
			for i := 0; i < len(tc.in); i += size {
				if _, err := w.Write([]byte(tc.in[i:min(i+size, len(tc.in))])); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("%s, writes of %d bytes: got %q, want %q", tc.name, size, out.String(), tc.want)
			}
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

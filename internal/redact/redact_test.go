package redact

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestURLSecrets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"http://proxy:3128", nil},
		{"http://alice@proxy:3128", nil},
		{"http://alice:s3cr%21t@proxy:3128", []string{"alice:s3cr%21t", "s3cr!t", "alice:s3cr!t"}},
		{"alice:hunter22@proxy.corp:8080", []string{"alice:hunter22", "hunter22"}},
		{"::not a url", nil},
	}
	for _, tc := range tests {
		got := URLSecrets(tc.in)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("URLSecrets(%q) = %q, lacks %q", tc.in, got, w)
			}
		}
		if tc.want == nil && got != nil {
			t.Errorf("URLSecrets(%q) = %q, want none", tc.in, got)
		}
	}
}

func TestRedactorString(t *testing.T) {
	r := New()
	r.AddURL("http://alice:hunter22@proxy:3128")
	r.Add("tok_abcdef", "ab") // "ab" is too short to be masked
	in := "--build-arg HTTP_PROXY=http://alice:hunter22@proxy:3128 TOKEN=tok_abcdef ab hunter22"
	want := "--build-arg HTTP_PROXY=http://[REDACTED]@proxy:3128 TOKEN=[REDACTED] ab [REDACTED]"
	if got := r.String(in); got != want {
		t.Errorf("String =\n %q\nwant\n %q", got, want)
	}
	if r.Empty() || !New().Empty() {
		t.Error("Empty() wrong")
	}
}

func TestRedactorWriter(t *testing.T) {
	r := New()
	r.Add("hunter22")
	var out bytes.Buffer
	w := r.Writer(&out)
	// the secret arrives split across writes
	for _, chunk := range []string{"#5 RUN echo $HTTP_PROXY\n#5 0.2 http://alice:hun", "ter22@proxy\n", "tail hunter", "22"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(out.String(), "tail") {
		t.Errorf("partial line flushed early: %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "#5 RUN echo $HTTP_PROXY\n#5 0.2 http://alice:[REDACTED]@proxy\ntail [REDACTED]"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

func TestRedactorFileKeepsTheDescriptor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New()
	r.Add("hunter22")
	rf := r.File(f)
	if rf.Fd() != f.Fd() || rf.Name() != f.Name() {
		t.Error("the wrapper hides the file")
	}
	if _, err := rf.Write([]byte("proxy hunter22\n")); err != nil {
		t.Fatal(err)
	}
	if err := rf.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if string(got) != "proxy [REDACTED]\n" {
		t.Errorf("file holds %q", got)
	}
}

// A line longer than the writer's buffer is flushed in pieces; a secret
// lying across the point where the buffer is cut (4096 bytes before its end)
// must still be masked.
func TestRedactorWriterLongLine(t *testing.T) {
	const secret = "hunter22secret"
	for _, after := range []int{4096 - 1, 4096 - 7, 4096 - len(secret) + 1, 4096, 100} {
		r := New()
		r.Add(secret)
		var out bytes.Buffer
		w := r.Writer(&out)
		line := strings.Repeat("x", 70000) + secret + strings.Repeat("y", after)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("x", 70000) + Mask + strings.Repeat("y", after)
		if got := out.String(); got != want {
			t.Errorf("%d bytes after the secret: secret shown: %v, %d bytes out, want %d with the secret masked", after, strings.Contains(got, secret), len(got), len(want))
		}
	}
}

// URLSecrets splits user:password itself, on the last '@' before a host,
// so passwords net/url refuses are found; a digest's '@' is no host.
func TestURLSecretsByHand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"http://alice:ab#cd@proxy.corp:3128", []string{"ab#cd", "alice:ab#cd", "alice:ab%23cd"}},
		{"http://alice:p@ss@proxy.corp:3128/", []string{"p@ss", "alice:p@ss", "alice:p%40ss"}},
		{"https://alice:a b\"c@[fd00::1]:3128", []string{`a b"c`, `alice:a b"c`, "alice:a%20b%22c"}},
		{"alice:pw12@registry.example.com/app@sha256:abcd", []string{"pw12", "alice:pw12"}},
		// net/url reads host alice, port 1234; by hand the password is 1234/x: both are masked
		{"http://alice:1234/x@proxy:3128", []string{"1234/x", "alice:1234/x", "alice:1234%2Fx"}},
		{"docker.io/library/alpine:3.19.1@sha256:abcd", nil},
		{"team/app:v1@registry.example.com", nil},
		{"http://alice:@proxy:3128", nil},
		{"http://[::1]:3128", nil},
	}
	for _, tc := range tests {
		if got := URLSecrets(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("URLSecrets(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactorZeroValue(t *testing.T) {
	var r Redactor
	if got := r.String("hunter22"); got != "hunter22" || !r.Empty() {
		t.Errorf("empty Redactor: %q", got)
	}
	r.Add("hunter22")
	if got := r.String("pw hunter22"); got != "pw "+Mask {
		t.Errorf("zero-value Redactor after Add: %q", got)
	}
}

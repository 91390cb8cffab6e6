package redact

import (
	"bytes"
	"strings"
	"testing"
)

// The writer passes a line on as soon as it ends, unless a registered
// secret may be starting in it (a multi-line secret whose first line has
// arrived): then it holds exactly from where that secret would start.
func TestWriterFlushesLinesUnlessASecretIsPending(t *testing.T) {
	r := New()
	r.Add("first-line\nsecond-line")
	var out bytes.Buffer
	w := r.Writer(&out)
	steps := []struct {
		write, out string
	}{
		{"plain line\n", "plain line\n"},
		{"partial", "plain line\n"},
		{" line\nfirst-line\n", "plain line\npartial line\n"},
		{"second-", "plain line\npartial line\n"},
		{"line\nafter\n", "plain line\npartial line\n" + Mask + "\nafter\n"},
		// each line of a multi-line secret is a secret too
		{"first-line\nsomething else\n", "plain line\npartial line\n" + Mask + "\nafter\n" + Mask + "\nsomething else\n"},
	}
	for i, s := range steps {
		if _, err := w.Write([]byte(s.write)); err != nil {
			t.Fatal(err)
		}
		if out.String() != s.out {
			t.Fatalf("after write %d (%q): out = %q, want %q", i, s.write, out.String(), s.out)
		}
	}
}

// Held output is bounded: a secret prefix that never completes is held
// only while it may still become the secret, and a line without newline
// is passed on once it passes 64 KiB.
func TestWriterIsBounded(t *testing.T) {
	r := New()
	r.Add("abcdefghij")
	var out bytes.Buffer
	w := r.Writer(&out).(*writer)
	chunk := strings.Repeat("x", 1000) + "abcdefghi" // ends in a prefix of the secret
	for i := 0; i < 100; i++ {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if held := len(w.in) + len(w.out); held > holdLimit+len(chunk) {
			t.Fatalf("write %d: %d bytes held", i, held)
		}
	}
	if len(w.in) != len("abcdefghi") {
		t.Errorf("undecided input = %q, want the pending prefix alone", w.in)
	}
	if out.Len() == 0 || strings.Contains(out.String(), "abcdefghij") {
		t.Errorf("nothing passed on, or the secret was: %d bytes out", out.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat(chunk, 100); out.String() != want {
		t.Errorf("output differs from the input (%d bytes, want %d)", out.Len(), len(want))
	}
}

// Whatever the write boundaries, the writer's output is the String of the
// whole input.
func TestWriterMatchesString(t *testing.T) {
	r := New()
	r.Add("hunter22", "multi\nline secret", "a'b\"c%d e")
	r.AddURL("http://bob:pa ss#1@proxy.corp:3128")
	in := "HTTP_PROXY=http://bob:pa ss#1@proxy.corp:3128\n'a'\\''b\"c%d e' hunter2 hunter22hunter22\n" +
		"#3 multi\n#3 line secret\nmulti\nline secret\nmulti\nline secre"
	want := r.String(in)
	if strings.Contains(want, "hunter22") || strings.Contains(want, "pa ss") || strings.Contains(want, "line secret") {
		t.Fatalf("String leaks: %q", want)
	}
	for size := 1; size <= len(in); size++ {
		var out bytes.Buffer
		w := r.Writer(&out)
		for i := 0; i < len(in); i += size {
			if _, err := w.Write([]byte(in[i:min(i+size, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("writes of %d bytes: got %q\nwant %q", size, out.String(), want)
		}
	}
}

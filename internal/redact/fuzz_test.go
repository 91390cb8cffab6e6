package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// FuzzWriter registers random secrets, hides them (in random encodings)
// in random text, and writes the text through the redacting writer in
// pieces cut at random points. The output must not depend on the cuts
// (it is String of the whole input), must equal an independent, naive
// leftmost-longest masking of the input, and no registered form may be
// left in any unmasked stretch of it.
func FuzzWriter(f *testing.F) {
	f.Add("hunter22", "multi\nline secret", []byte("proxy http://bob:hunter22@proxy\n#5 RUN echo\n"), uint64(7))
	f.Add(`p@ss w/rd'"`, "-----BEGIN KEY-----\r\nMIIE\r\nabcdefgh\r\n-----END KEY-----", []byte("a\nb\nc\n"), uint64(42))
	f.Add("aaaa", "aaaaaaa", []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaa\naaaa"), uint64(1))
	f.Add("[REDACTED]", "ED]x", []byte("[REDACTED]x [RED"), uint64(3))
	f.Fuzz(func(t *testing.T, s1, s2 string, text []byte, seed uint64) {
		if len(s1) > 200 || len(s2) > 200 || len(text) > 4096 {
			return
		}
		r := New()
		r.Add(s1, s2)
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		in := append([]byte(nil), text...)
		for _, s := range []string{s1, s2, s1, s2} {
			enc := Encodings(s)
			if len(enc) == 0 {
				continue
			}
			e := enc[rng.IntN(len(enc))]
			at := rng.IntN(len(in) + 1)
			in = append(in[:at], append([]byte(e), in[at:]...)...)
		}

		var out bytes.Buffer
		w := r.Writer(&out)
		for rest := in; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			if rng.IntN(4) == 0 {
				n = 1 + rng.IntN(min(len(rest), 8))
			}
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if want := r.String(string(in)); got != want {
			t.Fatalf("writer and String differ for %q:\nwriter %q\nString %q", in, got, want)
		}
		forms := r.Forms()
		if want := naiveMask(forms, string(in)); got != want {
			t.Fatalf("output differs from the naive masking of %q:\n got %q\nwant %q", in, got, want)
		}
		for _, seg := range strings.Split(got, Mask) {
			for _, s := range forms {
				if strings.Contains(seg, s) {
					t.Fatalf("registered form %q left in output %q (input %q)", s, got, in)
				}
			}
		}
	})
}

// naiveMask replaces, scanning left to right, the longest form starting
// at each position with Mask: the writer's contract, written plainly.
func naiveMask(forms []string, s string) string {
	var b strings.Builder
	for p := 0; p < len(s); {
		best := 0
		for _, f := range forms {
			if len(f) > best && strings.HasPrefix(s[p:], f) {
				best = len(f)
			}
		}
		if best == 0 {
			b.WriteByte(s[p])
			p++
			continue
		}
		b.WriteString(Mask)
		p += best
	}
	return b.String()
}

// FuzzAddURL builds proxy URLs with arbitrary passwords and checks that
// no password of 4 bytes or more survives in what xbuild prints: the
// plain value, a quoted command line (engine.Quote), %q and JSON.
func FuzzAddURL(f *testing.F) {
	for _, p := range []string{"hunter22", "50%off!", "ab#cd", "a/b?c d", `q"uote'`, "p@ss@x.y", "pa:ss", "é\x00\n"} {
		f.Add("alice", p, "proxy.corp:3128")
	}
	f.Add("bob", "pw1234", "[fd00::1]:3128")
	f.Fuzz(func(t *testing.T, user, pass, host string) {
		if len(pass) < minSecretLen || user == "" || strings.ContainsAny(user, ":@/?#") || !looksLikeHost(host) || strings.ContainsAny(host, "/?#") {
			return
		}
		raw := "http://" + user + ":" + pass + "@" + host
		r := New()
		r.AddURL(raw)
		lines := func(u string) []string {
			j, _ := json.Marshal(u)
			return []string{
				"HTTP_PROXY=" + u,
				engine.Quote("docker buildx", []string{"build", "--build-arg", "HTTP_PROXY=" + u}),
				fmt.Sprintf("%q", u),
				string(j),
			}
		}
		// the same lines with the credentials already gone: a password
		// that the host and the quoting spell by themselves (host 000,
		// password 000") is no leak
		clean := lines("http://" + Mask + "@" + host)
		for i, line := range lines(raw) {
			if segmentsContain(clean[i], pass) {
				continue
			}
			if got := r.String(line); segmentsContain(got, pass) {
				t.Fatalf("password %q of %q printed: %q", pass, raw, got)
			}
		}
	})
}

// segmentsContain reports whether s appears in text outside its masks.
func segmentsContain(text, s string) bool {
	for _, seg := range strings.Split(text, Mask) {
		if strings.Contains(seg, s) {
			return true
		}
	}
	return false
}

// FuzzBuildArgs registers one build argument the way the pipeline will
// (AddBuildArgs) and prints it as the dry-run plan and --debug do: a
// value of 4 bytes or more whose name looks secret, or that the user
// marked secret, never shows outside a mask.
func FuzzBuildArgs(f *testing.F) {
	f.Add("NPM_TOKEN", "npm_abcdef", false)
	f.Add("DB_PASS", "it's \"quoted\"\nand two lines", false)
	f.Add("LICENSE", "ABCD-EFGH,IJ", true)
	f.Add("VERSION", "1.2.3", false)
	f.Fuzz(func(t *testing.T, name, value string, marked bool) {
		if name == "" || strings.ContainsAny(name, "= \t") {
			return
		}
		var m []string
		if marked {
			m = []string{strings.ToLower(name)}
		}
		r := New()
		r.AddBuildArgs(map[string]string{name: value}, m...)
		if !LooksSecret(name) && !marked || len(value) < minSecretLen {
			return
		}
		arg := name + "=" + value
		j, _ := json.Marshal(map[string]string{name: value})
		for _, line := range []string{
			arg,
			engine.Quote("docker buildx", []string{"build", "--build-arg", arg, "."}),
			fmt.Sprintf("%q", arg),
			string(j),
		} {
			// the value may be spelled by the rest of the line (value
			// "buil", or "=" plus a name): no leak
			if segmentsContain(strings.ReplaceAll(line, value, Mask), value) {
				continue
			}
			if got := r.String(line); segmentsContain(got, value) {
				t.Fatalf("value of %s printed: %q", name, got)
			}
		}
	})
}

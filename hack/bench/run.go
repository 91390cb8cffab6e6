package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// cmd is one process the harness starts and times.
type cmd struct {
	Prog    string
	Args    []string
	Dir     string
	Env     []string // complete environment
	Timeout time.Duration
}

// result is how one process ended and how long it took, from Start to the
// end of Wait (the wall time a user waits for).
type result struct {
	Dur    time.Duration
	Stdout []byte
	Stderr []byte
	Code   int
	Err    error
}

func (r result) ok() bool { return r.Err == nil && r.Code == 0 }

// tail is the end of the process's stderr (then stdout), for error notes.
func (r result) tail() string {
	s := strings.TrimSpace(string(r.Stderr))
	if s == "" {
		s = strings.TrimSpace(string(r.Stdout))
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	out := strings.Join(lines, " | ")
	if r.Err != nil {
		out = r.Err.Error() + ": " + out
	}
	return out
}

// run starts c, bounded by its timeout, and times it.
func run(ctx context.Context, c cmd) result {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	x := exec.CommandContext(ctx, c.Prog, c.Args...)
	x.Dir = c.Dir
	x.Env = c.Env
	x.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	start := time.Now()
	err := x.Start()
	if err == nil {
		err = x.Wait()
	}
	r := result{Dur: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.Code = ee.ExitCode()
	case err != nil:
		r.Code = -1
		r.Err = err
		if ctx.Err() != nil {
			r.Err = fmt.Errorf("%w (bounded at %s)", ctx.Err(), c.Timeout)
		}
	}
	return r
}

// environment returns the harness's environment without the variables that
// would make xbuild and buildx differ from run to run or from each other
// (proxies become xbuild build args; XBUILD_* and DOCKER_* point elsewhere),
// plus set.
func environment(set map[string]string) []string {
	drop := func(k string) bool {
		u := strings.ToUpper(k)
		switch {
		case strings.HasPrefix(u, "XBUILD_"), strings.HasPrefix(u, "DOCKER_"), strings.HasPrefix(u, "BUILDX_"),
			strings.HasPrefix(u, "HADOLINT_"), strings.HasPrefix(u, "BUILDKIT_"):
			return true
		case slices.Contains([]string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "FTP_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"}, u):
			return true
		}
		return false
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop(k) {
			if _, over := set[k]; !over {
				env = append(env, kv)
			}
		}
	}
	for _, k := range sortedKeys(set) {
		env = append(env, k+"="+set[k])
	}
	return env
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- statistics ----------------------------------------------------------

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rotate returns xs rotated left by i: repetition i runs the variants in a
// different order, so a slow drift of the machine is spread over all of them.
func rotate[T any](xs []T, i int) []T {
	if len(xs) == 0 {
		return xs
	}
	i %= len(xs)
	return append(slices.Clone(xs[i:]), xs[:i]...)
}

// ---- command log ---------------------------------------------------------

// recorder keeps the distinct command lines a section ran, for the report:
// temporary directories are named by variable, secrets are masked.
type recorder struct {
	subst   []string // old, new pairs for strings.NewReplacer
	secrets []string
	cmds    []string
	seen    map[string]bool
}

func (h *harness) newRecorder() *recorder {
	return &recorder{subst: slices.Clone(h.subst), secrets: h.secrets, seen: map[string]bool{}}
}

func (r *recorder) clean(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "****")
		}
	}
	return strings.NewReplacer(r.subst...).Replace(s)
}

// add records a command line once, with the directory it ran in and the
// variables that matter.
func (r *recorder) add(c cmd, note string) {
	if r == nil {
		return
	}
	var b strings.Builder
	dir := r.clean(c.Dir)
	if dir == "." {
		dir = "" // the repository root, where make bench runs
	}
	if dir != "" {
		fmt.Fprintf(&b, "(cd %s && ", dir)
	}
	b.WriteString(quote(c.Prog, c.Args))
	if dir != "" {
		b.WriteString(")")
	}
	if note != "" {
		b.WriteString("   # " + note)
	}
	line := r.clean(b.String())
	if !r.seen[line] {
		r.seen[line] = true
		r.cmds = append(r.cmds, line)
	}
}

// quote is the command line as xbuild --debug prints it (engine.Quote),
// with the program's directory dropped for xbuild and buildx.
func quote(prog string, args []string) string {
	if base := filepath.Base(prog); base == "xbuild" || base == "buildx" || !strings.Contains(prog, "/") {
		prog = base
	}
	return engine.Quote(prog, args)
}

// splitQuoted splits a command line printed by xbuild --debug: words
// separated by spaces, single-quoted where needed, a quote inside quotes
// closed, backslash-escaped and reopened, as a shell does.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, inQuote := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\'' {
				inQuote = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			inQuote, inWord = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

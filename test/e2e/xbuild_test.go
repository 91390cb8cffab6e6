//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// defaultRunTimeout bounds one xbuild invocation (also capped by go test -timeout).
	defaultRunTimeout = 10 * time.Minute
	// killGrace is how long xbuild gets between SIGTERM and SIGKILL; buildx may take ~60 s to give up.
	killGrace = 90 * time.Second
)

// testEnv is the private state of one test: every xbuild run of that test shares it.
type testEnv struct {
	Home         string // HOME
	ConfigDir    string // XBUILD_CONFIG_DIR (node registry etc.)
	DockerConfig string // DOCKER_CONFIG: a copy of the farm's docker config dir (push registry credentials)
}

var envs sync.Map // *testing.T -> *testEnv

// shareEnv makes a subtest use its parent's environment (nodes registered
// by the parent stay visible).
func shareEnv(child, parent *testing.T) {
	envs.Store(child, envFor(parent))
	child.Cleanup(func() { envs.Delete(child) })
}

// envFor returns the test's environment, creating it on first use; it is removed when the test ends.
// Call it once before starting goroutines that run xbuild for the same test.
func envFor(t *testing.T) *testEnv {
	t.Helper()
	if e, ok := envs.Load(t); ok {
		return e.(*testEnv)
	}
	root := t.TempDir()
	e := &testEnv{
		Home:         filepath.Join(root, "home"),
		ConfigDir:    filepath.Join(root, "xbuild-config"),
		DockerConfig: filepath.Join(root, "docker-config"),
	}
	for _, d := range []string{e.Home, e.ConfigDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyDir(farm.DockerConfigDir, e.DockerConfig); err != nil {
		t.Fatalf("copying the farm's docker config dir: %v", err)
	}
	envs.Store(t, e)
	t.Cleanup(func() { envs.Delete(t) })
	return e
}

// baseEnv is the environment every xbuild run starts from: nothing of the caller's XBUILD_*, DOCKER_*
// or BUILDX_* settings leaks in.
func (e *testEnv) baseEnv() map[string]string {
	env := map[string]string{
		"PATH":              os.Getenv("PATH"),
		"HOME":              e.Home,
		"XBUILD_CONFIG_DIR": e.ConfigDir,
		"DOCKER_CONFIG":     e.DockerConfig,
		"SSL_CERT_FILE":     farm.CABundle,
		"LANG":              "C.UTF-8",
		"TERM":              "dumb",
		"NO_COLOR":          "1",
	}
	if v := os.Getenv("TMPDIR"); v != "" {
		env["TMPDIR"] = v
	}
	return env
}

// runXbuild runs the xbuild binary under test with the test's environment plus env (which overrides it;
// an empty value removes a variable). It returns stdout, stderr and the exit code; a run that exceeds its
// time limit fails the test.
func runXbuild(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runXbuildTimeout(t, defaultRunTimeout, env, args...)
}

// runXbuildTimeout is runXbuild with an explicit time limit.
func runXbuildTimeout(t *testing.T, limit time.Duration, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	e := envFor(t)
	vars := e.baseEnv()
	for k, v := range env {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	// stay inside go test's own deadline, leaving time to report
	if dl, ok := t.Deadline(); ok {
		if left := time.Until(dl) - killGrace - 10*time.Second; left < limit {
			limit = left
		}
	}
	if limit <= 0 {
		t.Fatalf("no time left for xbuild %s", strings.Join(args, " "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	cmd := exec.CommandContext(ctx, xbuildBin, args...)
	cmd.Dir = e.Home
	cmd.Env = envList(vars)
	var outb, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = killGrace

	start := time.Now()
	err := cmd.Run()
	stdout, stderr = outb.String(), errb.String()
	t.Logf("xbuild %s  (exit %d, %s)", strings.Join(args, " "), exitCode(err), time.Since(start).Round(time.Millisecond))
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("xbuild %s: still running after %s; stopped.\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), limit, tail(stdout, 40), tail(stderr, 40))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("xbuild %s: %v", strings.Join(args, " "), err)
	}
	return stdout, stderr, exitCode(err)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// copyDir copies a small directory tree (regular files and directories), keeping permissions.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		default:
			return nil
		}
	})
}

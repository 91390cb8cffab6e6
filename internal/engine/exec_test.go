package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// script writes an executable shell script standing in for docker/xbuild.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExecRunsWithPrefixAndStreams(t *testing.T) {
	e := &Exec{Program: script(t, `echo "args: $*"; echo oops >&2; exit 0`), Prefix: []string{"buildx"}, Grace: time.Second}
	var out, errOut strings.Builder
	if err := e.Run(context.Background(), Invocation{Args: []string{"ls", "--format", "json"}, Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "args: buildx ls --format json\n" || errOut.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestExecExitStatus(t *testing.T) {
	e := &Exec{Program: script(t, "exit 3"), Prefix: []string{"buildx"}, Grace: time.Second}
	err := e.Run(context.Background(), Invocation{Args: []string{"build", "."}})
	if err == nil || err.Error() != "fake buildx build exited with status 3" {
		t.Errorf("err = %v", err)
	}
}

// A child that ignores SIGTERM (buildx blocked on a cut-off node) is
// killed after Grace, and Run returns the context's cause at once then.
func TestExecKillsAStuckChild(t *testing.T) {
	e := &Exec{Program: script(t, `trap '' TERM; sleep 30 & wait; sleep 30`), Grace: 300 * time.Millisecond}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("node arm1 was lost")
	time.AfterFunc(200*time.Millisecond, func() { cancel(cause) })
	start := time.Now()
	err := e.Run(ctx, Invocation{Args: []string{"build"}})
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want the cancel cause", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run returned after %s; the child was not killed", took)
	}
}

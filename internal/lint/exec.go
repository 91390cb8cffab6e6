package lint

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
)

// CommandRunner runs an external program; it is the seam to hadolint, so
// tests can fake it.
//
// Run returns the program's output and exit code. err is non-nil only when
// the program could not be run to completion at all (it could not start, or
// ctx ended); a program that runs and exits non-zero returns its exit code
// and a nil error. Run may be called concurrently (the version query and
// the lint run at the same time).
type CommandRunner interface {
	Run(ctx context.Context, name string, args []string, dir string) (stdout, stderr []byte, exitCode int, err error)
}

// ExecRunner is the CommandRunner that starts real processes with os/exec.
type ExecRunner struct {
	// Env holds NAME=value pairs added to the inherited environment.
	Env []string
}

// Run starts name with args in dir and waits for it.
func (r ExecRunner) Run(ctx context.Context, name string, args []string, dir string) ([]byte, []byte, int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if len(r.Env) > 0 {
		cmd.Env = append(os.Environ(), r.Env...)
	}
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), stderr.Bytes(), -1, ctx.Err()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return stdout.Bytes(), stderr.Bytes(), exitErr.ExitCode(), nil
	}
	if err != nil {
		return stdout.Bytes(), stderr.Bytes(), -1, err
	}
	return stdout.Bytes(), stderr.Bytes(), 0, nil
}

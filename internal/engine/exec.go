package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Exec runs buildx argument lists in a child process: an external `docker
// buildx` (config engine: docker-cli), or xbuild's own binary through its
// hidden `buildx` command, which runs the embedded buildx (see NewSelf).
// A child process is what makes builds concurrent (the in-process runner
// serialises runs: buildx writes to process-wide streams) and killable: a
// node cut off mid-build can keep buildx blocked for minutes after it is
// cancelled; a child gets SIGTERM, then SIGKILL after Grace.
type Exec struct {
	// Program is the executable; Prefix comes before the buildx arguments
	// (["buildx"] for both docker and xbuild).
	Program string
	Prefix  []string
	// Grace is how long a cancelled command gets between SIGTERM and SIGKILL
	// (xbuild's own child: 1 s, so Ctrl-C ends a build within a second or two).
	Grace time.Duration
	// Label names the runner in messages.
	Label string
}

// NewDockerCLI finds docker on PATH (or uses path): the runner for engine
// docker-cli, for teams that must use their own buildx build.
func NewDockerCLI(path string) (*Exec, error) {
	if path == "" {
		p, err := exec.LookPath("docker")
		if err != nil {
			return nil, errors.New("engine docker-cli needs the docker CLI with the buildx plugin on PATH; install them or set engine: embedded")
		}
		path = p
	}
	return &Exec{Program: path, Prefix: []string{"buildx"}, Grace: 10 * time.Second, Label: path + " buildx"}, nil
}

// NewSelf returns the runner that starts this xbuild binary's hidden
// `buildx` command: the embedded buildx, in a child process.
func NewSelf() (*Exec, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding xbuild's own binary to run buildx in a child process: %w", err)
	}
	return &Exec{Program: exe, Prefix: []string{"buildx"}, Grace: time.Second, Label: NewEmbedded().Name()}, nil
}

// Name implements Runner.
func (d *Exec) Name() string { return d.Label }

// Run implements Runner.
func (d *Exec) Run(ctx context.Context, inv Invocation) error {
	c := exec.CommandContext(ctx, d.Program, append(append([]string{}, d.Prefix...), inv.Args...)...)
	c.Stdout = orDiscard(inv.Stdout)
	c.Stderr = orDiscard(inv.Stderr)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = d.Grace
	err := c.Run()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	sub := strings.Join(d.Prefix, " ")
	if len(inv.Args) > 0 {
		sub += " " + inv.Args[0]
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s %s exited with status %d", baseName(d.Program), sub, ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("running %s %s: %w", d.Program, sub, err)
	}
	return nil
}

func baseName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DockerCLI runs the same argument lists through an external `docker buildx`,
// for teams that must use their own buildx build (config engine: docker-cli).
type DockerCLI struct {
	// Docker is the docker binary.
	Docker string
	// Grace is how long a cancelled command gets between SIGTERM and SIGKILL.
	Grace time.Duration
}

// NewDockerCLI finds docker on PATH (or uses path) and checks that its buildx
// plugin answers.
func NewDockerCLI(path string) (*DockerCLI, error) {
	if path == "" {
		p, err := exec.LookPath("docker")
		if err != nil {
			return nil, errors.New("engine docker-cli needs the docker CLI with the buildx plugin on PATH; install them or set engine: embedded")
		}
		path = p
	}
	return &DockerCLI{Docker: path, Grace: 10 * time.Second}, nil
}

// Name implements Runner.
func (d *DockerCLI) Name() string { return d.Docker + " buildx" }

// Run implements Runner.
func (d *DockerCLI) Run(ctx context.Context, inv Invocation) error {
	c := exec.CommandContext(ctx, d.Docker, append([]string{"buildx"}, inv.Args...)...)
	c.Stdout = orDiscard(inv.Stdout)
	c.Stderr = orDiscard(inv.Stderr)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = d.Grace
	err := c.Run()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		sub := ""
		if len(inv.Args) > 0 {
			sub = " " + inv.Args[0]
		}
		return fmt.Errorf("docker buildx%s exited with status %d", sub, ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("running %s buildx %s: %w", d.Docker, strings.Join(inv.Args, " "), err)
	}
	return nil
}

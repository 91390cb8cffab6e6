package engine

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docker/buildx/commands"
	"github.com/docker/cli/cli/command"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	// buildx's drivers register themselves; these are the node kinds xbuild supports.
	_ "github.com/docker/buildx/driver/docker"
	_ "github.com/docker/buildx/driver/docker-container"
	_ "github.com/docker/buildx/driver/kubernetes"
	_ "github.com/docker/buildx/driver/remote"
	// buildx uses vtprotobuf's faster gRPC codec; register it as buildx's own main does.
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"

	"github.com/xbuild-dev/xbuild/internal/version"
)

// Embedded runs buildx's own command tree inside the xbuild process: no
// docker CLI or buildx plugin has to be installed, and the buildx version is
// the one xbuild was tested with.
type Embedded struct {
	// Grace is how long Run waits for buildx to unwind after ctx is done
	// before giving up on it. A node cut off mid-build can keep buildx blocked
	// for minutes after cancellation.
	Grace time.Duration

	// mu serialises runs: buildx writes progress to the process-wide os.Stderr
	// and logs through the global logrus logger, which Run redirects.
	mu sync.Mutex
}

// NewEmbedded returns the in-process runner.
func NewEmbedded() *Embedded { return &Embedded{Grace: 5 * time.Second} }

// Name implements Runner.
func (e *Embedded) Name() string { return "embedded buildx " + version.Get().Buildx }

// Run implements Runner.
func (e *Embedded) Run(ctx context.Context, inv Invocation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	stdout, stderr := &syncWriter{w: orDiscard(inv.Stdout)}, &syncWriter{w: orDiscard(inv.Stderr)}

	dockerCli, err := command.NewDockerCli(
		command.WithInputStream(io.NopCloser(strings.NewReader(""))),
		command.WithOutputStream(stdout),
		command.WithErrorStream(stderr),
	)
	if err != nil {
		return err
	}
	root := commands.NewRootCmd("buildx", false, dockerCli)
	// buildx's root swaps the command's context for a process-global one that
	// only reacts to signals; put ours back so cancellation (the stall
	// watchdog, Ctrl-C) reaches the running command.
	pre := root.PersistentPreRunE
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if pre != nil {
			if err := pre(c, args); err != nil {
				return err
			}
		}
		c.SetContext(ctx)
		return nil
	}
	root.SetArgs(inv.Args)
	root.SetIn(strings.NewReader(""))
	root.SetOut(stdout)
	root.SetErr(stderr)

	restore, err := redirectProcessOutput(stdout, stderr)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
			if err == nil {
				err = context.Cause(ctx)
			}
		case <-time.After(e.Grace):
			err = context.Cause(ctx)
		}
	}
	restore()
	return err
}

// redirectProcessOutput points os.Stdout, os.Stderr and logrus at out and
// errOut until the returned function is called. buildx prints build
// progress to os.Stderr and some results (create's builder name) with
// fmt.Print, bypassing the CLI's streams.
func redirectProcessOutput(out, errOut io.Writer) (func(), error) {
	restoreOut, err := redirectFile(&os.Stdout, out)
	if err != nil {
		return nil, err
	}
	restoreErr, err := redirectFile(&os.Stderr, errOut)
	if err != nil {
		restoreOut()
		return nil, err
	}
	origLog := logrus.StandardLogger().Out
	logrus.SetOutput(os.Stderr)
	return func() {
		logrus.SetOutput(origLog)
		restoreErr()
		restoreOut()
	}, nil
}

// redirectFile replaces *f with a pipe whose content is copied to w.
func redirectFile(f **os.File, w io.Writer) (func(), error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	orig := *f
	*f = pw
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(w, r)
		close(copied)
	}()
	return func() {
		*f = orig
		_ = pw.Close()
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
		_ = r.Close()
	}, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

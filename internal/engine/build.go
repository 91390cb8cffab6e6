package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/buildkit/util/progress/progressui"
)

// BuildOptions controls how Build runs and shows a build.
type BuildOptions struct {
	// Progress is auto, plain, tty or quiet.
	Progress string
	// Out receives the progress display and buildx's warnings (stderr).
	Out io.Writer
	// StallTimeout cancels the build when BuildKit reports nothing for this
	// long; 0 disables the watchdog.
	StallTimeout time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// BuildResult is what a finished build reports.
type BuildResult struct {
	// Digest is the pushed image (index) digest, when an image was exported.
	Digest string
	// Metadata is buildx's --metadata-file content.
	Metadata map[string]any
}

// StallError is returned when the watchdog stops a build that made no progress.
type StallError struct {
	Idle    time.Duration
	Running []string
}

func (e *StallError) Error() string {
	msg := fmt.Sprintf("the build made no progress for %s and was stopped", e.Idle.Round(time.Second))
	if len(e.Running) > 0 {
		msg += fmt.Sprintf(" (still running: %s)", strings.Join(e.Running, "; "))
	}
	return msg + ". A node may have been cut off (check: xbuild nodes check), or the exporter is stuck " +
		"(moby/buildkit#2950; switching --compression has helped others). Raise stall-timeout if a step is legitimately silent for longer."
}

// BuildError is a failed build with the last lines buildx printed.
type BuildError struct {
	Err  error
	Tail string
}

func (e *BuildError) Error() string {
	msg := e.Err.Error()
	if t := strings.TrimSpace(e.Tail); t != "" && !strings.Contains(t, msg) {
		msg += "\n" + t
	}
	return msg
}

func (e *BuildError) Unwrap() error { return e.Err }

// RunBuild runs one buildx build for spec with r. It always asks buildx for BuildKit's
// raw status stream and renders it itself, so the watchdog sees real events
// whatever display the user chose, and reads the result from buildx's
// metadata file.
func RunBuild(ctx context.Context, r Runner, spec BuildSpec, opts BuildOptions) (*BuildResult, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	tmp, err := os.MkdirTemp("", "xbuild-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	spec.MetadataFile = filepath.Join(tmp, "metadata.json")
	spec.Progress = string(progressui.RawJSONMode)

	mode := progressui.DisplayMode(opts.Progress)
	if opts.Progress == "" {
		mode = progressui.AutoMode
	}
	display, err := progressui.NewDisplay(out, mode, progressui.WithPhase("Building"))
	if err != nil {
		display, _ = progressui.NewDisplay(out, progressui.PlainMode)
	}

	pr := newProgressReader(out, now)
	pipeR, pipeW := io.Pipe()
	consumed := make(chan struct{})
	go func() { pr.consume(pipeR); close(consumed) }()
	displayed := make(chan struct{})
	go func() { _, _ = display.UpdateFrom(context.Background(), pr.Events); close(displayed) }()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := make(chan struct{})
	if opts.StallTimeout > 0 {
		go watch(runCtx, cancel, pr, opts.StallTimeout, stopWatch)
	}

	runErr := r.Run(runCtx, Invocation{Args: BuildArgs(spec), Stderr: pipeW})
	close(stopWatch)
	_ = pipeW.Close()
	waitBounded(consumed, 5*time.Second)
	waitBounded(displayed, 5*time.Second)

	var stall *StallError
	if cause := context.Cause(runCtx); errors.As(cause, &stall) {
		return nil, stall
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &BuildError{Err: runErr, Tail: pr.Tail()}
	}
	return readMetadata(spec.MetadataFile)
}

func watch(ctx context.Context, cancel context.CancelCauseFunc, pr *progressReader, limit time.Duration, stop <-chan struct{}) {
	tick := limit / 20
	if tick > time.Second {
		tick = time.Second
	}
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if idle, running := pr.idle(); idle >= limit {
				sort.Strings(running)
				cancel(&StallError{Idle: idle, Running: running})
				return
			}
		}
	}
}

func waitBounded(ch <-chan struct{}, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}

func readMetadata(path string) (*BuildResult, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &BuildResult{Metadata: map[string]any{}}, nil
	}
	if err != nil {
		return nil, err
	}
	res := &BuildResult{Metadata: map[string]any{}}
	if err := json.Unmarshal(data, &res.Metadata); err != nil {
		return nil, fmt.Errorf("buildx wrote an unreadable metadata file: %w", err)
	}
	if d, ok := res.Metadata["containerimage.digest"].(string); ok {
		res.Digest = d
	}
	return res, nil
}

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
	// Stdout receives what buildx prints on its standard output (the
	// result of --call check/outline/targets); nil discards it.
	Stdout io.Writer
	// StallTimeout is how long BuildKit may report nothing before the
	// watchdog looks at the build; 0 disables the watchdog.
	StallTimeout time.Duration
	// Alive is asked, when StallTimeout has passed without a status event,
	// whether the build still runs (its node answers and still has it
	// active): output silence alone is not a stall (an arm64 go build under
	// QEMU can print nothing for many minutes). true (with what was seen)
	// restarts the wait; false, or nil Alive, stops the build with a
	// StallError.
	Alive func(ctx context.Context) (bool, string)
	// Display, when set, shows this build among others (see Display), its
	// steps named after Label; Progress and Out are then unused.
	Display *Display
	Label   string
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
	tmp, err := os.MkdirTemp("", "xbuild-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	spec.MetadataFile = filepath.Join(tmp, "metadata.json")
	spec.Progress = string(progressui.RawJSONMode)
	if err := runWithProgress(ctx, r, BuildArgs(spec), opts); err != nil {
		return nil, err
	}
	md, err := readMetadata(spec.MetadataFile)
	if err != nil {
		return nil, err
	}
	return resultFrom(md), nil
}

// RunBake runs the specs as one `buildx bake` on builder (see BakeFile),
// with the same progress handling and watchdog as RunBuild, and returns each
// target's result. The definition file, which holds build arguments, is
// private to this call and removed after it.
func RunBake(ctx context.Context, r Runner, builder string, specs map[string]BuildSpec, allow []string, opts BuildOptions) (map[string]*BuildResult, error) {
	tmp, err := os.MkdirTemp("", "xbuild-bake-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	def, err := BakeFile(specs)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(tmp, "bake.json")
	if err := os.WriteFile(file, def, 0o600); err != nil {
		return nil, err
	}
	mdFile := filepath.Join(tmp, "metadata.json")
	if err := runWithProgress(ctx, r, BakeArgs(builder, file, mdFile, string(progressui.RawJSONMode), allow), opts); err != nil {
		return nil, err
	}
	md, err := readMetadata(mdFile)
	if err != nil {
		return nil, err
	}
	out := map[string]*BuildResult{}
	for name := range specs {
		t, _ := md[name].(map[string]any)
		if t == nil {
			return nil, fmt.Errorf("buildx bake reported no result for target %s", name)
		}
		out[name] = resultFrom(t)
	}
	return out, nil
}

// ImagetoolsCreate merges sources (repo@digest) into one index pushed under
// tags and returns its digest.
func ImagetoolsCreate(ctx context.Context, r Runner, tags, sources []string) (string, error) {
	tmp, err := os.MkdirTemp("", "xbuild-imagetools-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	mdFile := filepath.Join(tmp, "metadata.json")
	var stderr strings.Builder
	if err := r.Run(ctx, Invocation{Args: ImagetoolsCreateArgs(tags, sources, mdFile), Stderr: &stderr}); err != nil {
		return "", &BuildError{Err: fmt.Errorf("merging the manifest list: %w", err), Tail: stderr.String()}
	}
	md, err := readMetadata(mdFile)
	if err != nil {
		return "", err
	}
	if d, ok := md["containerimage.descriptor"].(map[string]any); ok {
		if dg, ok := d["digest"].(string); ok {
			return dg, nil
		}
	}
	return "", nil
}

// runWithProgress runs a buildx command that emits rawjson progress on
// stderr: it renders the display, feeds the watchdog and turns failures into
// StallError or BuildError.
func runWithProgress(ctx context.Context, r Runner, args []string, opts BuildOptions) error {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	display := opts.Display
	if display == nil {
		display = NewDisplay(opts.Out, opts.Progress)
		defer display.Close()
	}
	pr := newProgressReader(func(line string) { display.Text(opts.Label, line) }, now)
	pipeR, pipeW := io.Pipe()
	consumed := make(chan struct{})
	go func() { pr.consume(pipeR); close(consumed) }()
	forwarded := make(chan struct{})
	go func() {
		for ss := range pr.Events {
			display.send(opts.Label, ss)
		}
		close(forwarded)
	}()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := make(chan struct{})
	if opts.StallTimeout > 0 {
		go watch(runCtx, cancel, pr, opts, stopWatch, display)
	}

	runErr := r.Run(runCtx, Invocation{Args: args, Stdout: opts.Stdout, Stderr: pipeW})
	close(stopWatch)
	_ = pipeW.Close()
	waitBounded(consumed, 5*time.Second)
	waitBounded(forwarded, 5*time.Second)

	var stall *StallError
	if cause := context.Cause(runCtx); errors.As(cause, &stall) {
		return stall
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return &BuildError{Err: runErr, Tail: pr.Tail()}
	}
	return nil
}

// watch is the stall watchdog: when no status event has come for
// StallTimeout, it asks opts.Alive whether the build still runs; only a
// build that is silent AND not alive (or that nobody can vouch for) is
// stopped.
func watch(ctx context.Context, cancel context.CancelCauseFunc, pr *progressReader, opts BuildOptions, stop <-chan struct{}, d *Display) {
	limit := opts.StallTimeout
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
			idle, running := pr.idle()
			if idle < limit {
				continue
			}
			if opts.Alive != nil {
				if alive, seen := opts.Alive(ctx); alive {
					pr.touch()
					d.Text(opts.Label, fmt.Sprintf("no build output for %s, but the build is alive (%s): waiting", idle.Round(time.Second), seen))
					continue
				}
			}
			sort.Strings(running)
			cancel(&StallError{Idle: idle, Running: running})
			return
		}
	}
}

func waitBounded(ch <-chan struct{}, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}

func readMetadata(path string) (map[string]any, error) {
	md := map[string]any{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return md, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &md); err != nil {
		return nil, fmt.Errorf("buildx wrote an unreadable metadata file: %w", err)
	}
	return md, nil
}

func resultFrom(md map[string]any) *BuildResult {
	res := &BuildResult{Metadata: md}
	if d, ok := md["containerimage.digest"].(string); ok {
		res.Digest = d
	}
	return res
}

package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/redact"
)

// tracingEngine prints every buildx command (secrets masked) and how long it
// took, for --debug. buildx's own diagnostics, normally kept for error
// messages, are shown as they arrive.
type tracingEngine struct {
	engine.Engine
	w       io.Writer
	secrets *redact.Redactor
	now     func() time.Time
}

// traced wraps e when --debug is on.
func (f *Factory) traced(e engine.Engine, secrets *redact.Redactor) engine.Engine {
	if !f.Debug {
		return e
	}
	if secrets == nil {
		secrets = redact.New()
	}
	now := f.Now
	if now == nil {
		now = time.Now
	}
	// health checks probe concurrently: one line at a time
	return &tracingEngine{Engine: e, w: &lockedWriter{w: f.IO.ErrOut}, secrets: secrets, now: now}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (t *tracingEngine) trace(args []string) func(error) {
	fmt.Fprintf(t.w, "debug: %s (%s)\n", t.secrets.String(engine.Quote("buildx", args)), t.Engine.Describe())
	start := t.now()
	return func(err error) {
		status := "ok"
		if err != nil {
			status = t.secrets.String(err.Error())
		}
		fmt.Fprintf(t.w, "debug: buildx %s: %s in %s\n", firstWord(args), status, t.now().Sub(start).Round(time.Millisecond))
	}
}

func (t *tracingEngine) Buildx(ctx context.Context, inv engine.Invocation) error {
	done := t.trace(inv.Args)
	out := t.secrets.Writer(t.w)
	inv.Stderr = teeWriter(inv.Stderr, out)
	err := t.Engine.Buildx(ctx, inv)
	_ = out.Close()
	done(err)
	return err
}

func (t *tracingEngine) Build(ctx context.Context, spec engine.BuildSpec, opts engine.BuildOptions) (*engine.BuildResult, error) {
	done := t.trace(engine.BuildArgs(spec))
	res, err := t.Engine.Build(ctx, spec, opts)
	done(err)
	return res, err
}

func (t *tracingEngine) Bake(ctx context.Context, builder string, specs map[string]engine.BuildSpec, allow []string, opts engine.BuildOptions) (map[string]*engine.BuildResult, error) {
	done := t.trace([]string{"bake", "--builder", builder, fmt.Sprintf("(%d targets)", len(specs))})
	res, err := t.Engine.Bake(ctx, builder, specs, allow, opts)
	done(err)
	return res, err
}

func (t *tracingEngine) ImagetoolsCreate(ctx context.Context, tags, sources []string) (string, error) {
	done := t.trace(engine.ImagetoolsCreateArgs(tags, sources, ""))
	d, err := t.Engine.ImagetoolsCreate(ctx, tags, sources)
	done(err)
	return d, err
}

func (t *tracingEngine) Probe(ctx context.Context, pt engine.ProbeTarget) (*engine.ProbeResult, error) {
	start := t.now()
	res, err := t.Engine.Probe(ctx, pt)
	fmt.Fprintf(t.w, "debug: probe %s (%s): %v in %s\n", pt.Endpoint, pt.Kind, errOrOK(err), t.now().Sub(start).Round(time.Millisecond))
	return res, err
}

func (t *tracingEngine) ReadBuilder(name string) (*engine.StoredBuilder, error) {
	b, err := t.Engine.ReadBuilder(name)
	what := "not there"
	switch {
	case err != nil:
		what = errOrOK(err)
	case b != nil:
		what = fmt.Sprintf("%d node(s)", len(b.Nodes))
	}
	fmt.Fprintf(t.w, "debug: buildx builder %s in %s: %s\n", name, engine.BuildxConfigDir(), what)
	return b, err
}

func teeWriter(a, b io.Writer) io.Writer {
	if a == nil {
		return b
	}
	return io.MultiWriter(a, b)
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}

package pipeline

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/nodes"
)

// cancellingRegistry is the fake registry with a Ctrl-C arriving during
// one of its calls: the call cancels the run, then answers as a real
// client would (a read of a blob fails with the context's error; a tag
// write fails).
type cancellingRegistry struct {
	*fakeRegistry
	cancel func()
	// during is "verify" (the attestation's blob read) or "publish" (Tag)
	during string
}

func (r *cancellingRegistry) Blob(ctx context.Context, repo, digest string, limit int64) ([]byte, error) {
	if r.during == "verify" {
		r.cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return r.fakeRegistry.Blob(ctx, repo, digest, limit)
}

func (r *cancellingRegistry) Tag(ctx context.Context, repo, digest string, tags []string) error {
	if r.during == "publish" {
		r.cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	return r.fakeRegistry.Tag(ctx, repo, digest, tags)
}

// Ctrl-C in any step stops the pipeline with one Interrupted error that
// names the step and what the registry was left with; the report step
// prints nothing (no table, no JSON, no metadata file) and no tag is
// written.
func TestPipelineInterruptedInEveryStep(t *testing.T) {
	const untouched = "no tag was created or moved"
	tests := []struct {
		step string
		// arm makes the step's dependency cancel the run while it works
		arm  func(h *harness, reg *cancellingRegistry, cancel func())
		want string
	}{
		{"lint", func(h *harness, _ *cancellingRegistry, cancel func()) {
			h.state.Lint = func(ctx context.Context, _ lint.Options) (*lint.Result, error) {
				cancel()
				<-ctx.Done()
				return nil, ctx.Err()
			}
		}, "interrupted in the lint step: " + untouched},
		{"plan", func(h *harness, _ *cancellingRegistry, cancel func()) {
			h.state.Checker = &nodes.Checker{Prober: h.eng, Timeout: time.Minute,
				Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
					cancel()
					<-ctx.Done()
					return nil, ctx.Err()
				}}
		}, "interrupted in the plan step: " + untouched},
		{"build", func(h *harness, _ *cancellingRegistry, cancel func()) {
			h.eng.onBuild = func(ctx context.Context, _ engine.BuildSpec) error {
				cancel()
				<-ctx.Done()
				return context.Cause(ctx)
			}
		}, "interrupted in the build step: " + untouched},
		{"verify", func(_ *harness, reg *cancellingRegistry, _ func()) { reg.during = "verify" },
			"interrupted in the verify step: " + untouched},
		{"publish", func(_ *harness, reg *cancellingRegistry, _ func()) { reg.during = "publish" },
			"interrupted in the publish step: some of the tags (registry.example.com/team/app:1.0) may already point at registry.example.com/team/app@" + indexDigest + "; run the same command again to write them all"},
	}
	for _, tc := range tests {
		t.Run(tc.step, func(t *testing.T) {
			cfg := pushConfig()
			cfg.Report = "json"
			cfg.MetadataFile = filepath.Join(t.TempDir(), "metadata.json")
			h := newHarness(t, cfg)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			interrupt := func() { cancel(errors.New("interrupt signal received")) }
			reg := &cancellingRegistry{fakeRegistry: pushedRegistry("gzip"), cancel: interrupt}
			h.state.Registry = reg
			tc.arm(h, reg, interrupt)

			err := Run(ctx, h.state, Steps())
			var intr *Interrupted
			if !errors.As(err, &intr) || intr.Step != tc.step {
				t.Fatalf("Run: %v (%T), want an Interrupted in step %s\nstderr:\n%s", err, err, tc.step, h.err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n  %s\nwant\n  %s", err, tc.want)
			}
			if h.out.Len() != 0 {
				t.Errorf("stdout after Ctrl-C: %q, want nothing (no report)", h.out)
			}
			for _, s := range []string{"NOT published", "PLATFORM", "Steps:", "failed", "context canceled"} {
				if strings.Contains(h.err.String(), s) {
					t.Errorf("stderr has %q after Ctrl-C (a report or a failure):\n%s", s, h.err)
				}
			}
			if _, err := os.Stat(cfg.MetadataFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("--metadata-file after Ctrl-C: %v, want none written", err)
			}
			if len(reg.tags) != 0 {
				t.Errorf("tags written: %v", reg.tags)
			}
		})
	}
}

// Verify (xbuild verify REF) interrupted while it reads the image returns
// the interruption, not a report whose checks failed on the cancelled
// reads (that report would be printed as a verdict).
func TestVerifyInterruptedIsNoVerdict(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := &cancellingRegistry{fakeRegistry: pushedRegistry("gzip"), cancel: cancel, during: "verify"}
	rep, err := Verify(ctx, reg, "registry.example.com/team/app@"+indexDigest, VerifyRequest{})
	if rep != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify after Ctrl-C: report %+v, error %v; want no report and context.Canceled", rep, err)
	}
}

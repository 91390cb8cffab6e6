// Package pipeline runs `xbuild build` as a sequence of small steps
// (lint -> plan -> build -> verify -> report), each timed, logged and named
// in its errors, sharing one State.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Step is one stage of the pipeline.
type Step interface {
	// Name is the short id used in errors and reports: lint, plan, build, ...
	Name() string
	// String is the phrase logged when the step starts: "linting Dockerfile".
	String() string
	// Run does the work, reading and filling State.
	Run(ctx context.Context, s *State) error
}

// Skipper is a Step that can decide not to run.
type Skipper interface {
	// Skip returns true and a reason when the step should not run.
	Skip(s *State) (bool, string)
}

// Finally is a Step that runs even after an earlier step failed (the
// report: what was built, what failed and why). State.Failed holds the
// error then.
type Finally interface {
	Finally() bool
}

// ErrStop ends the pipeline early without an error (--dry-run).
var ErrStop = errors.New("pipeline stopped")

// StepError is a step's failure, named by the step.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Timing is how long a step took.
type Timing struct {
	Step     string        `json:"step"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Skipped  string        `json:"skipped,omitempty"`
}

// Run runs steps in order. Each step is logged, timed and, when it fails,
// its error is wrapped with its name; later steps do not run, except the
// Finally ones. Run returns the first failure. Ctrl-C (ctx cancelled)
// stops the pipeline with an *Interrupted error and nothing more is
// printed: the Finally steps do not run either.
func Run(ctx context.Context, s *State, steps []Step) error {
	defer func() { s.Claims.Close() }()
	defer s.stopPrefetch()
	if err := registerSecrets(s); err != nil {
		return err
	}
	var failed error
	for _, st := range steps {
		if failed != nil {
			if f, ok := st.(Finally); !ok || !f.Finally() {
				continue
			}
		} else if ctx.Err() != nil {
			return s.interrupted(ctx, st, context.Cause(ctx))
		}
		if sk, ok := st.(Skipper); ok {
			if skip, why := sk.Skip(s); skip {
				if failed == nil {
					s.Log.Skipped(st.String(), why)
				}
				s.Timings = append(s.Timings, Timing{Step: st.Name(), Skipped: why})
				continue
			}
		}
		if failed == nil {
			s.Log.Start(st.String())
		}
		start := s.now()
		err := st.Run(ctx, s)
		d := s.now().Sub(start)
		s.Timings = append(s.Timings, Timing{Step: st.Name(), Duration: d, Seconds: roundSeconds(d)})
		if errors.Is(err, ErrStop) {
			return nil
		}
		if failed != nil {
			continue // a Finally step's own failure does not hide the first one
		}
		if err != nil && ctx.Err() != nil {
			s.stopPrefetch()
			return s.interrupted(ctx, st, err)
		}
		if err != nil {
			s.stopPrefetch() // a failed lint: its overlapped node checks are not needed
			failed = wrapStep(ctx, st, err)
			s.Failed = failed
			continue
		}
		s.Log.Done(st.String(), d)
	}
	return failed
}

// wrapStep names the failing step in its error.
func wrapStep(ctx context.Context, st Step, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	var se *StepError
	if errors.As(err, &se) {
		return err // already names its step
	}
	return &StepError{Step: st.Name(), Err: err}
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// Logger prints step progress lines to stderr.
type Logger interface {
	Start(step string)
	Done(step string, d time.Duration)
	Skipped(step, why string)
	Warn(format string, a ...any)
	Info(format string, a ...any)
}

// TextLogger is the Logger used on the command line. The platforms of a
// build log from several goroutines: each line is written whole.
type TextLogger struct {
	W     interface{ Write([]byte) (int, error) }
	Quiet bool
	// Prefix starts every line ("[api] " for one of several images).
	Prefix string
	mu     sync.Mutex
}

func (l *TextLogger) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.W, l.Prefix+format, a...)
}

// Start implements Logger.
func (l *TextLogger) Start(step string) {
	if !l.Quiet {
		l.printf("• %s\n", step)
	}
}

// Done implements Logger. Step times are in the report, so only slow
// steps say when they end.
func (l *TextLogger) Done(step string, d time.Duration) {
	if !l.Quiet && d >= 5*time.Second {
		l.printf("  %s: done in %.1fs\n", step, d.Seconds())
	}
}

// Skipped implements Logger.
func (l *TextLogger) Skipped(step, why string) {
	if !l.Quiet {
		l.printf("• %s: skipped (%s)\n", step, why)
	}
}

// Warn implements Logger; warnings print even when quiet.
func (l *TextLogger) Warn(format string, a ...any) {
	l.printf("WARNING: "+format+"\n", a...)
}

// Info implements Logger.
func (l *TextLogger) Info(format string, a ...any) {
	if !l.Quiet {
		l.printf("  "+format+"\n", a...)
	}
}

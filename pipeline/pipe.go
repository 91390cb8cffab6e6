// Package pipeline runs `xbuild build` as a sequence of small steps
// (lint -> plan -> build -> verify -> report), each timed, logged and named
// in its errors, sharing one State.
package pipeline

import (
	"context"
	"errors"
	"fmt"
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
// its error is wrapped with its name; later steps do not run.
func Run(ctx context.Context, s *State, steps []Step) error {
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if sk, ok := st.(Skipper); ok {
			if skip, why := sk.Skip(s); skip {
				s.Log.Skipped(st.String(), why)
				s.Timings = append(s.Timings, Timing{Step: st.Name(), Skipped: why})
				continue
			}
		}
		s.Log.Start(st.String())
		start := s.now()
		err := st.Run(ctx, s)
		d := s.now().Sub(start)
		s.Timings = append(s.Timings, Timing{Step: st.Name(), Duration: d, Seconds: roundSeconds(d)})
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				return err
			}
			var se *StepError
			if errors.As(err, &se) {
				return err // already names its step (report fails for verify)
			}
			return &StepError{Step: st.Name(), Err: err}
		}
		s.Log.Done(st.String(), d)
	}
	return nil
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

// TextLogger is the Logger used on the command line.
type TextLogger struct {
	W     interface{ Write([]byte) (int, error) }
	Quiet bool
}

// Start implements Logger.
func (l *TextLogger) Start(step string) {
	if !l.Quiet {
		fmt.Fprintf(l.W, "• %s\n", step)
	}
}

// Done implements Logger. Step times are in the report, so only slow
// steps say when they end.
func (l *TextLogger) Done(step string, d time.Duration) {
	if !l.Quiet && d >= 5*time.Second {
		fmt.Fprintf(l.W, "  %s: done in %.1fs\n", step, d.Seconds())
	}
}

// Skipped implements Logger.
func (l *TextLogger) Skipped(step, why string) {
	if !l.Quiet {
		fmt.Fprintf(l.W, "• %s: skipped (%s)\n", step, why)
	}
}

// Warn implements Logger; warnings print even when quiet.
func (l *TextLogger) Warn(format string, a ...any) {
	fmt.Fprintf(l.W, "WARNING: "+format+"\n", a...)
}

// Info implements Logger.
func (l *TextLogger) Info(format string, a ...any) {
	if !l.Quiet {
		fmt.Fprintf(l.W, "  "+format+"\n", a...)
	}
}

package pipeline

import (
	"context"
	"fmt"
	"strings"
)

// Interrupted is the error of a pipeline stopped by Ctrl-C (its context
// cancelled): the step that was running and what the registry was left
// with. Nothing else is printed after an interrupt: the report step does
// not run.
type Interrupted struct {
	// Step is the name of the step that was running (or about to run).
	Step string
	// Left says what the registry holds now; "" when the build pushes
	// nothing.
	Left string
	// Err is the step's own error (the context's cause, often).
	Err error
}

func (e *Interrupted) Error() string {
	msg := "interrupted in the " + e.Step + " step"
	if e.Left != "" {
		msg += ": " + e.Left
	}
	return msg
}

func (e *Interrupted) Unwrap() error { return e.Err }

// interrupted is the error for a run interrupted in step st: what the
// registry holds depends on how far the run got. Tags are written only by
// the publish step, so before it none was created or moved.
func (s *State) interrupted(ctx context.Context, st Step, err error) error {
	e := &Interrupted{Step: st.Name(), Err: err}
	if err == nil {
		e.Err = context.Cause(ctx)
	}
	switch {
	case !s.Config.Push || len(s.Options.Outputs) > 0:
	case len(s.Tagged) > 0:
		e.Left = "tagged " + strings.Join(s.Tagged, ", ")
	case st.Name() == (PublishStep{}).Name() && s.Build != nil:
		e.Left = fmt.Sprintf("some of the tags (%s) may already point at %s@%s; run the same command again to write them all",
			strings.Join(s.Config.Refs(), ", "), s.repo, s.Build.Digest)
	default:
		e.Left = "no tag was created or moved"
	}
	return e
}

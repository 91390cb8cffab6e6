// Package cmd is xbuild's cobra command tree. Each verb lives in its own file
// as a constructor, an options struct and a run function; Main turns errors
// into one message and one exit code.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/pipeline"
)

// Exit codes, the same for every command.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// Main runs xbuild with args and returns the process exit code. Errors are
// printed here, once, to the error stream.
func Main(ctx context.Context, args []string, io *iostreams.IOStreams, getenv func(string) string) int {
	f := NewFactory(io, getenv)
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	err := root.ExecuteContext(ctx)
	return handleError(io, err, ctx)
}

func handleError(io *iostreams.IOStreams, err error, ctx context.Context) int {
	if err == nil {
		return ExitOK
	}
	// Ctrl-C first: whatever a command made of its cancelled work (a
	// failed check, say) is no verdict
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		var intr *pipeline.Interrupted
		if errors.As(err, &intr) {
			fmt.Fprintf(io.ErrOut, "xbuild: %v\n", intr)
		} else {
			fmt.Fprintln(io.ErrOut, "xbuild: interrupted")
		}
		return ExitInterrupted
	}
	var silent *SilentError
	if errors.As(err, &silent) {
		return silent.Code
	}
	var usage *UsageError
	if errors.As(err, &usage) || isCobraUsageError(err) {
		fmt.Fprintf(io.ErrOut, "Error: %v\n", err)
		fmt.Fprintln(io.ErrOut, "Run 'xbuild --help' or 'xbuild COMMAND --help' for usage.")
		return ExitUsage
	}
	fmt.Fprintf(io.ErrOut, "Error: %v\n", err)
	return ExitFailure
}

// UsageError is a mistake in how xbuild was called (flags, arguments): it
// exits 2 and points at --help.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf builds a UsageError.
func usageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// SilentError ends the command with Code after the command has already told
// the user what happened (nodes check printing an unhealthy node, say).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// isCobraUsageError recognises the argument errors cobra produces itself.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag(s)", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

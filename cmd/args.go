package cmd

import (
	"github.com/spf13/cobra"
)

// noArgs refuses positional arguments with a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%q takes no arguments, got %q", c.CommandPath(), args[0])
	}
	return nil
}

// exactArgs requires n positional arguments, naming them in the error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%q needs %s (got %d argument(s))", c.CommandPath(), names, len(args))
		}
		return nil
	}
}

// rangeArgs allows between lo and hi positional arguments.
func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageErrorf("%q takes %s (got %d argument(s))", c.CommandPath(), names, len(args))
		}
		return nil
	}
}

// minArgs requires at least n positional arguments.
func minArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%q needs %s", c.CommandPath(), names)
		}
		return nil
	}
}

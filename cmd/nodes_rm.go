package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesRmOptions struct {
	IO *iostreams.IOStreams
	// Registrar opens the node registrar for the configured engine.
	Registrar func() (*nodes.Registrar, error)

	names []string
}

// NewNodesRmCmd builds `xbuild nodes rm`.
func NewNodesRmCmd(f *Factory) *cobra.Command { return newNodesRmCmd(f, runNodesRm) }

// newNodesRmCmd builds the command with run as its run function.
func newNodesRmCmd(f *Factory, run func(context.Context, *nodesRmOptions) error) *cobra.Command {
	opts := &nodesRmOptions{IO: f.IO}
	c := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove nodes from the registry and from their buildx builder",
		Long: `Remove nodes. All names must exist, or nothing is removed. Each node leaves
its buildx builder (BuildKit's state on the node is kept).`,
		Example: "  xbuild nodes rm arm1\n  xbuild nodes rm amd1 arm1",
		Args:    minArgs(1, "at least one node NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.names = args
			lc, err := f.loadConfig(c.Flags(), nil)
			if err != nil {
				return err
			}
			if err := lc.Validate("engine"); err != nil {
				return err
			}
			opts.Registrar = func() (*nodes.Registrar, error) { return f.Registrar(lc.Engine) }
			return run(c.Context(), opts)
		},
	}
	return c
}

func runNodesRm(ctx context.Context, opts *nodesRmOptions) error {
	r, err := opts.Registrar()
	if err != nil {
		return err
	}
	res, err := r.Remove(ctx, nodes.RemoveRequest{Names: opts.names})
	if errors.Is(err, nodes.ErrInvalidRequest) {
		return &UsageError{Err: err}
	}
	if res != nil {
		for _, n := range res.Removed {
			fmt.Fprintf(opts.IO.ErrOut, "Removed node %s.\n", n.Name)
		}
		for _, b := range res.Builders {
			fmt.Fprintf(opts.IO.ErrOut, "buildx builder %s: %s\n", b.Builder, describeBuilder(b))
		}
	}
	return err
}

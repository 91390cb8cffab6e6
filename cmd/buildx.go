package cmd

import (
	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// NewBuildxCmd builds the hidden `xbuild buildx ARGS...`: the embedded
// buildx command tree, as `docker buildx ARGS...` would run it. xbuild
// starts it in a child process for each build (see engine.NewSelf), so
// builds run concurrently and a build on a lost node can be killed. It is
// also a way to look at what xbuild set up: `xbuild buildx ls`.
func NewBuildxCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:                "buildx [ARGS...]",
		Short:              "Run the embedded buildx (as docker buildx would)",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(c *cobra.Command, args []string) error {
			return engine.NewEmbedded().Run(c.Context(), engine.Invocation{Args: args, Stdout: f.IO.Out, Stderr: f.IO.ErrOut})
		},
	}
}

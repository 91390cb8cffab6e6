package cmd

import (
	"github.com/spf13/cobra"
)

// NewNodesCmd builds the `xbuild nodes` group.
func NewNodesCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "nodes",
		Short: "Register, check and manage build nodes",
		Long: `Build nodes are the machines that build each platform natively: BuildKit
daemons (buildkitd) or Docker engines reached over mutual TLS, Kubernetes
BuildKit pods, or this machine. Nodes marked --emulated build through QEMU
and are used only when no native node for a platform is healthy.

Nodes are stored per user (XBUILD_CONFIG_DIR, default ~/.config/xbuild) and
kept in sync with a buildx builder of the same machines.`,
		GroupID: "setup",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return c.Help()
		},
	}
	c.AddCommand(
		NewNodesAddCmd(f),
		NewNodesLsCmd(f),
		NewNodesInspectCmd(f),
		NewNodesCheckCmd(f),
		NewNodesRmCmd(f),
		NewNodesCertsCmd(f),
	)
	return c
}

package cmd

import (
	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// NewRootCmd builds the whole command tree around f.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "xbuild",
		Short: "Build, push and verify multi-platform images on native build nodes",
		Long: `xbuild builds container images for several CPU architectures on native
build machines, pushes one merged multi-platform manifest and reads it back
from the registry to prove it is right. It embeds Docker Buildx and the
BuildKit client: no docker CLI or buildx plugin is needed. The builds run on
BuildKit daemons: registered nodes, or this machine's buildkitd or Docker engine.

Configuration comes from flags, then XBUILD_* environment variables, then
./xbuild.yaml (or --config), then built-in defaults.`,
		Example: `  # write a commented xbuild.yaml
  xbuild init

  # register build machines
  xbuild nodes certs --out ./certs --host arm1.example.com
  xbuild nodes add arm1 --endpoint tcp://arm1.example.com:1234 --tls-ca ./certs/client/ca.pem \
      --tls-cert ./certs/client/cert.pem --tls-key ./certs/client/key.pem

  # lint, build both architectures natively, push and verify
  xbuild build --platform linux/amd64,linux/arm64 -t registry.example.com/app:1.0 --push`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       "", // `xbuild version` prints the details
	}
	root.PersistentFlags().StringVarP(&f.ConfigFile, "config", "c", "", "project config file (default ./xbuild.yaml when present)")
	root.PersistentFlags().BoolVar(&f.Debug, "debug", false, "print debug output, including the buildx commands xbuild runs")
	// An explicit --config that does not exist is an error for every
	// command, not only for those that read the file.
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		_, err := config.FindFile(f.ConfigFile)
		return err
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })

	root.AddGroup(&cobra.Group{ID: "main", Title: "Build commands:"}, &cobra.Group{ID: "setup", Title: "Setup commands:"})
	root.AddCommand(
		NewVersionCmd(f),
		NewInitCmd(f),
		NewNodesCmd(f),
		NewLintCmd(f),
		NewBuildCmd(f),
		NewVerifyCmd(f),
		NewMergeCmd(f),
		NewLoginCmd(f),
		NewLogoutCmd(f),
		NewBuildxCmd(f),
	)
	root.SetHelpCommandGroupID("setup")
	root.SetCompletionCommandGroupID("setup")
	return root
}

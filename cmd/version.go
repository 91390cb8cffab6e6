package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/version"
)

type versionOptions struct {
	format string
}

// NewVersionCmd builds `xbuild version`.
func NewVersionCmd(f *Factory) *cobra.Command {
	opts := &versionOptions{}
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print xbuild's version and the embedded buildx and BuildKit versions",
		Args:    noArgs,
		GroupID: "setup",
		Example: `  xbuild version
  xbuild version --format json`,
		RunE: func(c *cobra.Command, _ []string) error {
			return runVersion(f, opts)
		},
	}
	c.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	return c
}

func runVersion(f *Factory, opts *versionOptions) error {
	info := version.Get()
	switch opts.format {
	case "json":
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	case "text", "":
		fmt.Fprintf(f.IO.Out, "xbuild %s", info.Version)
		if info.Commit != "" {
			fmt.Fprintf(f.IO.Out, " (%s)", info.Commit)
		}
		fmt.Fprintf(f.IO.Out, "\n  buildx:     %s (embedded)\n  BuildKit:   %s (client)\n  docker/cli: %s\n  go:         %s %s\n",
			info.Buildx, info.BuildKit, info.DockerCLI, info.Go, info.Platform)
		return nil
	default:
		return usageErrorf("--format %q: use text or json", opts.format)
	}
}

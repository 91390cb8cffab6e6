package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// NewLogoutCmd builds `xbuild logout`.
func NewLogoutCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [REGISTRY]",
		Short: "Remove a registry's credentials from the docker config",
		Long: `Remove the credentials of REGISTRY from the docker config, as docker logout
does: from the credential helper configured for it, else from config.json
(the older http:// and https:// forms of the entry too). Other entries are
kept. Without REGISTRY, or with docker.io, Docker Hub.`,
		Example: `  xbuild logout registry.example.com`,
		GroupID: "setup",
		Args:    rangeArgs(0, 1, "at most one REGISTRY"),
		RunE: func(c *cobra.Command, args []string) error {
			arg := ""
			if len(args) > 0 {
				arg = args[0]
			}
			return runLogout(f, arg)
		},
	}
}

func runLogout(f *Factory, arg string) error {
	server, host, err := engine.LoginServer(arg)
	if err != nil {
		return &UsageError{Err: err}
	}
	removed, helpers, err := engine.DockerLogin{Dir: engine.DockerConfigDir(f.Getenv)}.Remove(server)
	if err != nil {
		return err
	}
	switch {
	case len(helpers) > 0:
		fmt.Fprintf(f.IO.Out, "Removing login credentials for %s (docker-credential-%s)\n", host, strings.Join(helpers, ", docker-credential-"))
	case len(removed) > 0:
		fmt.Fprintf(f.IO.Out, "Removing login credentials for %s\n", host)
	default:
		fmt.Fprintf(f.IO.Out, "Not logged in to %s: no credentials were stored for it\n", host)
	}
	return nil
}

package engine

import (
	"io"
	"sort"
	"strings"

	"github.com/docker/buildx/commands"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"
)

// BuildxFlag is one flag of the embedded buildx's `build` command.
type BuildxFlag struct {
	// Name is the long name without dashes ("build-arg").
	Name string
	// Shorthand is the one-letter form ("t"), "" when none.
	Shorthand string
	// Hidden flags are kept by buildx for compatibility (docker build's
	// legacy flags) but not listed in its --help.
	Hidden bool
	// Inherited flags belong to the buildx root (--builder, --debug).
	Inherited bool
	Usage     string
}

// BuildxBuildFlags lists every flag of the embedded buildx's `build`
// command, its own and those it inherits from the buildx root, sorted by
// name. It builds buildx's command tree without contacting any daemon: it
// is how xbuild's compatibility table is checked against the buildx it
// embeds.
func BuildxBuildFlags() ([]BuildxFlag, error) {
	cli, err := command.NewDockerCli(command.WithOutputStream(io.Discard), command.WithErrorStream(io.Discard))
	if err != nil {
		return nil, err
	}
	root := commands.NewRootCmd("buildx", false, cli)
	build, _, err := root.Find([]string{"build"})
	if err != nil {
		return nil, err
	}
	var out []BuildxFlag
	add := func(inherited bool) func(*pflag.Flag) {
		return func(f *pflag.Flag) {
			out = append(out, BuildxFlag{Name: f.Name, Shorthand: f.Shorthand, Hidden: f.Hidden, Inherited: inherited, Usage: strings.TrimSpace(f.Usage)})
		}
	}
	build.LocalFlags().VisitAll(add(false))
	build.InheritedFlags().VisitAll(add(true))
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

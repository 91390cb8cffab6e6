package cmd

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/nodes"
)

// NewNodesRmCmd builds `xbuild nodes rm`.
func NewNodesRmCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove nodes from the registry and from their buildx builder",
		Long: `Remove nodes. All names must exist, or nothing is removed. Each node leaves
its buildx builder (BuildKit's state on the node is kept).`,
		Example: "  xbuild nodes rm arm1\n  xbuild nodes rm amd1 arm1",
		Args:    minArgs(1, "at least one node NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			return runNodesRm(c, f, args)
		},
	}
	return c
}

func runNodesRm(c *cobra.Command, f *Factory, names []string) error {
	lc, err := f.loadConfig(c.Flags(), nil)
	if err != nil {
		return err
	}
	if err := lc.validate("engine"); err != nil {
		return err
	}
	st, err := f.NodeStore()
	if err != nil {
		return err
	}
	var gone []nodes.Node
	for _, name := range names {
		n, err := st.Get(name)
		if err != nil {
			return err
		}
		gone = append(gone, n)
	}
	if err := st.Remove(names...); err != nil {
		return err
	}
	eng, err := f.NewEngine(lc.Engine)
	if err != nil {
		return err
	}
	eng = f.traced(eng, nil)
	builders := map[string]bool{}
	for _, n := range gone {
		builders[n.Builder] = true
		fmt.Fprintf(f.IO.ErrOut, "Removed node %s.\n", n.Name)
	}
	// docker contexts go last: buildx needs them to take the nodes' BuildKit
	// containers out of the builder
	defer func() {
		for _, n := range gone {
			if n.Kind != nodes.KindDocker {
				continue
			}
			if err := f.DockerContexts.Remove(nodes.DockerContextName(n.Name)); err != nil {
				f.IO.Warnf("removing docker context %s: %v", nodes.DockerContextName(n.Name), err)
			}
		}
	}()
	var sorted []string
	for b := range builders {
		sorted = append(sorted, b)
	}
	sort.Strings(sorted)
	for _, b := range sorted {
		res, err := nodes.SyncBuilder(c.Context(), eng, st, b)
		if err != nil {
			return fmt.Errorf("the nodes were removed from the registry, but %w (the next xbuild nodes add or nodes rm on that builder retries it)", err)
		}
		fmt.Fprintf(f.IO.ErrOut, "buildx builder %s: %s\n", b, describeBuilder(res))
	}
	return nil
}

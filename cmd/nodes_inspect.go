package cmd

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesInspectOptions struct {
	format string
}

// NewNodesInspectCmd builds `xbuild nodes inspect`.
func NewNodesInspectCmd(f *Factory) *cobra.Command {
	opts := &nodesInspectOptions{}
	c := &cobra.Command{
		Use:     "inspect NAME",
		Short:   "Show a node's registration and its current health",
		Example: "  xbuild nodes inspect arm1\n  xbuild nodes inspect arm1 --format json",
		Args:    exactArgs(1, "a node NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			return runNodesInspect(c, f, opts, args[0])
		},
	}
	c.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	c.Flags().Duration("timeout", 0, "check timeout (default from config health-timeout: 2.5s)")
	return c
}

func runNodesInspect(c *cobra.Command, f *Factory, opts *nodesInspectOptions, name string) error {
	if opts.format != "text" && opts.format != "json" {
		return usageErrorf("--format %q: use text or json", opts.format)
	}
	hc, err := f.healthContext(c)
	if err != nil {
		return err
	}
	st := hc.store
	n, err := st.Get(name)
	if err != nil {
		return err
	}
	h := hc.checker.Check(c.Context(), []nodes.Node{n})[0]
	row := nodeStatus{Node: n, Health: h}
	if opts.format == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(row)
	}
	w := f.IO.Out
	fmt.Fprintf(w, "Name:       %s\nKind:       %s\nEndpoint:   %s\nPlatforms:  %s\n", n.Name, n.Kind, n.Endpoint, strings.Join(n.Platforms, ", "))
	fmt.Fprintf(w, "Emulated:   %t\nBuilder:    %s\nAdded:      %s\nFile:       %s\n", n.Emulated, n.Builder, n.Added.UTC().Format(time.RFC3339), st.NodeFile(n.Name))
	if n.TLS != nil {
		fmt.Fprintf(w, "TLS CA:     %s\nTLS cert:   %s\nTLS key:    %s\n", n.TLS.CA, n.TLS.Cert, n.TLS.Key)
		if n.TLS.ServerName != "" {
			fmt.Fprintf(w, "TLS name:   %s\n", n.TLS.ServerName)
		}
	}
	if n.Insecure {
		fmt.Fprintln(w, "TLS:        none (--insecure)")
	}
	if len(n.DriverOpts) > 0 {
		keys := make([]string, 0, len(n.DriverOpts))
		for k := range n.DriverOpts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "Driver opt: %s=%s\n", k, n.DriverOpts[k])
		}
	}
	fmt.Fprintf(w, "Status:     %s\n", h.Status)
	if h.Running != nil {
		fmt.Fprintf(w, "Builds:     %d running\n", *h.Running)
	} else {
		fmt.Fprintln(w, "Builds:     - (not known: see xbuild nodes ls --help)")
	}
	if h.Error != "" {
		fmt.Fprintf(w, "Error:      %s\n", h.Error)
	}
	if h.Hint != "" {
		fmt.Fprintf(w, "Hint:       %s\n", h.Hint)
	}
	if h.BuildKitVersion != "" {
		fmt.Fprintf(w, "BuildKit:   %s\nReports:    %s\nLatency:    %s\n", h.BuildKitVersion, strings.Join(h.Platforms, ", "), h.Latency.Round(100*time.Microsecond))
	}
	fmt.Fprintf(w, "Expiry:     %s\n", certExpiry(h, f.Now()))
	for _, wn := range h.Warnings {
		fmt.Fprintf(w, "Warning:    %s\n", wn)
	}
	return nil
}

package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesLsOptions struct {
	format string
	names  []string
	check  bool // `nodes check`: exit 1 when a node is unhealthy
}

// nodeStatus is one row of `nodes ls --format json`.
type nodeStatus struct {
	nodes.Node
	Health nodes.Health `json:"health"`
}

// NewNodesLsCmd builds `xbuild nodes ls`.
func NewNodesLsCmd(f *Factory) *cobra.Command {
	opts := &nodesLsOptions{}
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List nodes with their health, checked in parallel",
		Long: `List the registered nodes. Every node is checked at the same time, each
bounded by --timeout, so a dead node costs at most one timeout: connection and
TLS handshake, then BuildKit's worker list (version and platforms), latency
and certificate expiry (flagged when under 30 days).

BUILDS is the node's load: the builds its BuildKit is running now, anyone's
(BuildKit's build history, active records only). xbuild build routes each
platform to the healthy native node with the fewest. "-" when it cannot be
known: a docker node (its builds run in a BuildKit container that the
engine's API does not expose), a kubernetes node (not probed), a node that
did not answer.`,
		Example: `  xbuild nodes ls
  xbuild nodes ls --format json | jq '.[] | select(.health.status != "ok") | .name'
  xbuild nodes ls --format json | jq '.[] | {name, running: .health.running}'
  xbuild nodes ls --timeout 1s`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runNodesLs(c, f, opts)
		},
	}
	addNodesLsFlags(c, opts)
	return c
}

// NewNodesCheckCmd builds `xbuild nodes check`.
func NewNodesCheckCmd(f *Factory) *cobra.Command {
	opts := &nodesLsOptions{check: true}
	c := &cobra.Command{
		Use:   "check [NAME...]",
		Short: "Check nodes' health; exit 1 if any checked node is unhealthy",
		Example: `  xbuild nodes check            # every node
  xbuild nodes check arm1 amd1  # only these`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.names = args
			return runNodesLs(c, f, opts)
		},
	}
	addNodesLsFlags(c, opts)
	return c
}

func addNodesLsFlags(c *cobra.Command, opts *nodesLsOptions) {
	c.Flags().StringVar(&opts.format, "format", "table", "output format: table or json")
	c.Flags().Duration("timeout", 0, "per-node check timeout (default from config health-timeout: 2.5s)")
}

func runNodesLs(c *cobra.Command, f *Factory, opts *nodesLsOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return usageErrorf("--format %q: use table or json", opts.format)
	}
	hc, err := f.healthContext(c)
	if err != nil {
		return err
	}
	all, corrupt := hc.store.List()
	for _, e := range corrupt {
		f.IO.Warnf("%v", e)
	}
	list, err := selectNodes(all, opts.names)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		if opts.format == "json" {
			fmt.Fprintln(f.IO.Out, "[]")
		} else {
			fmt.Fprintln(f.IO.ErrOut, "No nodes registered. Add one: xbuild nodes add NAME --endpoint tcp://HOST:1234 --tls-ca ... (see xbuild nodes add --help)")
		}
		return nil
	}
	health := hc.checker.Check(c.Context(), list)
	if err := c.Context().Err(); err != nil {
		return err // Ctrl-C: the cancelled checks say nothing about the nodes
	}

	rows := make([]nodeStatus, len(list))
	unhealthy := 0
	for i := range list {
		rows[i] = nodeStatus{Node: list[i], Health: health[i]}
		if !health[i].Healthy() {
			unhealthy++
		}
	}
	if opts.format == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		writeNodesTable(f.IO.Out, rows, f.IO.IsStdoutTTY(), f.Now())
	}
	writeNodeProblems(f, rows)
	if len(corrupt) > 0 && opts.check {
		return &SilentError{Code: ExitFailure}
	}
	if opts.check && unhealthy > 0 {
		fmt.Fprintf(f.IO.ErrOut, "%d of %d node(s) unhealthy\n", unhealthy, len(rows))
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

// healthContext is what commands that check nodes need: the node store and
// a checker bounded by --timeout (else the config's health-timeout).
type healthContext struct {
	store   *nodes.Store
	checker *nodes.Checker
}

func (f *Factory) healthContext(c *cobra.Command) (*healthContext, error) {
	lc, err := f.loadConfig(c.Flags(), []flagBinding{{Key: "health-timeout", Flag: "timeout"}})
	if err != nil {
		return nil, err
	}
	if err := lc.Validate("health-timeout", "engine"); err != nil {
		return nil, err
	}
	st, err := f.NodeStore()
	if err != nil {
		return nil, err
	}
	eng, err := f.NewEngine(lc.Engine)
	if err != nil {
		return nil, err
	}
	return &healthContext{store: st, checker: f.Checker(f.traced(eng, nil), lc.HealthTimeout)}, nil
}

// selectNodes returns the named nodes (all when names is empty).
func selectNodes(all []nodes.Node, names []string) ([]nodes.Node, error) {
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]nodes.Node{}
	var known []string
	for _, n := range all {
		byName[n.Name] = n
		known = append(known, n.Name)
	}
	var out []nodes.Node
	for _, name := range names {
		n, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("no node named %q (registered: %s)", name, orNone(known))
		}
		out = append(out, n)
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// writeNodesTable prints an aligned table for people, tab-separated rows
// when piped; both keep the header, as docker and buildx do (--format json
// is for scripts).
func writeNodesTable(w io.Writer, rows []nodeStatus, tty bool, now time.Time) {
	out := w
	var tw *tabwriter.Writer
	if tty {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		out = tw
	}
	fmt.Fprintln(out, "NAME\tKIND\tENDPOINT\tPLATFORMS\tSTATUS\tBUILDS\tBUILDKIT\tLATENCY\tCERT EXPIRY")
	for _, r := range rows {
		plats := strings.Join(r.Platforms, ",")
		if r.Emulated {
			plats += " (emulated)"
		}
		version, latency := "-", "-"
		if r.Health.BuildKitVersion != "" {
			version = r.Health.BuildKitVersion
		}
		if r.Health.Latency > 0 {
			latency = r.Health.Latency.Round(100 * time.Microsecond).String()
		}
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Endpoint, plats, r.Health.Status, runningBuilds(r.Health), version, latency, certExpiry(r.Health, now))
	}
	if tw != nil {
		_ = tw.Flush()
	}
}

// runningBuilds is the node's load for the table: the builds its BuildKit
// is running now, "-" when unknown (docker and kubernetes nodes, a node
// that did not answer).
func runningBuilds(h nodes.Health) string {
	if h.Running == nil {
		return "-"
	}
	return fmt.Sprint(*h.Running)
}

// certExpiry is the earliest certificate expiry, flagged under 30 days.
func certExpiry(h nodes.Health, now time.Time) string {
	var first time.Time
	for _, t := range []time.Time{h.ClientCertNotAfter, h.ServerCertNotAfter} {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if first.IsZero() {
		return "-"
	}
	s := first.UTC().Format("2006-01-02")
	if days := int(first.Sub(now).Hours() / 24); days < 30 {
		s += fmt.Sprintf(" (%dd left!)", days)
	}
	return s
}

// writeNodeProblems prints, after the table, why each unhealthy node is
// unhealthy and every warning.
func writeNodeProblems(f *Factory, rows []nodeStatus) {
	for _, r := range rows {
		if !r.Health.Healthy() {
			fmt.Fprintf(f.IO.ErrOut, "%s: %s: %s\n", r.Name, r.Health.Status, r.Health.Error)
			if r.Health.Hint != "" {
				fmt.Fprintf(f.IO.ErrOut, "  %s\n", r.Health.Hint)
			}
		}
		for _, w := range r.Health.Warnings {
			f.IO.Warnf("%s", w)
		}
	}
}

package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesCertsOptions struct {
	out    string
	hosts  []string
	days   int
	force  bool
	format string
}

// NewNodesCertsCmd builds `xbuild nodes certs`.
func NewNodesCertsCmd(f *Factory) *cobra.Command {
	opts := &nodesCertsOptions{}
	c := &cobra.Command{
		Use:   "certs --out DIR --host HOST [--host HOST...]",
		Short: "Generate a CA, a server and a client certificate for a new node",
		Long: `Generate TLS material for a build node: a CA, a server certificate for the
node's names and addresses, and a client certificate for xbuild (ECDSA P-256).
Private keys are written 0600. Certificates are valid for --days days, at
most 3650 (10 years). Existing files are never overwritten unless --force is
given; --force says what it replaced, because every node and client that
trusts the old CA stops connecting until it gets the new material.

Copy DIR/server to the node and start buildkitd or dockerd with the printed
flags; DIR/client stays with xbuild. Keep DIR/ca-key.pem off the nodes.`,
		Example: `  xbuild nodes certs --out ./certs/arm1 --host arm1.example.com --host 10.0.0.12
  xbuild nodes certs --out ./certs/lab --host localhost --host 127.0.0.1 --days 30`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runNodesCerts(f, opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.out, "out", "", "directory to write the certificates to (required)")
	fl.StringArrayVar(&opts.hosts, "host", nil, "DNS name or IP address of the node, repeatable (required)")
	fl.IntVar(&opts.days, "days", 365, fmt.Sprintf("validity in days, 1 to %d", nodes.MaxCertDays))
	fl.BoolVar(&opts.force, "force", false, "replace existing certificate files (nodes and clients using the old CA stop connecting)")
	fl.StringVar(&opts.format, "format", "text", "output format: text or json")
	_ = c.MarkFlagRequired("out")
	_ = c.MarkFlagRequired("host")
	return c
}

func runNodesCerts(f *Factory, opts *nodesCertsOptions) error {
	if opts.format != "text" && opts.format != "json" {
		return usageErrorf("--format %q: use text or json", opts.format)
	}
	set, err := nodes.GenerateCerts(nodes.CertOptions{Hosts: opts.hosts, Days: opts.days, Now: f.Now()})
	if err != nil {
		return err
	}
	files, err := set.Write(opts.out, opts.force)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.out)
	if err != nil {
		return err
	}
	if w := replacedWarning(dir, files); w != "" {
		f.IO.Warnf("%s", w)
	}
	cmds := certCommands(dir, opts.hosts[0])
	if opts.format == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"dir": dir, "notAfter": set.NotAfter.UTC(), "files": files,
			"buildkitd": cmds.buildkitd, "dockerd": cmds.dockerd, "nodesAdd": cmds.nodesAdd,
		})
	}
	printCertInstructions(f.IO.Out, dir, set.NotAfter.UTC().Format("2006-01-02"), files, cmds)
	return nil
}

// replacedWarning says what --force replaced and what that breaks; "" when
// nothing was replaced.
func replacedWarning(dir string, files []nodes.CertFile) string {
	n, ca := 0, ""
	for _, fl := range files {
		if fl.Replaced == "" {
			continue
		}
		n++
		if ca == "" && strings.HasPrefix(fl.Replaced, "CA certificate") {
			ca = fl.Replaced + " in " + fl.Path
		}
	}
	if n == 0 {
		return ""
	}
	what := fmt.Sprintf("%d existing certificate files in %s", n, dir)
	if ca != "" {
		what = fmt.Sprintf("the %s (and %d other files)", ca, n-1)
	}
	return fmt.Sprintf("replaced %s: every node whose server certificate came from the old CA, and every client that trusts it, stops connecting until it gets the new material; copy %s to each such node and restart its daemon, then register the node again with the new client files (xbuild nodes rm NAME, then xbuild nodes add)",
		what, filepath.Join(dir, "server"))
}

type certCmds struct{ buildkitd, dockerd, nodesAdd string }

// certCommands renders the exact daemon flags and the matching nodes add line.
func certCommands(dir, host string) certCmds {
	s := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	endpointHost := host
	if strings.Contains(host, ":") { // IPv6 literal
		endpointHost = "[" + host + "]"
	}
	return certCmds{
		buildkitd: fmt.Sprintf("buildkitd --addr tcp://0.0.0.0:1234 --tlscacert %s --tlscert %s --tlskey %s",
			s("server", "ca.pem"), s("server", "cert.pem"), s("server", "key.pem")),
		dockerd: fmt.Sprintf("dockerd --tlsverify --tlscacert %s --tlscert %s --tlskey %s -H tcp://0.0.0.0:2376",
			s("server", "ca.pem"), s("server", "cert.pem"), s("server", "key.pem")),
		nodesAdd: fmt.Sprintf("xbuild nodes add NAME --endpoint tcp://%s:1234 --tls-ca %s --tls-cert %s --tls-key %s --tls-servername %s",
			endpointHost, s("client", "ca.pem"), s("client", "cert.pem"), s("client", "key.pem"), host),
	}
}

func printCertInstructions(w io.Writer, dir, until string, files []nodes.CertFile, c certCmds) {
	fmt.Fprintf(w, "Wrote a CA, a server and a client certificate to %s (valid until %s):\n", dir, until)
	for _, fl := range files {
		fmt.Fprintf(w, "  %-40s %s\n", fl.Path, fl.Role)
	}
	fmt.Fprintf(w, "\nCopy %s to the node (same paths, or adjust them), then start one of:\n", filepath.Join(dir, "server"))
	fmt.Fprintf(w, "  %s\n  %s\n", c.buildkitd, c.dockerd)
	fmt.Fprintf(w, "\nThen register the node (use port 2376 and --kind docker for dockerd):\n  %s\n", c.nodesAdd)
}

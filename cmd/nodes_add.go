package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesAddOptions struct {
	IO *iostreams.IOStreams
	// Registrar opens the node registrar for the configured engine.
	Registrar func() (*nodes.Registrar, error)
	// WorkDir is where relative paths in flags are taken from.
	WorkDir func() (string, error)

	name       string
	endpoint   string
	platforms  []string
	kind       string
	emulated   bool
	insecure   bool
	tls        nodes.TLS
	driverOpts []string
	bkConfig   string
	timeout    time.Duration
	skipCheck  bool
	builder    string
}

// NewNodesAddCmd builds `xbuild nodes add`.
func NewNodesAddCmd(f *Factory) *cobra.Command { return newNodesAddCmd(f, runNodesAdd) }

// newNodesAddCmd builds the command with run as its run function, so tests
// can check the flags' mapping alone.
func newNodesAddCmd(f *Factory, run func(context.Context, *nodesAddOptions) error) *cobra.Command {
	opts := &nodesAddOptions{IO: f.IO, WorkDir: f.WorkDir}
	c := &cobra.Command{
		Use:   "add NAME --endpoint URL [flags]",
		Short: "Register a build node and add it to the buildx builder",
		Long: `Register a build node. xbuild checks the TLS files, connects to the node
(mutual TLS), asks it which platforms it builds when --platform is not given,
stores it in the per-user registry and syncs the buildx builder.

Kinds (inferred from the endpoint unless --kind is given):
  buildkit    buildkitd at tcp://HOST:1234 (buildx remote driver)
  docker      a Docker engine at tcp://HOST:2376 with --tlsverify (docker-container driver)
  kubernetes  kubernetes://NAMESPACE[?context=KUBECONTEXT] (buildx kubernetes driver)
  local       a buildkitd socket on this machine, unix:///PATH

TCP endpoints need TLS (--tls-ca, --tls-cert, --tls-key; make them with
xbuild nodes certs) unless --insecure is given, and then every command warns.
An --emulated node builds through QEMU and is used only when no native node
for a platform is healthy.`,
		Example: `  xbuild nodes add arm1 --endpoint tcp://arm1.example.com:1234 \
      --tls-ca certs/client/ca.pem --tls-cert certs/client/cert.pem --tls-key certs/client/key.pem
  xbuild nodes add amd1 --endpoint tcp://10.0.0.4:1234 --platform linux/amd64 --tls-servername amd1.internal ...
  xbuild nodes add qemu --endpoint unix:///run/buildkit/buildkitd.sock --platform linux/amd64,linux/arm64 --emulated
  xbuild nodes add d1 --kind docker --endpoint tcp://d1.example.com:2376 --tls-ca ... --driver-opt image=registry.example.com/moby/buildkit:v0.34.2
  xbuild nodes add k8s-arm --endpoint kubernetes://buildkit --platform linux/arm64 --driver-opt nodeselector=kubernetes.io/arch=arm64`,
		Args: exactArgs(1, "the node NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.name = args[0]
			lc, err := f.loadConfig(c.Flags(), []flagBinding{{Key: "builder", Flag: "builder"}})
			if err != nil {
				return err
			}
			if err := lc.Validate("builder", "engine"); err != nil {
				return err
			}
			opts.builder = lc.Builder
			opts.Registrar = func() (*nodes.Registrar, error) { return f.Registrar(lc.Engine) }
			return run(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.endpoint, "endpoint", "", "node endpoint: tcp://HOST:PORT, unix:///PATH or kubernetes://NAMESPACE (required)")
	fl.StringSliceVar(&opts.platforms, "platform", nil, "platforms the node builds, e.g. linux/arm64 (default: what the node reports)")
	fl.StringVar(&opts.kind, "kind", "", "node kind: buildkit, docker, kubernetes or local (default: from the endpoint)")
	fl.BoolVar(&opts.emulated, "emulated", false, "the node builds its platforms through QEMU: use it only as a fallback")
	fl.BoolVar(&opts.insecure, "insecure", false, "allow a TCP endpoint without TLS (not recommended; every command warns)")
	fl.StringVar(&opts.tls.CA, "tls-ca", "", "CA certificate that signed the node's server certificate")
	fl.StringVar(&opts.tls.Cert, "tls-cert", "", "client certificate")
	fl.StringVar(&opts.tls.Key, "tls-key", "", "client private key (must not be group/world readable)")
	fl.StringVar(&opts.tls.ServerName, "tls-servername", "", "server name to verify (default: the endpoint's host)")
	fl.String("builder", "", `buildx builder the node joins (default from config: "xbuild")`)
	fl.StringArrayVar(&opts.driverOpts, "driver-opt", nil, "extra buildx driver option KEY=VALUE, repeatable (docker: image=, network=; kubernetes: replicas=, nodeselector=)")
	fl.StringVar(&opts.bkConfig, "buildkitd-config", "", "buildkitd.toml for docker and kubernetes nodes, where buildx starts BuildKit (registry mirrors, CAs)")
	fl.DurationVar(&opts.timeout, "timeout", 5*time.Second, "how long to wait for the node to answer")
	fl.BoolVar(&opts.skipCheck, "skip-check", false, "register without contacting the node (needs --platform)")
	_ = c.MarkFlagRequired("endpoint")
	return c
}

func runNodesAdd(ctx context.Context, opts *nodesAddOptions) error {
	req, err := opts.request()
	if err != nil {
		return err
	}
	r, err := opts.Registrar()
	if err != nil {
		return err
	}
	res, err := r.Add(ctx, req)
	if errors.Is(err, nodes.ErrInvalidRequest) {
		return &UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	n := res.Node
	if res.PlatformsFromNode {
		fmt.Fprintf(opts.IO.ErrOut, "Node %s reports %s; recording %s (pass --platform to choose).\n", n.Name, strings.Join(res.Reported, ", "), strings.Join(n.Platforms, ", "))
	}
	role := "native"
	if n.Emulated {
		role = "emulated (fallback only)"
	}
	fmt.Fprintf(opts.IO.ErrOut, "Added node %s: %s %s, %s, %s.\n", n.Name, n.Kind, n.Endpoint, strings.Join(n.Platforms, ", "), role)
	fmt.Fprintf(opts.IO.ErrOut, "buildx builder %s: %s\n", res.Sync.Builder, describeBuilder(res.Sync))
	return nil
}

// request maps the flags to the registrar's request.
func (opts *nodesAddOptions) request() (nodes.AddRequest, error) {
	req := nodes.AddRequest{
		Name: opts.name, Endpoint: opts.endpoint, Kind: nodes.Kind(opts.kind), Platforms: opts.platforms,
		Emulated: opts.emulated, Insecure: opts.insecure, BuildkitdConfig: opts.bkConfig, Builder: opts.builder,
		Timeout: opts.timeout, SkipCheck: opts.skipCheck,
	}
	if opts.tls != (nodes.TLS{}) {
		t := opts.tls
		req.TLS = &t
	}
	if len(opts.driverOpts) > 0 {
		req.DriverOpts = map[string]string{}
		for _, kv := range opts.driverOpts {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return req, usageErrorf("--driver-opt %q: use KEY=VALUE", kv)
			}
			req.DriverOpts[k] = v
		}
	}
	if req.TLS != nil || req.BuildkitdConfig != "" {
		wd, err := opts.WorkDir()
		if err != nil {
			return req, fmt.Errorf("finding the working directory for relative paths: %w", err)
		}
		req.WorkDir = wd
	}
	return req, nil
}

// describeBuilder says what a synced builder holds, and which nodes it
// leaves out and why.
func describeBuilder(res *nodes.SyncResult) string {
	desc := "empty"
	if len(res.Nodes) > 0 {
		var parts []string
		for _, bn := range res.Nodes {
			parts = append(parts, fmt.Sprintf("%s [%s]", bn.Node, strings.Join(bn.Platforms, ", ")))
		}
		desc = strings.Join(parts, ", ")
	}
	for _, l := range res.Left {
		desc += "\n  not in it: " + l
	}
	return desc
}

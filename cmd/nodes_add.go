package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/platform"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

type nodesAddOptions struct {
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
}

// NewNodesAddCmd builds `xbuild nodes add`.
func NewNodesAddCmd(f *Factory) *cobra.Command {
	opts := &nodesAddOptions{}
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
			return runNodesAdd(c, f, opts)
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

func runNodesAdd(c *cobra.Command, f *Factory, opts *nodesAddOptions) error {
	ctx := c.Context()
	lc, err := f.loadConfig(c.Flags(), []flagBinding{{Key: "builder", Flag: "builder"}})
	if err != nil {
		return err
	}
	if err := lc.validate("builder", "engine"); err != nil {
		return err
	}
	n, err := nodeFromOptions(opts, lc.Builder, f.Now())
	if err != nil {
		return err
	}
	if n.TLS != nil {
		info, err := nodes.CheckTLS(*n.TLS, f.Now())
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		for _, w := range info.Warnings {
			f.IO.Warnf("node %s: %s", n.Name, w)
		}
	}
	if n.Insecure {
		f.IO.Warnf("node %s is reached without TLS (--insecure): anyone on the network can use or impersonate it", n.Name)
	}
	eng, err := f.NewEngine(lc.Engine)
	if err != nil {
		return err
	}
	eng = f.traced(eng, nil)
	if err := checkNewNode(ctx, f, eng, &n, opts); err != nil {
		return err
	}
	if err := checkLocalEmulation(n, f.BinfmtDir); err != nil {
		return err
	}
	norm, err := n.Normalized()
	if err != nil {
		return err
	}
	st, err := f.NodeStore()
	if err != nil {
		return err
	}
	if err := st.Add(norm); err != nil {
		return err
	}
	res, err := nodes.SyncBuilder(ctx, eng, st, norm.Builder)
	if err != nil {
		// undo: the registry must not hold a node the builder lacks
		_ = st.Remove(norm.Name)
		if norm.Kind == nodes.KindDocker {
			_ = f.DockerContexts.Remove(nodes.DockerContextName(norm.Name))
		}
		if norm.Kind == nodes.KindKubernetes {
			ep, _ := nodes.ParseEndpoint(norm.Endpoint)
			err = fmt.Errorf("%w\n  kubernetes nodes use this machine's kubeconfig (KUBECONFIG or ~/.kube/config): check that `kubectl -n %s get pods` works; nothing was registered", err, ep.Namespace)
		}
		return err
	}
	role := "native"
	if norm.Emulated {
		role = "emulated (fallback only)"
	}
	fmt.Fprintf(f.IO.ErrOut, "Added node %s: %s %s, %s, %s.\n", norm.Name, norm.Kind, norm.Endpoint, strings.Join(norm.Platforms, ", "), role)
	fmt.Fprintf(f.IO.ErrOut, "buildx builder %s: %s\n", res.Builder, describeBuilder(res))
	return nil
}

// nodeFromOptions assembles the node record from flags.
func nodeFromOptions(opts *nodesAddOptions, builder string, now time.Time) (nodes.Node, error) {
	n := nodes.Node{
		Name: opts.name, Kind: nodes.Kind(opts.kind), Endpoint: opts.endpoint, Platforms: opts.platforms,
		Emulated: opts.emulated, Insecure: opts.insecure, Builder: builder, Added: now,
	}
	if err := nodes.ValidateName(n.Name); err != nil {
		return n, usageErrorf("node %v", err)
	}
	if opts.tls != (nodes.TLS{}) {
		t := opts.tls
		for _, p := range []*string{&t.CA, &t.Cert, &t.Key} {
			if *p != "" {
				abs, err := filepath.Abs(*p)
				if err != nil {
					return n, err
				}
				*p = abs
			}
		}
		n.TLS = &t
	}
	if opts.bkConfig != "" {
		abs, err := filepath.Abs(opts.bkConfig)
		if err != nil {
			return n, err
		}
		if _, err := os.Stat(abs); err != nil {
			return n, fmt.Errorf("--buildkitd-config %s: %w", opts.bkConfig, err)
		}
		n.BuildkitdConfig = abs
	}
	if len(opts.driverOpts) > 0 {
		n.DriverOpts = map[string]string{}
		for _, kv := range opts.driverOpts {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return n, usageErrorf("--driver-opt %q: use KEY=VALUE", kv)
			}
			n.DriverOpts[k] = v
		}
	}
	ep, err := nodes.ParseEndpoint(n.Endpoint)
	if err != nil {
		return n, err
	}
	kind, err := nodes.InferKind(ep, opts.kind)
	if err != nil {
		return n, err
	}
	n.Kind = kind
	if err := nodes.CheckTransport(ep, n.TLS, n.Insecure); err != nil {
		return n, fmt.Errorf("node %s: %w", n.Name, err)
	}
	return n, nil
}

// checkNewNode contacts the node (unless --skip-check) and settles its
// platforms: what the user listed must be what the node reports; with none
// listed, a native node records its native platform, an emulated one all.
func checkNewNode(ctx context.Context, f *Factory, eng engine.Engine, n *nodes.Node, opts *nodesAddOptions) error {
	if n.Kind == nodes.KindDocker {
		if err := f.DockerContexts.Ensure(dockerContextFor(*n)); err != nil {
			return err
		}
	}
	if opts.skipCheck || n.Kind == nodes.KindKubernetes {
		if len(n.Platforms) == 0 {
			return usageErrorf("node %s: --platform is needed when the node is not contacted (%s)", n.Name, map[bool]string{true: "--skip-check", false: "kubernetes nodes are not probed"}[opts.skipCheck])
		}
		return nil
	}
	h := f.Checker(eng, opts.timeout).Check(ctx, []nodes.Node{*n})[0]
	if !h.Healthy() {
		msg := fmt.Sprintf("node %s (%s) is %s: %s", n.Name, n.Endpoint, h.Status, h.Error)
		if h.Hint != "" {
			msg += "\n  " + h.Hint
		}
		return errors.New(msg + "\n  (nothing was registered; --skip-check --platform ... registers a node that is offline now)")
	}
	for _, w := range h.Warnings {
		if !strings.Contains(w, "is insecure") { // already said above
			f.IO.Warnf("%s", w)
		}
	}
	if len(n.Platforms) == 0 {
		n.Platforms = defaultPlatforms(h.Platforms, n.Emulated)
		if len(n.Platforms) == 0 {
			return fmt.Errorf("node %s reported no platforms; pass --platform", n.Name)
		}
		fmt.Fprintf(f.IO.ErrOut, "Node %s reports %s; recording %s (pass --platform to choose).\n", n.Name, strings.Join(h.Platforms, ", "), strings.Join(n.Platforms, ", "))
		return nil
	}
	if !n.DaemonReportsPlatforms() {
		return nil // a docker engine reports only its native architecture
	}
	for _, p := range n.Platforms {
		np, err := platform.Normalize(p)
		if err != nil {
			return err
		}
		if !platform.Contains(h.Platforms, np) {
			return fmt.Errorf("node %s does not build %s: it reports %s; fix --platform, or install QEMU (binfmt) on the node and add it with --emulated", n.Name, np, strings.Join(h.Platforms, ", "))
		}
	}
	return nil
}

// defaultPlatforms picks what to record when --platform is not given.
// BuildKit lists the worker's native platform first, then what binfmt
// emulation adds; a native node records only the first.
func defaultPlatforms(reported []string, emulated bool) []string {
	if len(reported) == 0 {
		return nil
	}
	if emulated {
		return reported
	}
	return reported[:1]
}

// checkLocalEmulation makes sure an emulated node on this machine has QEMU
// registered with binfmt_misc for its foreign platforms, and says how to
// install it when not.
func checkLocalEmulation(n nodes.Node, binfmtDir string) error {
	if !n.Emulated || !isLocalEndpoint(n.Endpoint) {
		return nil
	}
	missing, err := nodes.CheckEmulation(n.Platforms, binfmtDir)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("node %s: %s", n.Name, nodes.EmulationHint(missing))
	}
	return nil
}

// isLocalEndpoint reports a unix socket or a loopback TCP address.
func isLocalEndpoint(endpoint string) bool {
	ep, err := nodes.ParseEndpoint(endpoint)
	if err != nil {
		return false
	}
	if ep.Scheme == "unix" {
		return true
	}
	ip := net.ParseIP(ep.Host)
	return ep.Scheme == "tcp" && (ep.Host == "localhost" || ip != nil && ip.IsLoopback())
}

func dockerContextFor(n nodes.Node) engine.DockerContext {
	dc := engine.DockerContext{Name: nodes.DockerContextName(n.Name), Host: n.Endpoint, Description: "xbuild node " + n.Name}
	if n.TLS != nil {
		dc.CA, dc.Cert, dc.Key = n.TLS.CA, n.TLS.Cert, n.TLS.Key
	}
	return dc
}

func describeBuilder(res *nodes.SyncResult) string {
	if len(res.Nodes) == 0 {
		return "empty"
	}
	var parts []string
	for _, bn := range res.Nodes {
		parts = append(parts, fmt.Sprintf("%s [%s]", bn.Node, strings.Join(bn.Platforms, ", ")))
	}
	return strings.Join(parts, ", ")
}

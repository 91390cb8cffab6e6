package nodes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/platform"
)

// AddRequest is a node to register, as the user described it.
type AddRequest struct {
	Name     string
	Endpoint string
	// Kind is "" to infer it from the endpoint.
	Kind Kind
	// Platforms are the platforms the node builds; none means those the
	// node reports (its native one, or all of them for an emulated node).
	Platforms []string
	Emulated  bool
	// Insecure allows a tcp:// endpoint without TLS.
	Insecure bool
	// TLS is the client TLS material; nil or zero means none. Relative
	// paths are taken from WorkDir.
	TLS *TLS
	// DriverOpts are extra buildx driver options.
	DriverOpts map[string]string
	// BuildkitdConfig is a buildkitd.toml for docker and kubernetes nodes;
	// a relative path is taken from WorkDir.
	BuildkitdConfig string
	// Builder is the buildx builder the node joins ("" means DefaultBuilder).
	Builder string
	// WorkDir is the directory relative paths are resolved against; ""
	// means the process's working directory.
	WorkDir string
	// Timeout bounds the node's health check; zero means DefaultCheckTimeout.
	Timeout time.Duration
	// SkipCheck registers the node without contacting it (Platforms needed).
	SkipCheck bool
}

// AddResult is what Add registered.
type AddResult struct {
	// Node is the node as stored.
	Node Node
	// Reported are the platforms the node's daemon reported, in its order;
	// nil when it was not contacted.
	Reported []string
	// PlatformsFromNode is set when no platforms were requested and
	// Node.Platforms were picked from Reported.
	PlatformsFromNode bool
	// Sync says what the builder the node joined looks like now.
	Sync *SyncResult
}

// addPlan is a validated add, ready to apply.
type addPlan struct {
	node      Node
	ep        Endpoint
	mat       *TLSMaterial
	reported  []string
	defaulted bool
	// context is the docker context of a docker node, nil otherwise.
	context *engine.DockerContext
}

// Add registers a node. It validates the request (name, a clash with a
// registered node, endpoint, kind, transport, TLS material), contacts the
// node (unless SkipCheck or a kubernetes node) to settle its platforms,
// and checks QEMU for an emulated node on this machine, all before
// changing anything. Then it writes the docker context of a docker node,
// stores the node and syncs its buildx builder; when a step fails, the
// ones before it are undone. The TLS files are read once.
func (r *Registrar) Add(ctx context.Context, req AddRequest) (*AddResult, error) {
	p, err := r.planAdd(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := r.applyAdd(ctx, p)
	if err != nil {
		return nil, err
	}
	return &AddResult{Node: p.node, Reported: p.reported, PlatformsFromNode: p.defaulted, Sync: res}, nil
}

// planAdd validates the request and contacts the node; it writes nothing.
func (r *Registrar) planAdd(ctx context.Context, req AddRequest) (*addPlan, error) {
	if err := ValidateName(req.Name); err != nil {
		return nil, invalidf("node %v", err)
	}
	if err := r.Store.checkFree(req.Name); err != nil {
		return nil, err
	}
	draft := Node{
		Name: req.Name, Kind: req.Kind, Endpoint: req.Endpoint, Platforms: req.Platforms,
		Emulated: req.Emulated, Insecure: req.Insecure, DriverOpts: req.DriverOpts, Builder: req.Builder, Added: r.now(),
	}
	if req.TLS != nil && *req.TLS != (TLS{}) {
		t, err := absTLS(*req.TLS, req.WorkDir)
		if err != nil {
			return nil, err
		}
		draft.TLS = &t
	}
	if req.BuildkitdConfig != "" {
		abs, err := absPath(req.BuildkitdConfig, req.WorkDir)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("--buildkitd-config %s: %w", req.BuildkitdConfig, err)
		}
		draft.BuildkitdConfig = abs
	}
	// endpoint, kind, transport, driver options, builder: checked once, here
	n, err := draft.normalize(false)
	if err != nil {
		return nil, err
	}
	ep, err := ParseEndpoint(n.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := r.Store.checkEndpointFree(n); err != nil {
		return nil, err
	}
	p := &addPlan{node: n, ep: ep}
	if n.TLS != nil {
		if p.mat, err = LoadTLS(*n.TLS, r.now()); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		for _, w := range p.mat.Info.Warnings {
			r.warn("node %s: %s", n.Name, w)
		}
	}
	if n.Insecure {
		r.warn("node %s is reached without TLS (--insecure): anyone on the network can use or impersonate it", n.Name)
	}
	if err := r.settlePlatforms(ctx, req, p); err != nil {
		return nil, err
	}
	if err := checkLocalEmulation(p.node, r.BinfmtDir); err != nil {
		return nil, err
	}
	if p.node.Kind == KindDocker {
		dc := dockerContextFor(p.node, p.mat)
		p.context = &dc
	}
	return p, nil
}

// settlePlatforms contacts the node (unless it is not to be contacted) and
// settles its platforms: what the request lists must be what the node
// reports; with none listed, a native node records its native platform,
// an emulated one all it reports.
func (r *Registrar) settlePlatforms(ctx context.Context, req AddRequest, p *addPlan) error {
	n := p.node
	if req.SkipCheck || n.Kind == KindKubernetes {
		if len(n.Platforms) == 0 {
			why := "kubernetes nodes are not probed"
			if req.SkipCheck {
				why = "--skip-check"
			}
			return invalidf("node %s: --platform is needed when the node is not contacted (%s)", n.Name, why)
		}
		return nil
	}
	c := &Checker{Prober: r.Prober, Dial: r.Dial, Timeout: req.Timeout, Now: r.Now}
	h := c.checkLoaded(ctx, p.ep, n, p.mat)
	if !h.Healthy() {
		msg := fmt.Sprintf("node %s (%s) is %s: %s", n.Name, n.Endpoint, h.Status, h.Error)
		if h.Hint != "" {
			msg += "\n  " + h.Hint
		}
		return errors.New(msg + "\n  (nothing was registered; --skip-check --platform ... registers a node that is offline now)")
	}
	for _, w := range h.Warnings {
		r.warn("%s", w)
	}
	p.reported = h.Platforms
	if len(n.Platforms) == 0 {
		picked := defaultPlatforms(h.Platforms, n.Emulated)
		if len(picked) == 0 {
			return fmt.Errorf("node %s reported no platforms; pass --platform", n.Name)
		}
		plats, err := platform.Set(picked)
		if err != nil {
			return fmt.Errorf("node %s reported platforms xbuild cannot read (%v); pass --platform", n.Name, err)
		}
		p.node.Platforms, p.defaulted = plats, true
		return nil
	}
	if !n.DaemonReportsPlatforms() {
		return nil // a docker engine reports only its native architecture
	}
	for _, want := range n.Platforms {
		if !platform.Contains(h.Platforms, want) {
			return fmt.Errorf("node %s does not build %s: it reports %s; fix --platform, or install QEMU (binfmt) on the node and add it with --emulated", n.Name, want, strings.Join(h.Platforms, ", "))
		}
	}
	return nil
}

// defaultPlatforms picks what to record when no platforms are requested.
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
func checkLocalEmulation(n Node, binfmtDir string) error {
	if !n.Emulated || !isLocalEndpoint(n.Endpoint) {
		return nil
	}
	missing, err := CheckEmulation(n.Platforms, binfmtDir)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("node %s: %s", n.Name, EmulationHint(missing))
	}
	return nil
}

// isLocalEndpoint reports a unix socket or a loopback TCP address.
func isLocalEndpoint(endpoint string) bool {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return false
	}
	if ep.Scheme == "unix" {
		return true
	}
	ip := net.ParseIP(ep.Host)
	return ep.Scheme == "tcp" && (ep.Host == "localhost" || ip != nil && ip.IsLoopback())
}

// absTLS makes the TLS file paths absolute, relative ones taken from dir.
func absTLS(t TLS, dir string) (TLS, error) {
	for _, p := range []*string{&t.CA, &t.Cert, &t.Key} {
		if *p == "" {
			continue
		}
		abs, err := absPath(*p, dir)
		if err != nil {
			return TLS{}, err
		}
		*p = abs
	}
	return t, nil
}

// absPath makes p absolute: a relative p is taken from dir, or from the
// process's working directory when dir is "".
func absPath(p, dir string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Abs(p)
}

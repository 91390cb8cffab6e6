package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// The results of a platform's build.
const (
	ResultBuilt    = "built"
	ResultReused   = "reused"
	ResultFailover = "failover"
)

// PlatformResult is one platform's way through the build step.
type PlatformResult struct {
	Platform string `json:"platform"`
	// Node built it (the last one, after a failover).
	Node     string `json:"node"`
	Emulated bool   `json:"emulated"`
	// Result is built, reused (taken from an earlier run's push) or
	// failover (built on another node after its first one was lost).
	Result string `json:"result"`
	// Pushed is what the platform's build pushed by digest (its image, or
	// an index of the image and its attestations).
	Pushed string `json:"pushed,omitempty"`
	// Lost are the nodes lost while building it, in order.
	Lost []string `json:"lost,omitempty"`
	// BuildRef is buildx's reference of the build that made it
	// (builder/node/ref, for `buildx history`), "" when reused.
	BuildRef string `json:"buildRef,omitempty"`
	// Metadata is what buildx's --metadata-file said of its build.
	Metadata map[string]any `json:"-"`
	// Attempts counts the builds started (retries and failovers included).
	Attempts int     `json:"attempts"`
	Seconds  float64 `json:"seconds"`
	// Err is why the platform failed; nil when it finished.
	Err error `json:"-"`
}

// NodeLostError cancels a platform's build whose node stopped answering.
type NodeLostError struct {
	Node   string
	Health nodes.Health
}

func (e *NodeLostError) Error() string {
	msg := fmt.Sprintf("node %s was lost mid-build (%s", e.Node, e.Health.Status)
	if e.Health.Error != "" {
		msg += ": " + e.Health.Error
	}
	return msg + ")"
}

// pushRetries is how many times a platform whose push failed for a reason
// that passes (a 503, a reset connection) is built again on the same node:
// the layers are cached, so a retry costs the push only.
const pushRetries = 2

// buildPlatforms builds every platform of the plan as its own build on its
// own node, all at once, on one display: each is pushed by digest when the
// build pushes. A platform whose node is lost is re-routed; the others go
// on. It fills s.Platforms and returns an error naming every platform that
// failed (the finished ones are recorded for a re-run to reuse).
func buildPlatforms(ctx context.Context, s *State, eng engine.Engine) error {
	out := s.maskedErr()
	defer out.Close()
	display := engine.NewDisplay(out, s.Config.Progress)
	b := &platformBuilder{s: s, eng: eng, display: display}
	results := make([]*PlatformResult, len(s.Plan.Assignments))
	var wg sync.WaitGroup
	for i, a := range s.Plan.Assignments {
		wg.Go(func() { results[i] = b.build(ctx, a) })
	}
	wg.Wait()
	display.Close()
	s.Platforms = results
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, s.Secrets.String(r.Err.Error()))
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if len(failed) == 0 {
		return nil
	}
	msg := strings.Join(failed, "\n")
	if s.Resume != nil && len(failed) < len(results) {
		msg += "\nthe platforms that finished are pushed by digest and recorded: running the same command again rebuilds only the ones that failed"
	}
	return errors.New(msg)
}

// maskedErr is the error stream with secrets masked; a terminal stays a
// terminal so the tty display works.
func (s *State) maskedErr() io.WriteCloser {
	if f, ok := s.Err.(*os.File); ok {
		return s.Secrets.File(f)
	}
	return s.Secrets.Writer(s.Err)
}

// platformBuilder runs the platforms' builds of one build step.
type platformBuilder struct {
	s       *State
	eng     engine.Engine
	display *engine.Display
	// applied remembers the single-node builders made ready in this run.
	mu      sync.Mutex
	applied map[string]bool
}

// build runs one platform to the end: reused from an earlier run, built
// on its node, or, when that node is lost, on another one.
func (b *platformBuilder) build(ctx context.Context, a nodes.Assignment) *PlatformResult {
	s := b.s
	start := s.now()
	r := &PlatformResult{Platform: a.Platform, Node: a.Node, Emulated: a.Emulated, Result: ResultBuilt}
	defer func() { r.Seconds = roundSeconds(s.now().Sub(start)) }()
	defer s.Claims.Release(a.Platform) // the other runs here see the node free again
	if prev, ok := s.Resume.reusable(a.Platform); ok {
		r.Node, r.Result, r.Pushed = prev.Node, ResultReused, prev.Digest
		s.Log.Info("%s: reused %s, pushed by node %s in an earlier run of this build", a.Platform, short(prev.Digest), prev.Node)
		return r
	}
	retries := 0
	for {
		r.Attempts++
		res, err := b.buildOn(ctx, a.Platform, r.Node)
		if err == nil {
			if s.Config.Push {
				r.Pushed = res.Digest
			}
			r.Metadata = res.Metadata
			r.BuildRef, _ = res.Metadata["buildx.build.ref"].(string)
			s.Resume.record(a.Platform, r)
			return r
		}
		if ctx.Err() != nil {
			r.Err = fmt.Errorf("%s: %w", a.Platform, context.Cause(ctx))
			return r
		}
		var lost *NodeLostError
		if !errors.As(err, &lost) {
			lost = b.lostNow(ctx, r.Node)
		}
		if lost != nil {
			r.Lost = append(r.Lost, r.Node)
			if a.Pinned {
				r.Err = fmt.Errorf("%s: %v; it is pinned to %s (--node), so it is not built on another node: bring %s back and run the build again, or drop the pin", a.Platform, lost, r.Node, r.Node)
				return r
			}
			next, why := b.reroute(ctx, a.Platform, r.Lost)
			if next == nil {
				r.Err = fmt.Errorf("%s: %v, and no other node can build it: %s", a.Platform, lost, why)
				return r
			}
			kind := "native"
			if next.Emulated {
				kind = "emulated: through QEMU"
			}
			s.Log.Warn("%s: %v; building it again on %s (%s)", a.Platform, lost, next.Node, kind)
			r.Node, r.Emulated, r.Result = next.Node, next.Emulated, ResultFailover
			continue
		}
		if why := transientPush(err); why != "" && retries < pushRetries {
			retries++
			s.Log.Warn("%s: the push failed (%s); building it again on %s, retry %d of %d", a.Platform, why, r.Node, retries, pushRetries)
			if !sleepCtx(ctx, time.Duration(retries)*time.Second) {
				r.Err = fmt.Errorf("%s: %w", a.Platform, context.Cause(ctx))
				return r
			}
			continue
		}
		r.Err = fmt.Errorf("%s (on node %s): %w%s", a.Platform, r.Node, err, b.hint(r.Node, err))
		return r
	}
}

// buildOn builds platform p on the node called name, watching the node
// while it runs: a lost node cancels the build with a NodeLostError.
func (b *platformBuilder) buildOn(ctx context.Context, p, name string) (*engine.BuildResult, error) {
	s := b.s
	node, ok := s.routedNode(name)
	if !ok {
		return nil, fmt.Errorf("internal error: node %s is not among the routed nodes", name)
	}
	builder, err := b.ensureBuilder(ctx, name)
	if err != nil {
		return nil, err
	}
	checker, err := s.checker()
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	defer func() { cancel(nil); <-watched }() // the watch ends with the build
	go func() {
		defer close(watched)
		checker.Watch(bctx, node, s.watchInterval(), 2, func(h nodes.Health) {
			cancel(&NodeLostError{Node: name, Health: h})
		})
	}()
	spec := s.platformSpec(p, builder)
	return b.eng.Build(bctx, spec, engine.BuildOptions{
		Display:      b.display,
		Label:        s.label(p),
		StallTimeout: s.Config.StallTimeout,
		Alive: func(ctx context.Context) (bool, string) {
			h := checker.Check(ctx, []nodes.Node{node})[0]
			if !h.Healthy() {
				return false, ""
			}
			return true, fmt.Sprintf("node %s answers in %s", name, h.Latency.Round(time.Millisecond))
		},
	})
}

// ensureBuilder makes the node's single-node buildx builder match the
// node (once per run; buildx runs only when it differs from its last sync).
func (b *platformBuilder) ensureBuilder(ctx context.Context, name string) (string, error) {
	builder := nodes.NodeBuilderName(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.applied[builder] {
		return builder, nil
	}
	st, err := b.s.store()
	if err != nil {
		return "", err
	}
	res, err := nodes.ApplyBuilder(ctx, b.eng, st, builder, nodes.NodeBuilder(name, b.s.RoutedNodes))
	if err != nil {
		return "", err
	}
	if len(res.Changed) > 0 {
		b.s.Log.Info("buildx builder %s: %s", builder, strings.Join(res.Changed, ", "))
	}
	if b.applied == nil {
		b.applied = map[string]bool{}
	}
	b.applied[builder] = true
	return builder, nil
}

// lostNow checks a node whose build failed: a node that does not answer
// now is lost (the build's own connection broke), not a failed build.
func (b *platformBuilder) lostNow(ctx context.Context, name string) *NodeLostError {
	node, ok := b.s.routedNode(name)
	if !ok {
		return nil
	}
	checker, err := b.s.checker()
	if err != nil {
		return nil
	}
	if h := checker.Check(ctx, []nodes.Node{node})[0]; !h.Healthy() {
		return &NodeLostError{Node: name, Health: h}
	}
	return nil
}

// reroute finds another node for platform p among the routed nodes, the
// lost ones left out: a healthy native one first (a sibling of the lost
// node), then, with allow-emulation, an emulated one. It says why there is
// none.
func (b *platformBuilder) reroute(ctx context.Context, p string, lost []string) (*nodes.Assignment, string) {
	s := b.s
	var rest []nodes.Node
	for _, n := range s.RoutedNodes {
		if !contains(lost, n.Name) && nodes.BuildsPlatform(n, p) {
			rest = append(rest, n)
		}
	}
	if len(rest) == 0 {
		return nil, fmt.Sprintf("no other registered node builds %s (register one: xbuild nodes add NAME --endpoint URL --platform %s)", p, p)
	}
	checker, err := s.checker()
	if err != nil {
		return nil, err.Error()
	}
	health := map[string]nodes.Health{}
	for _, h := range checker.Check(ctx, rest) {
		health[h.Node] = h
	}
	// the platform's claim moves with it, under the claims lock
	var routed *nodes.Assignment
	var routeErr error
	a, err := s.Claims.Reroute(p, func(claimed map[string]int) (*nodes.Assignment, error) {
		plan, err := nodes.RouteWith(nodes.RouteRequest{Platforms: []string{p}, Nodes: rest, Health: health, AllowEmulation: s.Config.AllowEmulation, Claimed: claimed})
		if err != nil {
			routeErr = err
			return nil, err
		}
		routed = &plan.Assignments[0]
		return routed, nil
	})
	if err != nil && routeErr == nil && routed != nil {
		// routed, but the claim could not be written (a full disk): the
		// failover goes on without it
		s.Log.Warn("%s: the build claim on %s was not recorded (%v)", p, routed.Node, err)
		a, err = routed, nil
	}
	if err != nil {
		return nil, strings.TrimPrefix(err.Error(), p+": ")
	}
	return a, ""
}

// hint adds what to do about a build failure that has a known cause.
func (b *platformBuilder) hint(name string, err error) string {
	n, _ := b.s.routedNode(name)
	return bootstrapHint(n, err)
}

// bootstrapHint explains a docker node whose BuildKit container cannot
// start because the BuildKit image cannot be pulled (buildx's
// docker-container driver pulls moby/buildkit from Docker Hub by default).
func bootstrapHint(n nodes.Node, err error) string {
	if n.Kind != nodes.KindDocker {
		return ""
	}
	msg := err.Error()
	pulling := strings.Contains(msg, "moby/buildkit") || strings.Contains(msg, "registry-1.docker.io") || strings.Contains(msg, "pull access denied")
	if !pulling {
		return ""
	}
	return fmt.Sprintf("\n  the Docker engine at %s runs BuildKit in a container from the image moby/buildkit, which it could not pull: "+
		"register the engine with an image it can reach (xbuild nodes add %s --kind docker --endpoint %s --driver-opt image=REGISTRY/moby/buildkit:TAG), "+
		"or run buildkitd on this machine (buildkitd --addr unix:///run/buildkit/buildkitd.sock) and build there", n.Endpoint, n.Name, n.Endpoint)
}

// transientPush says why a failed build is worth running again on the same
// node: its push met a registry or network failure that passes. "" when it
// is not.
func transientPush(err error) string {
	msg := err.Error()
	for _, s := range []string{"503 Service Unavailable", "502 Bad Gateway", "504 Gateway Timeout", "500 Internal Server Error", "429 Too Many Requests",
		"connection reset by peer", "broken pipe", "i/o timeout", "TLS handshake timeout", "unexpected EOF"} {
		if strings.Contains(msg, s) {
			return s
		}
	}
	return ""
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// routedNode returns the routed node called name.
func (s *State) routedNode(name string) (nodes.Node, bool) {
	for _, n := range s.RoutedNodes {
		if n.Name == name {
			return n, true
		}
	}
	return nodes.Node{}, false
}

// watchInterval is how often a node in use is checked.
func (s *State) watchInterval() time.Duration {
	if s.WatchInterval > 0 {
		return s.WatchInterval
	}
	return 2 * time.Second
}

// platformSpec is one platform's build on builder: the build's spec for
// that platform alone, pushed by digest (no tag) when the build pushes,
// with its own registry cache refs.
func (s *State) platformSpec(p, builder string) engine.BuildSpec {
	spec := splitSpec(s.Spec, p, s.repo)
	spec.Builder = builder
	if !s.Config.Push {
		spec.Outputs = s.platformOutputs(s.Spec.Outputs, p)
	}
	return spec
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// label names a platform's build in the progress display: "api
// linux/amd64" when several images build at once.
func (s *State) label(p string) string {
	if s.Options.Target == "" {
		return p
	}
	return s.Options.Target + " " + p
}

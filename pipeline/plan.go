package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// PlanStep checks the builder's nodes, routes each platform to a healthy
// node and assembles the exact buildx commands. With --dry-run it prints
// them and stops.
type PlanStep struct{}

// Name implements Step.
func (PlanStep) Name() string { return "plan" }

// String implements Step.
func (PlanStep) String() string { return "checking nodes and routing platforms" }

// Run implements Step.
func (PlanStep) Run(ctx context.Context, s *State) error {
	c := s.Config
	s.waitPrefetch() // the checks started with lint own the nodes, engine and checker until done
	all, err := s.nodeList()
	if err != nil {
		return err
	}
	candidates := nodesFor(all, c.Builder, c.Platforms)
	var plan *nodes.Plan
	switch {
	case len(all) == 0 && len(c.Nodes) > 0:
		err = fmt.Errorf("--node %s: no node is registered, so there is nothing to pin to (register nodes with xbuild nodes add, or drop --node to build on this machine)", strings.Join(c.Nodes, ","))
	case len(all) == 0:
		plan, candidates, err = planLocal(ctx, s)
	case len(candidates) == 0:
		err = noNodesError(all, c)
	default:
		plan, err = routeRegistered(ctx, s, candidates)
	}
	if err != nil {
		if s.Options.DryRun {
			printNoPlan(s.Out, s, err)
		}
		return err
	}
	s.Plan = plan
	s.RoutedNodes = candidates
	for _, w := range plan.Warnings {
		s.Log.Warn("%s", w)
	}

	s.BuildArgs = MergeBuildArgs(ProxyBuildArgs(c.Proxy, s.Getenv), c.BuildArgs, s.Secrets)
	for k := range s.BuildArgs {
		if err := config.CheckBuildArgName(k); err != nil {
			return err
		}
	}
	if s.Builder, err = nodes.DesiredBuilder(membersOf(all, c.Builder), plan, candidates); err != nil {
		return err
	}
	s.Spec = buildSpec(c, s.Options, s.BuildArgs, c.Builder)
	if err := applySupply(ctx, s, &s.Spec); err != nil {
		return err
	}
	if c.Push {
		if s.repo, err = oneRepository(c.Refs()); err != nil {
			return err
		}
		if c.PushByDigest {
			byDigestNotice(s)
		}
		if s.Resume, err = prepareResume(ctx, s); err != nil {
			return err
		}
	}

	if s.Options.DryRun {
		changes, err := s.previewBuilders()
		if err != nil {
			return err
		}
		printPlan(s.Out, s, changes)
		return ErrStop
	}
	return nil
}

// previewBuilders lists the buildx commands the build would run to make
// its builders ready, reading their recorded state only.
func (s *State) previewBuilders() ([]nodes.BuilderChange, error) {
	eng, err := s.engine()
	if err != nil {
		return nil, err
	}
	var out []nodes.BuilderChange
	seen := map[string]bool{}
	for _, a := range s.Plan.Assignments {
		if seen[a.Node] {
			continue
		}
		seen[a.Node] = true
		if _, reused := s.Resume.reusable(a.Platform); reused {
			continue
		}
		ch, err := nodes.PreviewBuilder(eng, s.stateDir(), nodes.NodeBuilderName(a.Node), nodes.NodeBuilder(a.Node, s.RoutedNodes))
		if err != nil {
			return nil, err
		}
		out = append(out, ch...)
	}
	return out, nil
}

// oneRepository returns the repository all refs are in: each platform is
// pushed there by digest, then the verified index is tagged there.
func oneRepository(refs []string) (string, error) {
	if len(refs) == 0 {
		return "", errors.New("nothing to push to: set image and tags, or pass -t REGISTRY/APP:TAG")
	}
	repo, err := repository(refs[0])
	if err != nil {
		return "", fmt.Errorf("tag %s: %w", refs[0], err)
	}
	for _, r := range refs[1:] {
		other, err := repository(r)
		if err != nil {
			return "", fmt.Errorf("tag %s: %w", r, err)
		}
		if other != repo {
			return "", fmt.Errorf("tags %s and %s are in different repositories: xbuild pushes a build to one repository and tags it there once it is verified; build once per repository, or copy the published image afterwards (xbuild buildx imagetools create --tag %s %s)", refs[0], r, r, refs[0])
		}
	}
	return repo, nil
}

// routeRegistered checks the registered candidates and routes platforms.
func routeRegistered(ctx context.Context, s *State, candidates []nodes.Node) (*nodes.Plan, error) {
	checker, err := s.checker()
	if err != nil {
		return nil, err
	}
	start := s.now()
	health, took, prefetched := s.takePrefetch(candidates)
	if prefetched {
		s.Health = health // checked while lint ran
	} else {
		s.Health = checker.Check(ctx, candidates)
		took = s.now().Sub(start)
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx) // Ctrl-C: the cancelled checks say nothing about the nodes
	}
	byNode := map[string]nodes.Health{}
	for _, h := range s.Health {
		byNode[h.Node] = h
		s.Log.Info("%s", healthLine(h))
	}
	s.Log.Info("%s", checkedLine(len(candidates), took))
	req := nodes.RouteRequest{Platforms: s.Config.Platforms, Nodes: candidates, Health: byNode, AllowEmulation: s.Config.AllowEmulation}
	if req.Pins, err = nodes.ResolvePins(pinsOf(s.Config.Nodes), s.Config.Platforms, candidates); err != nil {
		return nil, err
	}
	if s.Options.DryRun {
		// what the other runs on this machine claimed, read without writing
		if req.Claimed, err = nodes.ReadClaims(s.StateDir); err != nil {
			s.Log.Warn("%v", err)
		}
		return nodes.RouteWith(req)
	}
	// routed under the claims lock, and claimed before it is released: an
	// xbuild build started at the same moment sees these platforms on
	// their nodes before their builds reach the nodes' BuildKit
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	var routeErr error
	plan, claims, err := st.RouteClaimed(func(claimed map[string]int) (*nodes.Plan, error) {
		req.Claimed = claimed
		plan, err := nodes.RouteWith(req)
		routeErr = err
		return plan, err
	})
	if routeErr != nil {
		return nil, routeErr
	}
	if err != nil {
		// claims only spread concurrent runs: a config dir that cannot
		// hold them (a full disk) costs that, not the build
		s.Log.Warn("the build claims were not recorded (%v): concurrent xbuild runs on this machine may pick the same nodes", err)
		req.Claimed = nil
		return nodes.RouteWith(req)
	}
	s.Claims = claims
	return plan, nil
}

// pinsOf turns the nodes setting (--node) into pins; Validate has checked
// every entry.
func pinsOf(entries []string) []nodes.Pin {
	var out []nodes.Pin
	for _, e := range entries {
		if p, node, err := config.ParseNodePin(e); err == nil {
			out = append(out, nodes.Pin{Platform: p, Node: node})
		}
	}
	return out
}

// membersOf returns the registered nodes of builder.
func membersOf(all []nodes.Node, builder string) []nodes.Node {
	var out []nodes.Node
	for _, n := range all {
		if n.Builder == builder {
			out = append(out, n)
		}
	}
	return out
}

// nodesFor returns the nodes of builder that build any of the platforms.
func nodesFor(all []nodes.Node, builder string, platforms []string) []nodes.Node {
	var out []nodes.Node
	for _, n := range all {
		if n.Builder != "" && n.Builder != builder {
			continue
		}
		for _, p := range platforms {
			if nodes.BuildsPlatform(n, p) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

func noNodesError(all []nodes.Node, c config.Config) error {
	return fmt.Errorf("no node of builder %q builds any of %s; registered nodes: %s (add one with xbuild nodes add NAME --platform ... --builder %s)",
		c.Builder, strings.Join(c.Platforms, ", "), nodeSummary(all), c.Builder)
}

func nodeSummary(all []nodes.Node) string {
	var parts []string
	for _, n := range all {
		parts = append(parts, fmt.Sprintf("%s [%s, builder %s]", n.Name, strings.Join(n.Platforms, " "), n.Builder))
	}
	return strings.Join(parts, "; ")
}

// checkedLine closes the plan's health lines.
func checkedLine(n int, d time.Duration) string {
	return fmt.Sprintf("%d node(s) checked in %s", n, d.Round(time.Millisecond))
}

func healthLine(h nodes.Health) string {
	line := fmt.Sprintf("node %-12s %-11s", h.Node, h.Status)
	if h.Healthy() {
		line += fmt.Sprintf(" %s  %s", h.BuildKitVersion, h.Latency.Round(time.Millisecond))
	} else if h.Error != "" {
		line += " " + h.Error
	}
	return line
}

// buildSpec assembles the buildx build from config and flags.
func buildSpec(c config.Config, o Options, args map[string]string, builder string) engine.BuildSpec {
	spec := engine.BuildSpec{
		Builder:    builder,
		ContextDir: c.Context,
		Dockerfile: c.Dockerfile,
		Platforms:  c.Platforms,
		Tags:       c.Refs(),
		BuildArgs:  args,
		Target:     c.Target,
		CacheFrom:  c.CacheFrom,
		CacheTo:    c.CacheTo,
		NoCache:    o.NoCache,
		Pull:       o.Pull,
		Run:        o.Run,
	}
	if c.Push {
		spec.Image = &engine.ImageOutput{Push: true, Compression: c.Compression, CompressionLevel: c.CompressionLevel}
		// min provenance records no build-arg values: proxy credentials
		// passed as build args stay out of the pushed attestations.
		spec.Provenance = "mode=min"
	} else {
		spec.Outputs = compressedOutputs(o.Outputs, c.Compression, c.CompressionLevel)
		if len(spec.Outputs) == 0 {
			// say "keep it in the build cache" explicitly, instead of buildx's
			// "No output specified" warning
			spec.Outputs = []string{"type=cacheonly"}
		}
	}
	return spec
}

// printPlan writes the dry-run plan: routing and the exact commands the
// build would run (the builders change only where they differ from their
// last sync), with secrets masked.
func printPlan(w io.Writer, s *State, changes []nodes.BuilderChange) {
	fmt.Fprintf(w, "Plan (builder %s):\n", s.Config.Builder)
	for _, a := range s.Plan.Assignments {
		kind := "native"
		if a.Emulated {
			kind = "emulated (QEMU)"
		}
		if a.Pinned {
			kind += ", pinned (--node)"
		}
		fmt.Fprintf(w, "  %-14s -> %s, %s\n", a.Platform, a.Node, kind)
	}
	for _, line := range s.Resume.describe() {
		fmt.Fprintf(w, "  %s\n", line)
	}
	for _, dc := range s.Contexts {
		fmt.Fprintf(w, "\ndocker context xbuild would write first: %s (%s)\n", dc.Name, dc.Host)
	}
	fmt.Fprintln(w, "\nbuildx commands xbuild would run:")
	if len(changes) == 0 {
		fmt.Fprintln(w, "  (the buildx builders are as their last sync left them: nothing to create or change)")
	}
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", s.Secrets.String(engine.Quote("docker buildx", c.Args)))
	}
	switch {
	case s.calls():
		a := s.Plan.Assignments[0]
		spec := s.platformSpec(a.Platform, nodes.NodeBuilderName(a.Node))
		spec.Outputs, spec.CacheTo = nil, nil
		fmt.Fprintf(w, "  %s\n", s.Secrets.String(engine.Quote("docker buildx", engine.BuildArgs(spec))))
	default:
		for _, a := range s.Plan.Assignments {
			if _, reused := s.Resume.reusable(a.Platform); reused {
				continue
			}
			spec := s.platformSpec(a.Platform, nodes.NodeBuilderName(a.Node))
			fmt.Fprintf(w, "  %s\n", s.Secrets.String(engine.Quote("docker buildx", engine.BuildArgs(spec))))
		}
	}
	fmt.Fprintln(w, "(to read the result, xbuild also passes --progress rawjson and --metadata-file FILE to each build)")
	if s.calls() {
		fmt.Fprintf(w, "\n--call %s evaluates the Dockerfile once, for %s: nothing would be built or pushed.\n", s.Options.Run.Call, s.Plan.Assignments[0].Platform)
		return
	}
	if !s.Config.Push {
		fmt.Fprintln(w, "\nNothing would be pushed (no --push).")
		for _, o := range outputsOf(s.Spec.Outputs) {
			if s.merged(o) {
				fmt.Fprintf(w, "Then xbuild merges the platforms' exports (in %s, a temporary directory) into %s.\n", exportPlaceholder, mergedTarget(o))
			}
			if o.Type != "cacheonly" {
				fmt.Fprintf(w, "Output type=%s would not be verified (xbuild verifies what it pushes to a registry).\n", o.Type)
			}
		}
		return
	}
	if s.Config.PushByDigest {
		printByDigestPlan(w, s)
		return
	}
	fmt.Fprintf(w, "\nThen: one index of the platforms pushed by digest to %s, verified in the registry", s.repo)
	if !s.Config.Verify {
		fmt.Fprint(w, " (verify: false, so not verified)")
	}
	if s.Config.Sign.Key != "" {
		fmt.Fprintf(w, ", signed with %s", s.Config.Sign.Key)
	}
	fmt.Fprintf(w, ", and only then tagged: %s\n", strings.Join(s.Config.Refs(), ", "))
}

// printNoPlan is the dry run's plan when the platforms have nowhere to
// go: what was asked, and why it cannot run.
func printNoPlan(w io.Writer, s *State, why error) {
	fmt.Fprintf(w, "Plan (builder %s): %s cannot be routed:\n", s.Config.Builder, strings.Join(s.Config.Platforms, ", "))
	for _, line := range strings.Split(s.Secrets.String(why.Error()), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintln(w, "\nNothing would be built: a build with these settings stops here.")
}

// errNoPlan is returned by steps that need a plan when there is none.
var errNoPlan = errors.New("internal error: no plan")

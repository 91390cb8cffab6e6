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
	all, err := s.nodeList()
	if err != nil {
		return err
	}
	candidates := nodesFor(all, c.Builder, c.Platforms)
	var plan *nodes.Plan
	switch {
	case len(all) == 0:
		plan, candidates, err = planLocal(ctx, s)
	case len(candidates) == 0:
		err = noNodesError(all, c)
	default:
		plan, err = routeRegistered(ctx, s, candidates)
	}
	if err != nil {
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

	if s.Options.DryRun {
		eng, err := s.engine()
		if err != nil {
			return err
		}
		changes, err := nodes.PreviewBuilder(eng, s.stateDir(), c.Builder, s.Builder)
		if err != nil {
			return err
		}
		printPlan(s.Out, s, changes)
		return ErrStop
	}
	return nil
}

// routeRegistered checks the registered candidates and routes platforms.
func routeRegistered(ctx context.Context, s *State, candidates []nodes.Node) (*nodes.Plan, error) {
	checker, err := s.checker()
	if err != nil {
		return nil, err
	}
	start := s.now()
	s.Health = checker.Check(ctx, candidates)
	health := map[string]nodes.Health{}
	for _, h := range s.Health {
		health[h.Node] = h
		s.Log.Info("%s", healthLine(h))
	}
	s.Log.Info("%d node(s) checked in %s", len(candidates), s.now().Sub(start).Round(time.Millisecond))
	return nodes.Route(s.Config.Platforms, candidates, health, s.Config.AllowEmulation)
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
	}
	if c.Push {
		spec.Image = &engine.ImageOutput{Push: true, Compression: c.Compression, CompressionLevel: c.CompressionLevel}
		// min provenance records no build-arg values: proxy credentials
		// passed as build args stay out of the pushed attestations.
		spec.Provenance = "mode=min"
	} else {
		spec.Outputs = o.Outputs
		if len(spec.Outputs) == 0 {
			// say "keep it in the build cache" explicitly, instead of buildx's
			// "No output specified" warning
			spec.Outputs = []string{"type=cacheonly"}
		}
	}
	return spec
}

// printPlan writes the dry-run plan: routing and the exact commands the
// build would run (the builder changes only where it differs from the
// last sync), with secrets masked.
func printPlan(w io.Writer, s *State, changes []nodes.BuilderChange) {
	fmt.Fprintf(w, "Plan (builder %s):\n", s.Config.Builder)
	for _, a := range s.Plan.Assignments {
		kind := "native"
		if a.Emulated {
			kind = "emulated (QEMU)"
		}
		fmt.Fprintf(w, "  %-14s -> %s, %s\n", a.Platform, a.Node, kind)
	}
	for _, dc := range s.Contexts {
		fmt.Fprintf(w, "\ndocker context xbuild would write first: %s (%s)\n", dc.Name, dc.Host)
	}
	fmt.Fprintln(w, "\nbuildx commands xbuild would run:")
	if len(changes) == 0 {
		fmt.Fprintf(w, "  (buildx builder %s is as the last sync left it: nothing to create or change)\n", s.Config.Builder)
	}
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", s.Secrets.String(engine.Quote("docker buildx", c.Args)))
	}
	fmt.Fprintf(w, "  %s\n", s.Secrets.String(engine.Quote("docker buildx", engine.BuildArgs(s.Spec))))
	fmt.Fprintln(w, "(to read the result, xbuild also passes --progress rawjson and --metadata-file FILE to the build)")
	if !s.Config.Push {
		fmt.Fprintln(w, "\nNothing would be pushed (no --push).")
	}
}

// errNoPlan is returned by steps that need a plan when there is none.
var errNoPlan = errors.New("internal error: no plan")

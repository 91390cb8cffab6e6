package nodes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

// Assignment routes one platform to one node.
type Assignment struct {
	Platform string `json:"platform"`
	Node     string `json:"node"`
	// Emulated is set when the node builds the platform through QEMU.
	Emulated bool `json:"emulated"`
	// Pinned is set when the platform was pinned to the node (--node): it
	// is built there or not at all, never re-routed.
	Pinned bool `json:"pinned,omitempty"`
	// Reason says why this node was chosen, for the plan printout.
	Reason string `json:"reason"`
}

// Plan is where each requested platform is built.
type Plan struct {
	// Assignments are in the order the platforms were requested.
	Assignments []Assignment `json:"assignments"`
	// Warnings are emulation fallbacks, to be shown prominently.
	Warnings []string `json:"warnings,omitempty"`
}

// Route assigns every requested platform to a node, as RouteWith does with
// no pins and no claims.
func Route(platforms []string, nodes []Node, health map[string]Health, allowEmulation bool) (*Plan, error) {
	return RouteWith(RouteRequest{Platforms: platforms, Nodes: nodes, Health: health, AllowEmulation: allowEmulation})
}

// RouteRequest is what RouteWith decides from.
type RouteRequest struct {
	// Platforms are the requested platforms, canonical (internal/platform).
	Platforms []string
	// Nodes are the candidate nodes.
	Nodes []Node
	// Health is the candidates' health by node name; a node missing here
	// was not checked and is not used.
	Health map[string]Health
	// AllowEmulation lets a platform without a usable native node go to
	// an emulated one.
	AllowEmulation bool
	// Pins maps a platform to the one node it must be built on
	// (ResolvePins): that node, or the platform fails.
	Pins map[string]string
	// Claimed counts, per node, the platform builds that other xbuild runs
	// on this machine have routed there and not finished (Store.Claims):
	// a build that has just been routed has not reached the node's
	// BuildKit yet, so its running builds do not show it.
	Claimed map[string]int
}

// RouteWith assigns every requested platform to a node. A pinned platform
// goes to its node, which must be healthy and offer it: a pinned platform
// is never routed elsewhere. Any other platform goes to a healthy native
// node that lists it; among several, the least loaded: its running builds
// (the more of what its BuildKit reports and what other runs here claimed)
// plus the platforms this plan already put on it; then a checked node
// before an unchecked one (kubernetes), then the lowest latency, then the
// name. When no native node is usable and AllowEmulation is set, a healthy
// emulated node takes it, with a warning. A node the health check did not
// cover (missing from Health) is not used, nor one whose daemon reported
// platforms that do not include the platform. Otherwise the error names
// each platform that has nowhere to go, every candidate node and why it is
// unusable, and what to do. RouteWith is pure: health comes from Checker.
// Platforms, the nodes' and the health's are canonical (internal/platform).
func RouteWith(r RouteRequest) (*Plan, error) {
	if len(r.Platforms) == 0 {
		return nil, errors.New("no platforms requested: pass --platform, e.g. --platform linux/amd64,linux/arm64, or set platforms in xbuild.yaml")
	}
	// platforms and the nodes' platforms are canonical: config loading and
	// the node store normalize them (internal/platform)
	var want []string
	for _, p := range r.Platforms {
		if !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	byName := slices.Clone(r.Nodes)
	slices.SortFunc(byName, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })

	plan := &Plan{}
	l := loads{claimed: r.Claimed, planned: map[string]int{}}
	var errs []error
	for _, p := range want {
		if name, ok := r.Pins[p]; ok {
			if err := plan.pinned(p, name, byName, r, l); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		var native, emulated []verdict
		for _, n := range byName {
			if !slices.Contains(n.Platforms, p) {
				continue
			}
			v := judge(n, r.Health, p)
			if n.Emulated {
				emulated = append(emulated, v)
			} else {
				native = append(native, v)
			}
		}
		if len(native) == 0 && len(emulated) == 0 {
			errs = append(errs, fmt.Errorf("%s: no registered node builds it: register one with xbuild nodes add NAME --endpoint URL --platform %s (add --emulated for a node that builds it through QEMU)", p, p))
			continue
		}
		if best, ok := pick(native, l); best != nil {
			reason := "native"
			if len(ok) > 1 {
				reason = fmt.Sprintf("native; picked from %d healthy native nodes (least busy, then lowest latency, then name)%s", len(ok), l.describe(ok))
			}
			plan.add(p, best, false, reason, l)
			continue
		}
		if best, _ := pick(emulated, l); best != nil && r.AllowEmulation {
			why := "no native node is registered for " + p
			if len(native) > 0 {
				why = describeNatives(native)
			}
			plan.Warnings = append(plan.Warnings, emulationWarning(p, why, best.node.Name))
			reason := "emulated through QEMU: no healthy native node"
			if len(native) == 0 {
				reason = "emulated through QEMU: no native node is registered"
			}
			plan.add(p, best, true, reason, l)
			continue
		}
		errs = append(errs, unroutable(p, native, emulated, r.AllowEmulation))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plan, nil
}

func emulationWarning(p, why, node string) string {
	return fmt.Sprintf("%s: %s; building it on emulated node %s through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)", p, why, node)
}

// pinned routes platform p to the node it is pinned to, or says why it
// cannot be built there. It does not fall back to another node: whoever
// pinned the platform wants it built there or not at all (a release built
// on a known machine, a node being tested).
func (pl *Plan) pinned(p, name string, byName []Node, r RouteRequest, l loads) error {
	i := slices.IndexFunc(byName, func(n Node) bool { return n.Name == name })
	if i < 0 {
		return fmt.Errorf("%s: pinned to node %s (--node or nodes in xbuild.yaml), which is not among the nodes that build it: check the name with xbuild nodes ls", p, name)
	}
	n := byName[i]
	if !slices.Contains(n.Platforms, p) {
		return fmt.Errorf("%s: pinned to node %s, which does not build it (it builds %s): pin it to a node that does", p, name, strings.Join(n.Platforms, ", "))
	}
	v := judge(n, r.Health, p)
	if !v.ok {
		return fmt.Errorf("%s: pinned to node %s, which %s%s; a pinned platform is not routed to another node: bring %s back (xbuild nodes check %s), or drop the pin (--node, nodes in xbuild.yaml) to let xbuild pick a healthy node", p, name, v.phrase, colon(v.detail), name, name)
	}
	if n.Emulated {
		if !r.AllowEmulation {
			return fmt.Errorf("%s: pinned to node %s, which builds it through QEMU: pass --allow-emulation to build it there (5-20x slower), or pin a native node", p, name)
		}
		pl.Warnings = append(pl.Warnings, emulationWarning(p, "pinned to an emulated node", name))
		pl.add(p, &v, true, "pinned (--node); emulated through QEMU", l)
	} else {
		pl.add(p, &v, false, "native; pinned (--node)", l)
	}
	pl.Assignments[len(pl.Assignments)-1].Pinned = true
	return nil
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// loads is what RouteWith knows of each node's work: claims by other runs
// on this machine, and the platforms this plan put on it so far.
type loads struct {
	claimed map[string]int
	planned map[string]int
}

// running is a candidate's running builds: what its BuildKit reports or
// what other runs here claimed, whichever is more (a claimed build that
// has started is in both).
func (l loads) running(v verdict) int {
	return max(v.h.RunningBuilds(), l.claimed[v.node.Name])
}

// of is a candidate's load: its running builds plus what this plan put on
// it.
func (l loads) of(v verdict) int { return l.running(v) + l.planned[v.node.Name] }

// describe lists the candidates' running builds for the plan's reason,
// when any has some ("" when all are idle).
func (l loads) describe(cands []verdict) string {
	busy := false
	parts := make([]string, len(cands))
	for i, v := range cands {
		n := l.running(v)
		busy = busy || n > 0
		parts[i] = fmt.Sprintf("%s %d", v.node.Name, n)
	}
	if !busy {
		return ""
	}
	return "; running builds: " + strings.Join(parts, ", ")
}

func (pl *Plan) add(p string, v *verdict, emulated bool, reason string, l loads) {
	if v.h.Status == StatusUnsupported {
		reason += fmt.Sprintf("; not health-checked (%s node)", v.node.Kind)
	}
	pl.Assignments = append(pl.Assignments, Assignment{Platform: p, Node: v.node.Name, Emulated: emulated, Reason: reason})
	l.planned[v.node.Name]++
}

// verdict is whether one candidate node can take a platform, and if not,
// why: "is unreachable" + "dial tcp ...: connection refused".
type verdict struct {
	node   Node
	h      Health
	ok     bool
	phrase string
	detail string
	// problem is "down", "unchecked" or "unoffered" when !ok.
	problem string
}

func judge(n Node, health map[string]Health, p string) verdict {
	v := verdict{node: n}
	h, checked := health[n.Name]
	v.h = h
	switch {
	case !checked:
		v.phrase, v.problem = "was not health-checked", "unchecked"
	case !h.Healthy():
		v.phrase, v.detail, v.problem = statusPhrase(h.Status), h.Error, "down"
	case h.Status == StatusOK && len(h.Platforms) > 0 && n.DaemonReportsPlatforms() && !slices.Contains(h.Platforms, p):
		v.phrase, v.problem = "does not offer "+p, "unoffered"
		v.detail = "its daemon reports " + strings.Join(h.Platforms, ", ")
		if n.Emulated {
			v.detail += "; install QEMU there: docker run --privileged --rm tonistiigi/binfmt --install " + platform.ArchOf(p)
		}
	default:
		v.ok = true
	}
	return v
}

func statusPhrase(s Status) string {
	switch s {
	case StatusUnreachable:
		return "is unreachable"
	case StatusTimeout:
		return "timed out"
	case StatusTLSError:
		return "failed the TLS check"
	case StatusError:
		return "failed its health check"
	}
	return "is " + string(s)
}

// pick returns the best usable candidate and all the usable ones, in
// name order.
func pick(cands []verdict, l loads) (*verdict, []verdict) {
	var ok []verdict
	for _, v := range cands {
		if v.ok {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(ok)
	slices.SortStableFunc(sorted, func(a, b verdict) int {
		if d := l.of(a) - l.of(b); d != 0 {
			return d
		}
		au, bu := a.h.Status == StatusUnsupported, b.h.Status == StatusUnsupported
		if au != bu {
			if au {
				return 1
			}
			return -1
		}
		if a.h.Latency != b.h.Latency {
			if a.h.Latency < b.h.Latency {
				return -1
			}
			return 1
		}
		return strings.Compare(a.node.Name, b.node.Name)
	})
	return &sorted[0], ok
}

// describeNatives explains why no native node took a platform, for the
// emulation warning.
func describeNatives(native []verdict) string {
	if len(native) == 1 {
		return "native node " + native[0].node.Name + " " + native[0].phrase + paren(native[0].detail)
	}
	parts := make([]string, len(native))
	for i, v := range native {
		parts[i] = v.node.Name + " " + v.phrase + paren(v.detail)
	}
	return "native nodes are unusable: " + strings.Join(parts, ", ")
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// unroutable is the error for a platform with nowhere to go.
func unroutable(p string, native, emulated []verdict, allowEmulation bool) error {
	var b strings.Builder
	if len(native) > 0 {
		fmt.Fprintf(&b, "%s: no healthy native node:", p)
	} else {
		fmt.Fprintf(&b, "%s: no native node is registered:", p)
	}
	problems := map[string][]string{}
	var emuOK string
	line := func(v verdict, role string) {
		fmt.Fprintf(&b, "\n  - %s (%s) %s", v.node.Name, role, v.phrase)
		if v.detail != "" {
			b.WriteString(": " + v.detail)
		}
	}
	for _, v := range native {
		line(v, "native")
		problems[v.problem] = append(problems[v.problem], v.node.Name)
	}
	for _, v := range emulated {
		if v.ok {
			v.phrase = "is healthy, but emulation is not allowed"
			if emuOK == "" {
				emuOK = v.node.Name
			}
		} else {
			problems[v.problem] = append(problems[v.problem], v.node.Name)
		}
		line(v, "emulated")
	}
	var fixes []string
	if names := problems["down"]; len(names) > 0 {
		fixes = append(fixes, fmt.Sprintf("bring %s back and check with xbuild nodes check", strings.Join(names, ", ")))
	}
	if names := problems["unchecked"]; len(names) > 0 {
		fixes = append(fixes, fmt.Sprintf("health-check %s first", strings.Join(names, ", ")))
	}
	if names := problems["unoffered"]; len(names) > 0 {
		fixes = append(fixes, fmt.Sprintf("make %s offer %s, or correct the registered platforms (xbuild nodes rm, then add with the right --platform)", strings.Join(names, ", "), p))
	}
	if emuOK != "" && !allowEmulation {
		fixes = append(fixes, fmt.Sprintf("pass --allow-emulation to build it through QEMU on %s (5-20x slower)", emuOK))
	}
	fixes = append(fixes, fmt.Sprintf("register a native node with xbuild nodes add NAME --endpoint URL --platform %s", p))
	b.WriteString("\n  to fix: " + strings.Join(fixes, "; or "))
	return errors.New(b.String())
}

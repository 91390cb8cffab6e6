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

// Route assigns every requested platform to a node. A platform goes to a
// healthy native node that lists it; among several, the one with the
// fewest platforms already assigned in this plan, then a checked node
// before an unchecked one (kubernetes), then the lowest latency, then the
// name. When no native node is usable and allowEmulation is set, a healthy
// emulated node takes it, with a warning. A node the health check did not
// cover (missing from health) is not used, nor one whose daemon reported
// platforms that do not include the platform. Otherwise the error names
// each platform that has nowhere to go, every candidate node and why it is
// unusable, and what to do. Route is pure: health comes from Checker.
// Platforms, the nodes' and the health's are canonical (internal/platform).
func Route(platforms []string, nodes []Node, health map[string]Health, allowEmulation bool) (*Plan, error) {
	if len(platforms) == 0 {
		return nil, errors.New("no platforms requested: pass --platform, e.g. --platform linux/amd64,linux/arm64, or set platforms in xbuild.yaml")
	}
	// platforms and the nodes' platforms are canonical: config loading and
	// the node store normalize them (internal/platform)
	var want []string
	for _, p := range platforms {
		if !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	byName := slices.Clone(nodes)
	slices.SortFunc(byName, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })

	plan := &Plan{}
	load := map[string]int{}
	var errs []error
	for _, p := range want {
		var native, emulated []verdict
		for _, n := range byName {
			if !slices.Contains(n.Platforms, p) {
				continue
			}
			v := judge(n, health, p)
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
		if best, k := pick(native, load); best != nil {
			reason := "native"
			if k > 1 {
				reason = fmt.Sprintf("native; picked from %d healthy native nodes (least busy, then lowest latency, then name)", k)
			}
			plan.add(p, best, false, reason, load)
			continue
		}
		if best, _ := pick(emulated, load); best != nil && allowEmulation {
			why := "no native node is registered for " + p
			if len(native) > 0 {
				why = describeNatives(native)
			}
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: %s; building it on emulated node %s through QEMU (RUN steps run emulated: compiling there is 5-20x slower unless the Dockerfile cross-compiles on $BUILDPLATFORM)", p, why, best.node.Name))
			reason := "emulated through QEMU: no healthy native node"
			if len(native) == 0 {
				reason = "emulated through QEMU: no native node is registered"
			}
			plan.add(p, best, true, reason, load)
			continue
		}
		errs = append(errs, unroutable(p, native, emulated, allowEmulation))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plan, nil
}

func (pl *Plan) add(p string, v *verdict, emulated bool, reason string, load map[string]int) {
	if v.h.Status == StatusUnsupported {
		reason += fmt.Sprintf("; not health-checked (%s node)", v.node.Kind)
	}
	pl.Assignments = append(pl.Assignments, Assignment{Platform: p, Node: v.node.Name, Emulated: emulated, Reason: reason})
	load[v.node.Name]++
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

// pick returns the best usable candidate and how many were usable.
func pick(cands []verdict, load map[string]int) (*verdict, int) {
	var ok []verdict
	for _, v := range cands {
		if v.ok {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return nil, 0
	}
	slices.SortStableFunc(ok, func(a, b verdict) int {
		if d := load[a.node.Name] - load[b.node.Name]; d != 0 {
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
	return &ok[0], len(ok)
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

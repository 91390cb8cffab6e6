package nodes

import (
	"fmt"
	"slices"
	"strings"
)

// Pin ties platforms to a node (--node, nodes in xbuild.yaml).
type Pin struct {
	// Platform is canonical; "" pins every requested platform the node
	// builds.
	Platform string
	// Node is the node's name.
	Node string
}

// ResolvePins turns pins into platform -> node for the requested
// platforms, given the nodes a build may use. A bare pin (no platform)
// pins every requested platform its node builds, and is an error when the
// node builds none of them; a pin for a platform the build does not
// request is left out (xbuild.yaml may pin platforms a --platform flag
// does not ask for). A node that is not among nodes, a node that does not
// build its pinned platform, and a platform pinned to two nodes are
// errors naming the pin. Whether the node is healthy is RouteWith's to say.
func ResolvePins(pins []Pin, platforms []string, nodes []Node) (map[string]string, error) {
	if len(pins) == 0 {
		return nil, nil
	}
	byName := map[string]Node{}
	var names []string
	for _, n := range nodes {
		byName[n.Name] = n
		names = append(names, n.Name)
	}
	slices.Sort(names)
	out := map[string]string{}
	set := func(p, node string) error {
		if prev, ok := out[p]; ok && prev != node {
			return fmt.Errorf("--node: %s is pinned to both %s and %s: pin it to one node (PLATFORM=NODE)", p, prev, node)
		}
		out[p] = node
		return nil
	}
	for _, pin := range pins {
		n, ok := byName[pin.Node]
		if !ok {
			return nil, fmt.Errorf("--node %s: no node %s among the nodes of this builder that build %s (they are: %s); see xbuild nodes ls", pinString(pin), pin.Node, strings.Join(platforms, ", "), orNoneList(names))
		}
		if pin.Platform != "" {
			if !slices.Contains(platforms, pin.Platform) {
				continue
			}
			if !slices.Contains(n.Platforms, pin.Platform) {
				return nil, fmt.Errorf("--node %s: node %s does not build %s (it builds %s)", pinString(pin), n.Name, pin.Platform, strings.Join(n.Platforms, ", "))
			}
			if err := set(pin.Platform, n.Name); err != nil {
				return nil, err
			}
			continue
		}
		matched := false
		for _, p := range platforms {
			if slices.Contains(n.Platforms, p) {
				matched = true
				if err := set(p, n.Name); err != nil {
					return nil, err
				}
			}
		}
		if !matched {
			return nil, fmt.Errorf("--node %s: node %s builds none of the requested platforms %s (it builds %s)", pin.Node, n.Name, strings.Join(platforms, ", "), strings.Join(n.Platforms, ", "))
		}
	}
	return out, nil
}

func pinString(p Pin) string {
	if p.Platform == "" {
		return p.Node
	}
	return p.Platform + "=" + p.Node
}

func orNoneList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

package nodes

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// EndpointClash is an endpoint that more than one node uses.
type EndpointClash struct {
	// Endpoint is the canonical endpoint.
	Endpoint string
	// Nodes are the names of the nodes that use it, sorted.
	Nodes []string
}

// Error says which nodes share the endpoint and what to do.
func (c EndpointClash) Error() string {
	names := strings.Join(c.Nodes[:len(c.Nodes)-1], ", ") + " and " + c.Nodes[len(c.Nodes)-1]
	return fmt.Sprintf("nodes %s use the same endpoint %s: they are one daemon, which would be counted (and loaded) twice; remove one of them (xbuild nodes rm NAME)", names, c.Endpoint)
}

// DuplicateEndpoints reports the tcp and unix endpoints that more than one
// node of list uses: one daemon registered twice, which routing would
// take for two. Endpoints are compared in canonical form (ParseEndpoint:
// case, trailing dots, IPv6 spellings and unix path detours do not
// matter), and an IPv4-mapped IPv6 address is its IPv4 address. Kubernetes
// endpoints are not compared: nodes may share a namespace, each with pods
// of its own. A node whose endpoint does not parse is skipped
// (Node.Normalized reports it). The clashes are sorted by endpoint.
func DuplicateEndpoints(list []Node) []EndpointClash {
	byKey := map[string][]string{}
	for _, n := range list {
		ep, err := ParseEndpoint(n.Endpoint)
		if err != nil || ep.Scheme == "kubernetes" {
			continue
		}
		if addr, err := netip.ParseAddr(ep.Host); err == nil && ep.Scheme == "tcp" {
			ep.Host = addr.Unmap().String()
		}
		k := ep.String()
		byKey[k] = append(byKey[k], n.Name)
	}
	var out []EndpointClash
	for k, names := range byKey {
		if len(names) > 1 {
			slices.Sort(names)
			out = append(out, EndpointClash{Endpoint: k, Nodes: names})
		}
	}
	slices.SortFunc(out, func(a, b EndpointClash) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out
}

// CheckEndpointsUnique returns an error naming each endpoint that more
// than one node of list uses (DuplicateEndpoints), nil when there is
// none. The registrar calls it with the registered nodes plus the one
// being added or changed.
func CheckEndpointsUnique(list []Node) error {
	var errs []error
	for _, c := range DuplicateEndpoints(list) {
		errs = append(errs, c)
	}
	return errors.Join(errs...)
}

package nodes

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// DockerContextName is the docker CLI context xbuild creates for a docker
// node: buildx's docker-container driver reaches a remote engine through a
// context carrying its TLS material.
func DockerContextName(node string) string { return "xbuild-" + node }

// CreateStatusTimeout bounds how long `buildx create` waits for the other
// nodes of a builder to answer after a change; without it, one silently
// unreachable node costs every create 20 seconds.
const CreateStatusTimeout = 2 * time.Second

// BuildsPlatform reports whether n builds platform p (both normalized).
func BuildsPlatform(n Node, p string) bool { return n.builds(p) }

// BuildxNode maps a registered node to a buildx builder node that builds
// exactly platforms (nil: all the node's platforms). The buildx node name
// is the node's name lower-cased: buildx stores node names lower-cased but
// looks them up as given, so `create --append --node Arm1` would add a
// second node instead of updating arm1 (node names are unique ignoring
// case). The mapping per kind:
//
//	buildkit, local  remote driver; TLS files as cacert/cert/key/servername
//	docker           docker-container driver on the context DockerContextName(n)
//	kubernetes       kubernetes driver; namespace and kube context from the endpoint
func BuildxNode(n Node, builder string, platforms []string) engine.BuilderNode {
	if platforms == nil {
		platforms = n.Platforms
	}
	bn := engine.BuilderNode{
		Builder:         builder,
		Node:            strings.ToLower(n.Name),
		Platforms:       platforms,
		DriverOpts:      maps.Clone(n.DriverOpts),
		BuildkitdConfig: n.BuildkitdConfig,
		StatusTimeout:   CreateStatusTimeout,
	}
	if bn.DriverOpts == nil {
		bn.DriverOpts = map[string]string{}
	}
	switch n.Kind {
	case KindDocker:
		bn.Driver = "docker-container"
		bn.Endpoint = DockerContextName(n.Name)
	case KindKubernetes:
		bn.Driver = "kubernetes"
		if ep, err := ParseEndpoint(n.Endpoint); err == nil {
			bn.DriverOpts["namespace"] = ep.Namespace
			// the kubernetes driver takes the kubeconfig context as its
			// endpoint; none means the current context
			bn.Endpoint = ep.Context
		}
	default:
		bn.Driver = "remote"
		bn.Endpoint = n.Endpoint
		if n.TLS != nil {
			t := n.clientTLS()
			bn.DriverOpts["cacert"] = t.CA
			bn.DriverOpts["cert"] = t.Cert
			bn.DriverOpts["key"] = t.Key
			bn.DriverOpts["servername"] = t.ServerName
		}
	}
	if len(bn.DriverOpts) == 0 {
		bn.DriverOpts = nil
	}
	return bn
}

// NodeBuilderName is the single-node buildx builder xbuild builds on for
// node name. Each platform's build picks its node by picking its builder,
// so several builds (and several xbuild processes) routed differently, and
// a failover to another node mid-build, never change a shared builder under
// each other. The multi-node builder SyncBuilder keeps is for people who run
// `docker buildx build --builder NAME` themselves.
func NodeBuilderName(node string) string { return "xbuild-node-" + strings.ToLower(node) }

// NodeBuilder is the desired single-node builder for the node called name
// among list: one buildx node with every platform of the nodes of that name
// (this machine's daemon stands in as a native and an emulated node of one
// name). It is nil when no node has that name.
func NodeBuilder(name string, list []Node) []engine.BuilderNode {
	var first *Node
	var platforms []string
	for i := range list {
		if list[i].Name != name {
			continue
		}
		if first == nil {
			first = &list[i]
		}
		for _, p := range list[i].Platforms {
			if !slices.Contains(platforms, p) {
				platforms = append(platforms, p)
			}
		}
	}
	if first == nil {
		return nil
	}
	slices.Sort(platforms)
	return []engine.BuilderNode{BuildxNode(*first, NodeBuilderName(name), platforms)}
}

// Package nodes manages xbuild's build machines: the per-user registry of
// nodes, their TLS material (validation and generation), health checks and
// the routing of platforms to healthy nodes. It talks to buildx and BuildKit
// only through the engine interfaces, so it is tested with fakes.
package nodes

// Package enginetest has fakes of the engine for the tests of the packages
// above it. It imports no buildx code: the fakes model what buildx does
// with the argument lists xbuild hands it.
package enginetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// FakeBuildx is a fake buildx that keeps builders as buildx's store does:
// `create` makes a builder or updates a node of it, `create --append` adds
// or updates a node of an existing builder, `create --leave` takes one out,
// `rm` deletes the builder, each refusing what buildx refuses (appending
// to a builder that does not exist, two nodes on one endpoint, leaving
// the last node). Node names are lower-cased, as buildx does. ReadBuilder
// reads the builders back; Calls records every command run, failed ones
// too. Safe for concurrent use.
type FakeBuildx struct {
	mu       sync.Mutex
	calls    []string
	builders map[string]*engine.StoredBuilder
	// Fail makes a command whose argument line contains it fail.
	Fail string
}

// Calls returns the argument lines run so far, in order.
func (b *FakeBuildx) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// Reset forgets the calls recorded so far (the builders stay).
func (b *FakeBuildx) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = nil
}

// DeleteBuilder removes a builder behind xbuild's back, as `docker buildx
// rm` run by hand does.
func (b *FakeBuildx) DeleteBuilder(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.builders, strings.ToLower(name))
}

// Buildx implements engine.Engine's Buildx.
func (b *FakeBuildx) Buildx(_ context.Context, inv engine.Invocation) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	line := strings.Join(inv.Args, " ")
	b.calls = append(b.calls, line)
	if b.Fail != "" && strings.Contains(line, b.Fail) {
		return fmt.Errorf("fake buildx: %s failed", line)
	}
	if b.builders == nil {
		b.builders = map[string]*engine.StoredBuilder{}
	}
	if len(inv.Args) == 0 {
		return nil
	}
	switch inv.Args[0] {
	case "create":
		return b.create(inv.Args[1:])
	case "rm":
		name := inv.Args[len(inv.Args)-1]
		if b.builders[strings.ToLower(name)] == nil {
			return fmt.Errorf("no builder %q found", name)
		}
		delete(b.builders, strings.ToLower(name))
	}
	return nil
}

// ReadBuilder implements engine.Engine's ReadBuilder.
func (b *FakeBuildx) ReadBuilder(name string) (*engine.StoredBuilder, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sb := b.builders[strings.ToLower(name)]
	if sb == nil {
		return nil, nil
	}
	out := *sb
	out.Nodes = slices.Clone(sb.Nodes)
	return &out, nil
}

// create plays `buildx create` (see engine.CreateArgs and LeaveArgs).
func (b *FakeBuildx) create(args []string) error {
	var name, node, driver, endpoint string
	var platforms []string
	var appendNode, leave bool
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--append":
			appendNode = true
		case "--leave":
			leave = true
		case "--name", "--node", "--driver", "--platform", "--driver-opt", "--buildkitd-config", "--timeout":
			if i+1 == len(args) {
				return fmt.Errorf("flag %s needs a value", a)
			}
			i++
			switch a {
			case "--name":
				name = args[i]
			case "--node":
				node = args[i]
			case "--driver":
				driver = args[i]
			case "--platform":
				platforms = strings.Split(args[i], ",")
			}
		default:
			endpoint = a
		}
	}
	key := strings.ToLower(name)
	sb := b.builders[key]
	if leave {
		if sb == nil {
			return fmt.Errorf("failed to find instance %q for leave", name)
		}
		i := slices.IndexFunc(sb.Nodes, func(n engine.StoredNode) bool { return n.Name == node })
		switch {
		case i < 0:
			return fmt.Errorf("node %q not found for %s", node, name)
		case len(sb.Nodes) == 1:
			return fmt.Errorf("can not leave last node, do you want to rm instance instead?")
		}
		sb.Nodes = slices.Delete(sb.Nodes, i, i+1)
		return nil
	}
	switch {
	case sb == nil && appendNode:
		return fmt.Errorf("failed to find instance %q for append", name)
	case sb == nil:
		sb = &engine.StoredBuilder{Name: name, Driver: driver}
		b.builders[key] = sb
	case sb.Driver != driver:
		return fmt.Errorf("existing instance for %q but has mismatched driver %q", name, sb.Driver)
	}
	// buildx looks the node up by the name as given, and stores new nodes
	// lower-cased
	i := slices.IndexFunc(sb.Nodes, func(n engine.StoredNode) bool { return n.Name == node })
	if i < 0 && !appendNode && len(sb.Nodes) > 0 {
		return fmt.Errorf("node %s not found, did you mean to append?", node)
	}
	for j, n := range sb.Nodes {
		if j != i && n.Endpoint == endpoint {
			return fmt.Errorf("invalid duplicate endpoint %s", endpoint)
		}
	}
	sn := engine.StoredNode{Name: strings.ToLower(node), Endpoint: endpoint, Platforms: platforms}
	if i < 0 {
		sb.Nodes = append(sb.Nodes, sn)
	} else {
		sn.Name = sb.Nodes[i].Name
		sb.Nodes[i] = sn
	}
	return nil
}

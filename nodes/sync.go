package nodes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Buildxer runs buildx commands (engine.Engine satisfies it).
type Buildxer interface {
	Buildx(ctx context.Context, inv engine.Invocation) error
}

// PlanNodes turns a routing into buildx builder nodes, each with exactly the
// platforms it was assigned, sorted by node name. Builder names are left to
// the caller.
func PlanNodes(plan *Plan, nodes []Node) []engine.BuilderNode {
	byName := map[string]Node{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	assigned := map[string][]string{}
	for _, a := range plan.Assignments {
		assigned[a.Node] = append(assigned[a.Node], a.Platform)
	}
	names := make([]string, 0, len(assigned))
	for name := range assigned {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]engine.BuilderNode, 0, len(names))
	for _, name := range names {
		out = append(out, BuildxNode(byName[name], "", assigned[name]))
	}
	return out
}

// DefaultRouting is the routing with every node healthy: each platform on a
// native node, emulated nodes only for platforms no native node builds. It
// is what the synced buildx builder holds, so `docker buildx build --builder
// xbuild` does what xbuild does on a good day.
func DefaultRouting(nodes []Node) (*Plan, error) {
	health := map[string]Health{}
	var platforms []string
	seen := map[string]bool{}
	for _, n := range nodes {
		health[n.Name] = Health{Node: n.Name, Status: StatusOK, Platforms: n.Platforms}
		for _, p := range n.Platforms {
			if !seen[p] {
				seen[p] = true
				platforms = append(platforms, p)
			}
		}
	}
	sort.Strings(platforms)
	return Route(platforms, nodes, health, true)
}

// SyncResult says what a sync changed.
type SyncResult struct {
	Builder string
	// Nodes are the builder's nodes after the sync, with their platforms.
	Nodes []engine.BuilderNode
	// Changed lists what was done: "create amd1", "update arm1", "leave q".
	Changed []string
}

// SyncBuilder makes the buildx builder match the registry's nodes for it
// (their default routing), changing only what differs from the last sync:
// new or changed nodes are created with `buildx create --append --node`,
// nodes no longer in it leave with `--leave`, and an empty builder is
// removed. A lock per builder keeps concurrent syncs from interleaving.
func SyncBuilder(ctx context.Context, bx Buildxer, s *Store, builder string) (*SyncResult, error) {
	unlock, err := flock(filepath.Join(s.buildersDir(), builder+".lock"), true, s.lockTimeout())
	if err != nil {
		return nil, err
	}
	defer unlock()

	all, errs := s.List()
	if len(errs) > 0 {
		return nil, fmt.Errorf("cannot sync builder %s while a node file is unreadable: %w", builder, errs[0])
	}
	var members []Node
	for _, n := range all {
		if n.Builder == builder {
			members = append(members, n)
		}
	}
	desired := []engine.BuilderNode{}
	if len(members) > 0 {
		plan, err := DefaultRouting(members)
		if err != nil {
			return nil, err
		}
		desired = PlanNodes(plan, members)
	}
	current, err := s.SyncState(builder)
	if err != nil {
		return nil, err
	}
	res := &SyncResult{Builder: builder}
	want := map[string]string{}
	for i := range desired {
		desired[i].Builder = builder
		want[desired[i].Node] = specHash(desired[i])
	}
	run := func(what string, args []string) error {
		var stderr bytes.Buffer
		if err := bx.Buildx(ctx, engine.Invocation{Args: args, Stderr: &stderr}); err != nil {
			return fmt.Errorf("syncing buildx builder %s (%s): %v%s", builder, what, err, tail(stderr.String()))
		}
		res.Changed = append(res.Changed, what)
		return nil
	}

	applied := map[string]string{}
	for k, v := range current {
		applied[k] = v
	}
	save := func() error { return s.SetSyncState(builder, applied) }
	if len(desired) == 0 && len(current) > 0 {
		if err := run("remove builder", engine.RemoveArgs(builder)); err != nil {
			return nil, err
		}
		return res, s.SetSyncState(builder, map[string]string{})
	}
	exists := len(current) > 0
	for _, bn := range desired {
		h := want[bn.Node]
		if current[bn.Node] == h {
			continue
		}
		verb := "create"
		if _, ok := current[bn.Node]; ok {
			verb = "update"
		}
		if err := run(verb+" "+bn.Node, engine.CreateArgs(bn, exists)); err != nil {
			_ = save()
			return nil, err
		}
		exists = true
		applied[bn.Node] = h
	}
	var leaving []string
	for name := range current {
		if _, ok := want[name]; !ok {
			leaving = append(leaving, name)
		}
	}
	sort.Strings(leaving)
	for _, name := range leaving {
		if err := run("leave "+name, engine.LeaveArgs(builder, name)); err != nil {
			_ = save()
			return nil, err
		}
		delete(applied, name)
	}
	res.Nodes = desired
	return res, save()
}

func (s *Store) lockTimeout() time.Duration {
	if s.LockTimeout > 0 {
		return s.LockTimeout
	}
	return 30 * time.Second
}

// specHash identifies a builder node's buildx configuration.
func specHash(bn engine.BuilderNode) string {
	sum := sha256.Sum256([]byte(strings.Join(engine.CreateArgs(bn, false), "\x00")))
	return hex.EncodeToString(sum[:8])
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "\n  " + strings.Join(lines, "\n  ")
}

package nodes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Buildxer runs buildx commands and reads buildx's builder store
// (engine.Engine satisfies it).
type Buildxer interface {
	Buildx(ctx context.Context, inv engine.Invocation) error
	// ReadBuilder reads a builder from buildx's store without contacting
	// its nodes or writing anything; nil when there is no such builder.
	ReadBuilder(name string) (*engine.StoredBuilder, error)
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

// DesiredBuilder is what a buildx builder whose registered nodes are
// members holds while plan is built: the members' default routing, except
// that every platform plan routes is pinned where plan says (planNodes are
// the nodes plan names; they need not be registered, e.g. this machine's
// daemon). Each platform stays pinned on exactly one node, which is how
// buildx picks the node for a platform; the builder's other platforms stay
// as SyncBuilder leaves them, so building some of the platforms, or falling
// back to emulation for one, changes only what it must. A nil plan gives
// the default routing.
func DesiredBuilder(members []Node, plan *Plan, planNodes []Node) ([]engine.BuilderNode, error) {
	byPlatform := map[string]Assignment{}
	if len(members) > 0 {
		def, err := DefaultRouting(members)
		if err != nil {
			return nil, err
		}
		for _, a := range def.Assignments {
			byPlatform[a.Platform] = a
		}
	}
	if plan != nil {
		for _, a := range plan.Assignments {
			byPlatform[a.Platform] = a
		}
	}
	// platforms sorted, so a node's pinned list (and its spec hash) does
	// not depend on the order the platforms were asked for
	merged := &Plan{}
	for _, p := range slices.Sorted(maps.Keys(byPlatform)) {
		merged.Assignments = append(merged.Assignments, byPlatform[p])
	}
	return PlanNodes(merged, append(slices.Clone(members), planNodes...)), nil
}

// SyncResult says what a sync changed.
type SyncResult struct {
	Builder string
	// Nodes are the builder's nodes after the sync, with their platforms.
	Nodes []engine.BuilderNode
	// Changed lists what was done: "create amd1", "update arm1", "leave q",
	// "remove builder"; empty when the builder was already as desired.
	Changed []string
	// Left are nodes kept out of the builder, with why ("d1: a
	// docker-container node, and buildx builders cannot mix drivers"):
	// xbuild still builds on them, through their own builders.
	Left []string
}

// SyncBuilder makes the buildx builder match the registry's nodes for it
// (their default routing; see ApplyBuilder for how). The nodes are listed
// under the builder's lock, so two concurrent syncs cannot leave the
// builder as the first of them saw the registry. A node file that cannot
// be read stops the sync: the node may belong to the builder.
func SyncBuilder(ctx context.Context, bx Buildxer, s *Store, builder string) (*SyncResult, error) {
	return syncRouted(ctx, bx, s, builder, nil, nil, true)
}

// SyncRouted is SyncBuilder for a build: the platforms plan routes are
// pinned on the nodes plan names (planNodes), the builder's other platforms
// stay on their default nodes (see DesiredBuilder). Node files that cannot
// be read are left out, as the build that routed without them did.
func SyncRouted(ctx context.Context, bx Buildxer, s *Store, builder string, plan *Plan, planNodes []Node) (*SyncResult, error) {
	return syncRouted(ctx, bx, s, builder, plan, planNodes, false)
}

func syncRouted(ctx context.Context, bx Buildxer, s *Store, builder string, plan *Plan, planNodes []Node, strict bool) (*SyncResult, error) {
	unlock, err := lockBuilder(s, builder)
	if err != nil {
		return nil, err
	}
	defer unlock()
	members, broken, err := s.members(builder, strict)
	if err != nil {
		return nil, err
	}
	desired, err := DesiredBuilder(members, plan, planNodes)
	if err != nil {
		return nil, err
	}
	desired, left := oneDriver(desired)
	// a node whose file cannot be read may be this builder's: whatever
	// buildx holds of it stays as it is, and the others are synced
	var keep []string
	for _, name := range slices.Sorted(maps.Keys(broken)) {
		keep = append(keep, strings.ToLower(name))
		left = append(left, fmt.Sprintf("%s: its node file cannot be read (%v); left in the builder as it was", name, broken[name]))
	}
	res, err := applyLocked(ctx, bx, s, builder, desired, keep...)
	if res != nil {
		res.Left = left
	}
	return res, err
}

// oneDriver keeps the builder nodes of one buildx driver: buildx refuses a
// builder that mixes drivers (a docker-container node among remote ones).
// The driver most nodes use is kept (on a tie, the first node's); the
// others are returned as notes. xbuild builds each node through a builder
// of its own (NodeBuilderName), so nothing is lost for xbuild; only
// `docker buildx build --builder NAME` does not see them.
func oneDriver(desired []engine.BuilderNode) ([]engine.BuilderNode, []string) {
	count := map[string]int{}
	for _, bn := range desired {
		count[bn.Driver]++
	}
	if len(count) < 2 {
		return desired, nil
	}
	keep := desired[0].Driver
	for _, bn := range desired {
		if count[bn.Driver] > count[keep] {
			keep = bn.Driver
		}
	}
	var kept []engine.BuilderNode
	var left []string
	for _, bn := range desired {
		if bn.Driver == keep {
			kept = append(kept, bn)
			continue
		}
		left = append(left, fmt.Sprintf("%s: a %s node, and a buildx builder cannot mix drivers (this one has %s nodes); xbuild builds on it through buildx builder %s", bn.Node, bn.Driver, keep, NodeBuilderName(bn.Node)))
	}
	return kept, left
}

// ApplyBuilder makes the buildx builder hold exactly the desired nodes,
// changing only what differs: the registry records, per builder, a hash
// of each node's `buildx create` arguments as last applied, and buildx's
// own store (read, never written, through bx.ReadBuilder) says which
// nodes the builder still has, so a builder or node removed by hand is
// created again. New or changed nodes are created (`buildx create`, then
// `--append`), nodes not desired leave (`--leave`), and an empty desired
// list removes the builder. When nothing differs no buildx command runs
// and nothing is written. A lock per builder keeps concurrent applies
// from interleaving; a failure records what was applied before it, so the
// next apply retries only the rest.
func ApplyBuilder(ctx context.Context, bx Buildxer, s *Store, builder string, desired []engine.BuilderNode) (*SyncResult, error) {
	unlock, err := lockBuilder(s, builder)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return applyLocked(ctx, bx, s, builder, desired)
}

// PreviewBuilder returns the buildx commands ApplyBuilder would run for
// the registry in dir, writing nothing (for --dry-run): the recorded state
// is read without the registry lock (it is replaced atomically) and a
// missing registry counts as one that never synced.
func PreviewBuilder(bx Buildxer, dir, builder string, desired []engine.BuilderNode) ([]BuilderChange, error) {
	recorded, err := ReadSyncState(dir, builder)
	if err != nil {
		return nil, err
	}
	stored, err := bx.ReadBuilder(builder)
	if err != nil {
		return nil, fmt.Errorf("checking buildx builder %s: %w", builder, err)
	}
	return DiffBuilder(builder, withBuilder(builder, desired), recorded, stored), nil
}

// members lists the registered nodes of builder. A node file that cannot
// be read is returned in broken (name -> why) when strict, and left out
// otherwise; a registry that cannot be listed at all is an error.
func (s *Store) members(builder string, strict bool) ([]Node, map[string]error, error) {
	unlock, err := s.lock(s.nodesDir(), false)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	names, err := s.names()
	if err != nil {
		return nil, nil, err
	}
	var out []Node
	broken := map[string]error{}
	for _, name := range names {
		n, err := s.readNode(name)
		if err != nil {
			if strict {
				broken[name] = err
			}
			continue
		}
		if n.Builder == builder {
			out = append(out, n)
		}
	}
	return out, broken, nil
}

// lockBuilder takes the lock every builder apply holds. It is one lock for
// all builders, not one per builder: applies are short (no buildx command
// runs when nothing changed), and a builder made and then rolled back
// leaves no lock file of its own behind.
func lockBuilder(s *Store, builder string) (func(), error) {
	if err := ValidateName(builder); err != nil {
		return nil, fmt.Errorf("builder %w", err)
	}
	return flock(filepath.Join(s.buildersDir(), "apply.lock"), true, s.lockTimeout())
}

// applyLocked applies desired with the builder lock held. The buildx nodes
// named in keep (lower-cased) are left as buildx has them: neither updated
// nor taken out.
func applyLocked(ctx context.Context, bx Buildxer, s *Store, builder string, desired []engine.BuilderNode, keep ...string) (*SyncResult, error) {
	recorded, err := s.SyncState(builder)
	if err != nil {
		return nil, err
	}
	stored, err := bx.ReadBuilder(builder)
	if err != nil {
		return nil, fmt.Errorf("checking buildx builder %s: %w", builder, err)
	}
	desired = withBuilder(builder, desired)
	res := &SyncResult{Builder: builder, Nodes: desired}
	applied := stillApplied(recorded, stored)
	save := func() error {
		if maps.Equal(applied, recorded) {
			return nil
		}
		return s.SetSyncState(builder, applied)
	}
	for _, c := range keepNodes(DiffBuilder(builder, desired, recorded, stored), stored, keep) {
		var stderr bytes.Buffer
		if err := bx.Buildx(ctx, engine.Invocation{Args: c.Args, Stderr: &stderr}); err != nil {
			_ = save()
			return nil, fmt.Errorf("syncing buildx builder %s (%s): %v%s", builder, c.What, err, tail(stderr.String()))
		}
		switch c.op {
		case opRemove:
			clear(applied)
		case opLeave:
			delete(applied, strings.ToLower(c.node))
		default:
			applied[c.node] = c.hash
		}
		res.Changed = append(res.Changed, c.What)
	}
	return res, save()
}

// withBuilder returns a copy of desired naming builder, sorted by node.
func withBuilder(builder string, desired []engine.BuilderNode) []engine.BuilderNode {
	out := slices.Clone(desired)
	for i := range out {
		out[i].Builder = builder
	}
	slices.SortFunc(out, func(a, b engine.BuilderNode) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// stillApplied is the recorded state minus the nodes buildx no longer has
// (all of them when the builder itself is gone), keyed by lower-cased node
// name as buildx keeps it.
func stillApplied(recorded map[string]string, stored *engine.StoredBuilder) map[string]string {
	out := map[string]string{}
	if stored == nil {
		return out
	}
	for _, n := range stored.Nodes {
		for name, h := range recorded {
			if strings.EqualFold(name, n.Name) {
				out[strings.ToLower(n.Name)] = h
			}
		}
	}
	return out
}

// BuilderChange is one buildx command that brings a builder closer to
// what is desired.
type BuilderChange struct {
	// What says what it does: "create amd1", "update arm1", "leave q",
	// "remove builder".
	What string
	// Args are the buildx arguments.
	Args []string

	op   changeOp
	node string
	hash string
}

type changeOp int

const (
	opCreate changeOp = iota // create or update a node
	opLeave
	opRemove
)

// keepNodes drops the changes that would take a kept node out of the
// builder: its leave, or the removal of a builder that still holds it
// (then the other stored nodes leave instead).
func keepNodes(changes []BuilderChange, stored *engine.StoredBuilder, keep []string) []BuilderChange {
	if len(keep) == 0 || stored == nil {
		return changes
	}
	kept := func(name string) bool { return slices.Contains(keep, strings.ToLower(name)) }
	holds := false
	for _, n := range stored.Nodes {
		holds = holds || kept(n.Name)
	}
	var out []BuilderChange
	for _, c := range changes {
		switch {
		case c.op == opLeave && kept(c.node):
			continue
		case c.op == opRemove && holds:
			for _, n := range stored.Nodes {
				if !kept(n.Name) {
					out = append(out, BuilderChange{What: "leave " + n.Name, Args: engine.LeaveArgs(stored.Name, n.Name), op: opLeave, node: n.Name})
				}
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// DiffBuilder returns the buildx commands that turn a builder into desired
// (nodes named, with Builder set), given what the registry recorded at the
// last apply (node -> spec hash) and the builder as buildx's store has it
// (nil: buildx has no such builder). A desired node is created when buildx
// lacks it, updated when its recorded hash differs, and left alone
// otherwise; nodes buildx has that are not desired leave; no desired node
// removes the builder, if buildx has it. Leaves come first when a node the
// builder has stays in it (after a create, buildx waits for every node of
// the builder to answer, and the node replaced is often one that is down);
// otherwise creates come first, so the builder never loses its last node.
// A builder whose driver is not the desired nodes' is removed and created
// anew (buildx cannot change a builder's driver).
func DiffBuilder(builder string, desired []engine.BuilderNode, recorded map[string]string, stored *engine.StoredBuilder) []BuilderChange {
	inBuildx := map[string]string{} // lower-cased name -> name as buildx keeps it
	if stored != nil {
		for _, n := range stored.Nodes {
			inBuildx[strings.ToLower(n.Name)] = n.Name
		}
	}
	if len(desired) == 0 {
		if stored == nil {
			return nil
		}
		return []BuilderChange{{What: "remove builder", Args: engine.RemoveArgs(builder), op: opRemove}}
	}
	if stored != nil && stored.Driver != "" && stored.Driver != desired[0].Driver {
		// buildx cannot change a builder's driver: remove it, then create
		// it anew with the desired nodes
		out := []BuilderChange{{What: "remove builder", Args: engine.RemoveArgs(builder), op: opRemove}}
		return append(out, DiffBuilder(builder, desired, nil, nil)...)
	}
	applied := stillApplied(recorded, stored)
	var creates, leaves []BuilderChange
	exists := stored != nil
	want := map[string]bool{}
	retained := false // a node buildx has stays in the builder
	for _, bn := range desired {
		key := strings.ToLower(bn.Node)
		want[key] = true
		h := specHash(bn)
		_, present := inBuildx[key]
		retained = retained || present
		if present && applied[key] == h {
			continue
		}
		verb := "create"
		if present {
			verb = "update"
		}
		creates = append(creates, BuilderChange{What: verb + " " + bn.Node, Args: engine.CreateArgs(bn, exists), op: opCreate, node: key, hash: h})
		exists = true
	}
	var leaving []string
	for key, name := range inBuildx {
		if !want[key] {
			leaving = append(leaving, name)
		}
	}
	sort.Strings(leaving)
	for _, name := range leaving {
		leaves = append(leaves, BuilderChange{What: "leave " + name, Args: engine.LeaveArgs(builder, name), op: opLeave, node: name})
	}
	if retained {
		// leave first: `buildx create` waits (up to the status timeout) for
		// every node of the builder, and a node that leaves is often a dead one
		return append(leaves, creates...)
	}
	return append(creates, leaves...)
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

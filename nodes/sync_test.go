package nodes

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/engine/enginetest"
)

func assertCalls(t *testing.T, bx *enginetest.FakeBuildx, want ...string) {
	t.Helper()
	if got := bx.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildx calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	bx.Reset()
}

func TestSyncBuilder(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	bx := &enginetest.FakeBuildx{}
	add := func(n Node) {
		t.Helper()
		if n.Kind == "" {
			n.Kind = KindLocal
		}
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(want ...string) {
		t.Helper()
		if _, err := SyncBuilder(ctx, bx, st, "xb"); err != nil {
			t.Fatal(err)
		}
		assertCalls(t, bx, want...)
	}

	add(Node{Name: "amd1", Endpoint: "unix:///run/a.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"})
	sync("create --name xb --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/a.sock")
	before := snapshot(t, st.Dir())
	sync() // nothing changed: no buildx call at all
	assertSnapshot(t, st.Dir(), before)

	add(Node{Name: "Arm1", Endpoint: "unix:///run/b.sock", Platforms: []string{"linux/arm64"}, Builder: "xb"})
	add(Node{Name: "other", Endpoint: "unix:///run/o.sock", Platforms: []string{"linux/arm64"}, Builder: "elsewhere"})
	sync("create --name xb --node arm1 --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/b.sock")

	// an emulated node covering platforms natives already build joins nothing
	add(Node{Name: "qemu", Endpoint: "unix:///run/q.sock", Platforms: []string{"linux/amd64", "linux/arm64"}, Emulated: true, Builder: "xb"})
	sync()

	// when the native arm64 node goes, the emulated node takes arm64
	if err := st.Remove("Arm1"); err != nil {
		t.Fatal(err)
	}
	sync("create --name xb --leave --node arm1",
		"create --name xb --node qemu --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/q.sock")

	// a changed endpoint is an update
	add(Node{Name: "amd1", Endpoint: "unix:///run/a2.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"})
	sync("create --name xb --node amd1 --driver remote --append --platform linux/amd64 --timeout 2s unix:///run/a2.sock")

	// a node taken out by hand comes back; a builder deleted by hand is
	// created again from scratch
	if err := bx.Buildx(ctx, engine.Invocation{Args: engine.LeaveArgs("xb", "qemu")}); err != nil {
		t.Fatal(err)
	}
	bx.Reset()
	sync("create --name xb --node qemu --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/q.sock")
	bx.DeleteBuilder("xb")
	sync("create --name xb --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/a2.sock",
		"create --name xb --node qemu --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/q.sock")

	// the last nodes gone: the builder is removed
	if err := st.Remove("amd1", "qemu"); err != nil {
		t.Fatal(err)
	}
	sync("rm --keep-state xb")
	if m, _ := st.SyncState("xb"); len(m) != 0 {
		t.Errorf("sync state after removal = %v", m)
	}
	if b, _ := bx.ReadBuilder("xb"); b != nil {
		t.Errorf("builder left in buildx: %+v", b)
	}
	sync() // and it stays removed
}

func TestSyncBuilderFailureKeepsStateHonest(t *testing.T) {
	st := openStore(t)
	for _, n := range []Node{
		{Name: "a", Kind: KindLocal, Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"},
		{Name: "b", Kind: KindLocal, Endpoint: "unix:///b.sock", Platforms: []string{"linux/arm64"}, Builder: "xb"},
	} {
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	bx := &enginetest.FakeBuildx{Fail: "--node b"}
	_, err := SyncBuilder(context.Background(), bx, st, "xb")
	if err == nil || err.Error() != "syncing buildx builder xb (create b): fake buildx: create --name xb --node b --driver remote --append --platform linux/arm64 --timeout 2s unix:///b.sock failed" {
		t.Fatalf("err = %v", err)
	}
	// a was created and is recorded; b was not, so the next sync retries only b
	if m, _ := st.SyncState("xb"); len(m) != 1 || m["a"] == "" {
		t.Errorf("sync state = %v", m)
	}
	bx.Fail = ""
	bx.Reset()
	if _, err := SyncBuilder(context.Background(), bx, st, "xb"); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, bx, "create --name xb --node b --driver remote --append --platform linux/arm64 --timeout 2s unix:///b.sock")
}

// ApplyBuilder takes any desired builder, e.g. one builder per node.
func TestApplyBuilderSingleNodeBuilder(t *testing.T) {
	st := openStore(t)
	bx := &enginetest.FakeBuildx{}
	ctx := context.Background()
	n := Node{Name: "amd1", Kind: KindLocal, Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64", "linux/386"}}
	apply := func(platforms []string, want ...string) {
		t.Helper()
		res, err := ApplyBuilder(ctx, bx, st, "xbuild-node-amd1", []engine.BuilderNode{BuildxNode(n, "", platforms)})
		if err != nil {
			t.Fatal(err)
		}
		assertCalls(t, bx, want...)
		if len(res.Nodes) != 1 || res.Nodes[0].Builder != "xbuild-node-amd1" || len(res.Changed) != len(want) {
			t.Errorf("result = %+v", res)
		}
	}
	apply([]string{"linux/amd64"}, "create --name xbuild-node-amd1 --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///a.sock")
	apply([]string{"linux/amd64"})
	apply(nil, "create --name xbuild-node-amd1 --node amd1 --driver remote --append --platform linux/amd64,linux/386 --timeout 2s unix:///a.sock")
	if _, err := ApplyBuilder(ctx, bx, st, "xbuild-node-amd1", nil); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, bx, "rm --keep-state xbuild-node-amd1")
}

func TestDiffBuilder(t *testing.T) {
	bn := func(node, endpoint string, platforms ...string) engine.BuilderNode {
		return engine.BuilderNode{Builder: "xb", Node: node, Driver: "remote", Endpoint: endpoint, Platforms: platforms}
	}
	a, b := bn("a", "unix:///a.sock", "linux/amd64"), bn("b", "unix:///b.sock", "linux/arm64")
	stored := func(names ...string) *engine.StoredBuilder {
		sb := &engine.StoredBuilder{Name: "xb", Driver: "remote", Nodes: []engine.StoredNode{}}
		for _, n := range names {
			sb.Nodes = append(sb.Nodes, engine.StoredNode{Name: n})
		}
		return sb
	}
	rec := map[string]string{"a": specHash(a), "b": specHash(b)}
	tests := []struct {
		name     string
		desired  []engine.BuilderNode
		recorded map[string]string
		stored   *engine.StoredBuilder
		want     []string
	}{
		{"new builder", []engine.BuilderNode{a, b}, map[string]string{}, nil, []string{
			"create a: create --name xb --node a --driver remote --platform linux/amd64 unix:///a.sock",
			"create b: create --name xb --node b --driver remote --append --platform linux/arm64 unix:///b.sock"}},
		{"as recorded and in buildx", []engine.BuilderNode{a, b}, rec, stored("a", "b"), nil},
		{"another driver: buildx cannot change it, so the builder is made anew", []engine.BuilderNode{{Builder: "xb", Node: "d", Driver: "docker-container", Endpoint: "xbuild-d"}},
			rec, stored("a", "b"), []string{
				"remove builder: rm --keep-state xb",
				"create d: create --name xb --node d --driver docker-container xbuild-d"}},
		{"recorded, but the builder was deleted by hand", []engine.BuilderNode{a, b}, rec, nil, []string{
			"create a: create --name xb --node a --driver remote --platform linux/amd64 unix:///a.sock",
			"create b: create --name xb --node b --driver remote --append --platform linux/arm64 unix:///b.sock"}},
		{"recorded, but a node left by hand", []engine.BuilderNode{a, b}, rec, stored("b"), []string{
			"create a: create --name xb --node a --driver remote --append --platform linux/amd64 unix:///a.sock"}},
		{"in buildx but never recorded (state lost)", []engine.BuilderNode{a}, map[string]string{}, stored("a"), []string{
			"update a: create --name xb --node a --driver remote --append --platform linux/amd64 unix:///a.sock"}},
		{"changed spec", []engine.BuilderNode{bn("a", "unix:///a2.sock", "linux/amd64"), b}, rec, stored("a", "b"), []string{
			"update a: create --name xb --node a --driver remote --append --platform linux/amd64 unix:///a2.sock"}},
		{"a node no longer desired, and one buildx has that xbuild never made", []engine.BuilderNode{b}, rec, stored("a", "b", "hand"), []string{
			"leave a: create --name xb --leave --node a",
			"leave hand: create --name xb --leave --node hand"}},
		{"every node replaced: the new one comes first, the builder never empties", []engine.BuilderNode{b}, rec, stored("a"), []string{
			"create b: create --name xb --node b --driver remote --append --platform linux/arm64 unix:///b.sock",
			"leave a: create --name xb --leave --node a"}},
		{"a node replaced while another stays: the leave comes first", []engine.BuilderNode{a, bn("c", "unix:///c.sock", "linux/arm64")}, rec, stored("a", "b"), []string{
			"leave b: create --name xb --leave --node b",
			"create c: create --name xb --node c --driver remote --append --platform linux/arm64 unix:///c.sock"}},
		{"recorded in another case", []engine.BuilderNode{a}, map[string]string{"A": specHash(a)}, stored("a"), nil},
		{"nothing desired", nil, rec, stored("a", "b"), []string{"remove builder: rm --keep-state xb"}},
		{"nothing desired, nothing in buildx", nil, rec, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range DiffBuilder("xb", tc.desired, tc.recorded, tc.stored) {
				got = append(got, c.What+": "+strings.Join(c.Args, " "))
			}
			assertStrings(t, got, tc.want)
		})
	}
}

func TestDesiredBuilder(t *testing.T) {
	mk := func(name, endpoint string, emulated bool, platforms ...string) Node {
		n, err := Node{Name: name, Kind: KindLocal, Endpoint: endpoint, Platforms: platforms, Emulated: emulated, Builder: "xb"}.Normalized()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	amd1 := mk("amd1", "unix:///a.sock", false, "linux/amd64")
	amd2 := mk("amd2", "unix:///a2.sock", false, "linux/amd64")
	arm1 := mk("arm1", "unix:///b.sock", false, "linux/arm64", "linux/arm/v7")
	qemu := mk("qemu", "unix:///q.sock", true, "linux/amd64", "linux/arm64", "linux/riscv64")
	members := []Node{amd1, amd2, arm1, qemu}
	here := mk("local", "unix:///run/buildkit/buildkitd.sock", false, "linux/amd64")
	plan := func(as ...Assignment) *Plan { return &Plan{Assignments: as} }
	tests := []struct {
		name    string
		members []Node
		plan    *Plan
		nodes   []Node
		want    []string
	}{
		{"default routing", members, nil, nil, []string{"amd1 linux/amd64", "arm1 linux/arm/v7,linux/arm64", "qemu linux/riscv64"}},
		{"a build of the default routing changes nothing", members,
			plan(Assignment{Platform: "linux/arm64", Node: "arm1"}, Assignment{Platform: "linux/amd64", Node: "amd1"}), []Node{amd1, arm1},
			[]string{"amd1 linux/amd64", "arm1 linux/arm/v7,linux/arm64", "qemu linux/riscv64"}},
		{"emulation fallback moves one platform", members,
			plan(Assignment{Platform: "linux/amd64", Node: "amd1"}, Assignment{Platform: "linux/arm64", Node: "qemu", Emulated: true}), []Node{amd1, qemu},
			[]string{"amd1 linux/amd64", "arm1 linux/arm/v7", "qemu linux/arm64,linux/riscv64"}},
		{"another native node takes the platform; the first leaves", members,
			plan(Assignment{Platform: "linux/amd64", Node: "amd2"}), []Node{amd2},
			[]string{"amd2 linux/amd64", "arm1 linux/arm/v7,linux/arm64", "qemu linux/riscv64"}},
		{"this machine, nothing registered", nil,
			plan(Assignment{Platform: "linux/arm64", Node: "local", Emulated: true}, Assignment{Platform: "linux/amd64", Node: "local"}), []Node{here},
			[]string{"local linux/amd64,linux/arm64"}},
		{"nothing", nil, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bns, err := DesiredBuilder(tc.members, tc.plan, tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, bn := range bns {
				got = append(got, bn.Node+" "+strings.Join(bn.Platforms, ","))
			}
			assertStrings(t, got, tc.want)
		})
	}
}

// A dry run previews an apply without writing: not even a registry that
// does not exist yet is created.
func TestPreviewBuilderWritesNothing(t *testing.T) {
	bx := &enginetest.FakeBuildx{}
	desired := []engine.BuilderNode{{Node: "a", Driver: "remote", Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64"}}}
	dir := filepath.Join(t.TempDir(), "never-made")
	changes, err := PreviewBuilder(bx, dir, "xb", desired)
	if err != nil || len(changes) != 1 || strings.Join(changes[0].Args, " ") != "create --name xb --node a --driver remote --platform linux/amd64 unix:///a.sock" {
		t.Fatalf("preview = %+v, %v", changes, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("preview created %s (%v)", dir, err)
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyBuilder(context.Background(), bx, st, "xb", desired); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	if changes, err := PreviewBuilder(bx, dir, "xb", desired); err != nil || len(changes) != 0 {
		t.Errorf("preview after the apply = %+v, %v; want nothing to do", changes, err)
	}
	assertSnapshot(t, dir, before)
}

func TestListReadOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	if got, errs := ListReadOnly(dir); got != nil || errs != nil {
		t.Errorf("ListReadOnly of no registry = %v, %v", got, errs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("ListReadOnly created %s (%v)", dir, err)
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []Node{
		{Name: "b", Kind: KindLocal, Endpoint: "unix:///b.sock", Platforms: []string{"linux/arm64"}},
		{Name: "a", Kind: KindLocal, Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64"}},
	} {
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, st.NodeFile("broken"), []byte("{"), 0o600)
	want, wantErrs := st.List()
	before := snapshot(t, dir)
	got, errs := ListReadOnly(dir)
	if !reflect.DeepEqual(got, want) || len(got) != 2 || len(errs) != 1 || errs[0].Error() != wantErrs[0].Error() {
		t.Errorf("ListReadOnly = %+v, %v\nwant %+v, %v", got, errs, want, wantErrs)
	}
	assertSnapshot(t, dir, before)
}

// A node file that cannot be read does not stop a sync: the other nodes
// are synced, and whatever buildx holds of the unreadable node (it may be
// this builder's) is left as it is, and said.
func TestSyncWithAnUnreadableNodeFile(t *testing.T) {
	st := openStore(t)
	amd1 := Node{Name: "amd1", Kind: KindLocal, Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"}
	arm1 := Node{Name: "arm1", Kind: KindLocal, Endpoint: "unix:///b.sock", Platforms: []string{"linux/arm64"}, Builder: "xb"}
	for _, n := range []Node{amd1, arm1} {
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	bx := &enginetest.FakeBuildx{}
	if _, err := SyncBuilder(context.Background(), bx, st, "xb"); err != nil {
		t.Fatal(err)
	}
	bx.Reset()
	writeFile(t, st.NodeFile("arm1"), []byte("{"), 0o600)
	if err := st.Put(Node{Name: "amd1", Kind: KindLocal, Endpoint: "unix:///a2.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"}); err != nil {
		t.Fatal(err)
	}
	res, err := SyncBuilder(context.Background(), bx, st, "xb")
	if err != nil {
		t.Fatal(err)
	}
	// amd1 is updated, arm1 stays in buildx untouched
	assertCalls(t, bx, "create --name xb --node amd1 --driver remote --append --platform linux/amd64 --timeout 2s unix:///a2.sock")
	want := "arm1: its node file cannot be read (node file " + st.NodeFile("arm1") + " is not valid node JSON (unexpected end of JSON input): fix the file, or delete it (rm " +
		st.NodeFile("arm1") + ") and add the node again with xbuild nodes add); left in the builder as it was"
	if len(res.Left) != 1 || res.Left[0] != want {
		t.Errorf("Left = %q\nwant %q", res.Left, want)
	}
	if sb, _ := bx.ReadBuilder("xb"); sb == nil || len(sb.Nodes) != 2 {
		t.Errorf("buildx builder after the sync: %+v", sb)
	}
}

func TestOneDriver(t *testing.T) {
	bn := func(node, driver string) engine.BuilderNode { return engine.BuilderNode{Node: node, Driver: driver} }
	kept, left := oneDriver([]engine.BuilderNode{bn("a", "remote"), bn("d1", "docker-container"), bn("b", "remote")})
	if len(kept) != 2 || kept[0].Node != "a" || kept[1].Node != "b" || len(left) != 1 ||
		left[0] != "d1: a docker-container node, and a buildx builder cannot mix drivers (this one has remote nodes); xbuild builds on it through buildx builder xbuild-node-d1" {
		t.Errorf("kept %+v, left %q", kept, left)
	}
	// a tie keeps the first node's driver
	if kept, left := oneDriver([]engine.BuilderNode{bn("d1", "docker-container"), bn("a", "remote")}); len(kept) != 1 || kept[0].Node != "d1" || len(left) != 1 {
		t.Errorf("tie: kept %+v, left %q", kept, left)
	}
	if kept, left := oneDriver([]engine.BuilderNode{bn("a", "remote")}); len(kept) != 1 || left != nil {
		t.Errorf("one driver: kept %+v, left %q", kept, left)
	}
}

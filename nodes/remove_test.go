package nodes

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// removeFixture is a registry with amd1 (builder xbuild), docker node d1
// (builder xbuild, with its context) and ci1 (builder ci).
func removeFixture(t *testing.T) *regFixture {
	t.Helper()
	f := newRegFixture(t, "linux/arm64")
	f.mustAdd(t, AddRequest{Name: "d1", Kind: KindDocker, Endpoint: "tcp://d1.example:2376", TLS: f.tls(), Platforms: []string{"linux/arm64"}, SkipCheck: true})
	f.mustAdd(t, AddRequest{Name: "ci1", Endpoint: "unix:///run/ci1.sock", Platforms: []string{"linux/amd64"}, Builder: "ci", SkipCheck: true})
	return f
}

func TestRegistrarRemove(t *testing.T) {
	t.Parallel()
	f := removeFixture(t)
	res, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"d1", "ci1", "d1"}})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, n := range res.Removed {
		removed = append(removed, n.Name)
	}
	assertStrings(t, removed, []string{"d1", "ci1"})
	var builders []string
	for _, b := range res.Builders {
		builders = append(builders, b.Builder)
	}
	assertStrings(t, builders, []string{"ci", "xbuild"})
	if len(res.Builders) == 2 && (len(res.Builders[0].Nodes) != 0 || len(res.Builders[1].Nodes) != 1 || res.Builders[1].Nodes[0].Node != "amd1") {
		t.Errorf("builders after removal: %+v", res.Builders)
	}
	// d1, a docker-container node, was never in the remote nodes' builder
	// xbuild; each node's own builder goes
	assertStrings(t, f.bx.calls, []string{"rm --keep-state ci", "rm --keep-state xbuild-node-d1", "rm --keep-state xbuild-node-ci1"})
	if len(f.contexts.m) != 0 {
		t.Errorf("docker contexts left: %+v", f.contexts.m)
	}
	list, _ := f.store.List()
	if len(list) != 1 || list[0].Name != "amd1" {
		t.Errorf("registry after removal: %+v", list)
	}
}

func TestRegistrarRemoveUnknownChangesNothing(t *testing.T) {
	t.Parallel()
	for _, names := range [][]string{{"d1", "nope"}, {"bad/name"}, {}} {
		f := removeFixture(t)
		before, contexts := snapshot(t, f.store.Dir()), f.contexts.state()
		res, err := f.r.Remove(context.Background(), RemoveRequest{Names: names})
		want := map[int]string{
			2: "node nope is not registered; registered nodes: amd1, ci1, d1",
			1: `node name "bad/name" contains '/': use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'`,
			0: "no node names given: xbuild nodes rm NAME [NAME...]",
		}[len(names)]
		if res != nil || errString(err) != want {
			t.Errorf("Remove(%q) = %+v, %v; want error %q", names, res, err, want)
		}
		if errors.Is(err, ErrInvalidRequest) != (len(names) == 0) {
			t.Errorf("Remove(%q): ErrInvalidRequest %v", names, errors.Is(err, ErrInvalidRequest))
		}
		assertSnapshot(t, f.store.Dir(), before)
		if !reflect.DeepEqual(f.contexts.state(), contexts) {
			t.Errorf("Remove(%q) changed the docker contexts", names)
		}
		if len(f.bx.calls) != 0 {
			t.Errorf("Remove(%q) ran buildx: %q", names, f.bx.calls)
		}
	}
}

// A builder that cannot be synced does not bring the nodes back: the
// result says what was removed and synced, the error what was not.
func TestRegistrarRemoveSyncFailure(t *testing.T) {
	t.Parallel()
	f := removeFixture(t)
	// without amd1, builder xbuild holds only d1, a docker-container node:
	// buildx removes the builder and creates it again, and the create fails
	f.bx.fail = "--name xbuild --node d1"
	res, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"ci1", "amd1"}})
	want := "the nodes were removed from the registry, but syncing buildx builder xbuild (create d1): boom (the next xbuild nodes add or nodes rm on that builder retries it)"
	if errString(err) != want {
		t.Errorf("error %q\nwant  %q", errString(err), want)
	}
	if res == nil || len(res.Removed) != 2 || len(res.Builders) != 1 || res.Builders[0].Builder != "ci" {
		t.Fatalf("result %+v", res)
	}
	if _, err := f.store.Get("amd1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("amd1 after the removal: %v", err)
	}
	f.bx.fail = ""
	if _, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"d1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get("d1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("d1 after the removal: %v", err)
	}
	if !reflect.DeepEqual(f.contexts.state(), map[string]engine.DockerContext{}) {
		t.Errorf("docker contexts left: %+v", f.contexts.m)
	}
}

type failingRemove struct{ *fakeContexts }

func (failingRemove) Remove(string) error { return errBoom }

func TestRegistrarRemoveWarnsAboutContexts(t *testing.T) {
	t.Parallel()
	f := removeFixture(t)
	f.r.Contexts = failingRemove{f.contexts}
	f.bx.fail = ""
	if _, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"d1"}}); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, f.warnings, []string{"removing docker context xbuild-d1: boom"})
}

package nodes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// recorder is a fake buildx that records the commands it is given.
type recorder struct {
	calls []string
	fail  string // fail a call whose args contain this
}

func (r *recorder) Buildx(_ context.Context, inv engine.Invocation) error {
	line := strings.Join(inv.Args, " ")
	if r.fail != "" && strings.Contains(line, r.fail) {
		return errors.New("boom")
	}
	r.calls = append(r.calls, line)
	return nil
}

func TestSyncBuilder(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
		r := &recorder{}
		if _, err := SyncBuilder(ctx, r, st, "xb"); err != nil {
			t.Fatal(err)
		}
		if strings.Join(r.calls, "\n") != strings.Join(want, "\n") {
			t.Errorf("buildx calls:\n  %s\nwant:\n  %s", strings.Join(r.calls, "\n  "), strings.Join(want, "\n  "))
		}
	}

	add(Node{Name: "amd1", Endpoint: "unix:///run/a.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"})
	sync("create --name xb --node amd1 --driver remote --platform linux/amd64 --timeout 2s unix:///run/a.sock")
	sync() // nothing changed: no buildx call at all

	add(Node{Name: "arm1", Endpoint: "unix:///run/b.sock", Platforms: []string{"linux/arm64"}, Builder: "xb"})
	add(Node{Name: "other", Endpoint: "unix:///run/o.sock", Platforms: []string{"linux/arm64"}, Builder: "elsewhere"})
	sync("create --name xb --node arm1 --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/b.sock")

	// an emulated node covering platforms natives already build joins nothing
	add(Node{Name: "qemu", Endpoint: "unix:///run/q.sock", Platforms: []string{"linux/amd64", "linux/arm64"}, Emulated: true, Builder: "xb"})
	sync()

	// when the native arm64 node goes, the emulated node takes arm64
	if err := st.Remove("arm1"); err != nil {
		t.Fatal(err)
	}
	sync("create --name xb --node qemu --driver remote --append --platform linux/arm64 --timeout 2s unix:///run/q.sock",
		"create --name xb --leave --node arm1")

	// a changed endpoint is an update
	add(Node{Name: "amd1", Endpoint: "unix:///run/a2.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"})
	sync("create --name xb --node amd1 --driver remote --append --platform linux/amd64 --timeout 2s unix:///run/a2.sock")

	// the last nodes gone: the builder is removed
	if err := st.Remove("amd1", "qemu"); err != nil {
		t.Fatal(err)
	}
	sync("rm --keep-state xb")
	if m, _ := st.SyncState("xb"); len(m) != 0 {
		t.Errorf("sync state after removal = %v", m)
	}
}

func TestSyncBuilderFailureKeepsStateHonest(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []Node{
		{Name: "a", Kind: KindLocal, Endpoint: "unix:///a.sock", Platforms: []string{"linux/amd64"}, Builder: "xb"},
		{Name: "b", Kind: KindLocal, Endpoint: "unix:///b.sock", Platforms: []string{"linux/arm64"}, Builder: "xb"},
	} {
		if err := st.Put(n); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{fail: "--node b"}
	_, err = SyncBuilder(context.Background(), r, st, "xb")
	if err == nil || !strings.Contains(err.Error(), "syncing buildx builder xb (create b): boom") {
		t.Fatalf("err = %v", err)
	}
	// a was created and is recorded; b was not, so the next sync retries only b
	m, _ := st.SyncState("xb")
	if _, ok := m["a"]; !ok || len(m) != 1 {
		t.Errorf("sync state = %v", m)
	}
	r = &recorder{}
	if _, err := SyncBuilder(context.Background(), r, st, "xb"); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || !strings.Contains(r.calls[0], "--append --platform linux/arm64 --timeout 2s unix:///b.sock") {
		t.Errorf("retry calls = %q", r.calls)
	}
}

package nodes

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// A node file that cannot be read does not block adding or removing the
// other nodes (issue 18: every nodes add/rm failed until the file was
// deleted by hand), and the broken node itself can be removed.
func TestACorruptNodeFileBlocksNothing(t *testing.T) {
	t.Parallel()
	f := newRegFixture(t, "linux/arm64")
	f.mustAdd(t, AddRequest{Name: "arm1", Endpoint: "unix:///run/arm1.sock", Platforms: []string{"linux/arm64"}, SkipCheck: true})
	// arm1's file is damaged (a disk error, a bad hand edit)
	if err := os.WriteFile(f.store.NodeFile("arm1"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	res, err := f.r.Add(context.Background(), AddRequest{Name: "riscv1", Endpoint: "unix:///run/riscv1.sock", Platforms: []string{"linux/riscv64"}, SkipCheck: true})
	if err != nil {
		t.Fatalf("an unrelated add failed: %v", err)
	}
	// arm1 stays in the buildx builder as it was: its file may come back
	assertStrings(t, f.bx.calls, []string{
		"create --name xbuild --node riscv1 --driver remote --append --platform linux/riscv64 --timeout 2s unix:///run/riscv1.sock",
		"create --name xbuild-node-riscv1 --node riscv1 --driver remote --platform linux/riscv64 --timeout 2s unix:///run/riscv1.sock",
	})
	if len(res.Sync.Left) != 1 || !strings.HasPrefix(res.Sync.Left[0], "arm1: its node file cannot be read") {
		t.Errorf("the sync does not say what it left alone: %q", res.Sync.Left)
	}
	f.reset()

	if _, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"riscv1"}}); err != nil {
		t.Fatalf("an unrelated rm failed: %v", err)
	}
	f.reset()

	// the broken node itself can be removed, from its builders too
	if _, err := f.r.Remove(context.Background(), RemoveRequest{Names: []string{"arm1"}}); err != nil {
		t.Fatalf("removing the broken node: %v", err)
	}
	assertStrings(t, f.bx.calls, []string{"create --name xbuild --leave --node arm1", "rm --keep-state xbuild-node-arm1"})
	if _, err := os.Stat(f.store.NodeFile("arm1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("arm1's file is still there: %v", err)
	}
}

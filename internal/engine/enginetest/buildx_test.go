package enginetest

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// The fake keeps builders as the real (embedded) buildx does: the same
// commands, run on both, leave the same builders and fail alike. Nothing is
// dialled: buildx create does not contact a remote node.
func TestFakeBuildxMatchesBuildx(t *testing.T) {
	t.Setenv("BUILDX_CONFIG", t.TempDir())
	real, err := engine.New("embedded")
	if err != nil {
		t.Fatal(err)
	}
	fake := &FakeBuildx{}
	node := func(name, endpoint string, platforms ...string) engine.BuilderNode {
		return engine.BuilderNode{Builder: "Xb", Node: name, Driver: "remote", Endpoint: endpoint, Platforms: platforms}
	}
	steps := []struct {
		args    []string
		wantErr bool
	}{
		{engine.CreateArgs(node("amd1", "unix:///a.sock", "linux/amd64"), true), true}, // no builder to append to
		{engine.CreateArgs(node("amd1", "unix:///a.sock", "linux/amd64"), false), false},
		{engine.CreateArgs(node("Arm1", "unix:///b.sock", "linux/arm64", "linux/arm/v7"), true), false},
		{engine.CreateArgs(node("q", "unix:///b.sock", "linux/riscv64"), true), true},                   // endpoint in use
		{engine.CreateArgs(node("amd1", "unix:///a2.sock", "linux/amd64"), true), false},                // update
		{engine.CreateArgs(node("new", "unix:///n.sock", "linux/386"), false), true},                    // not there, no --append
		{[]string{"create", "--name", "Xb", "--node", "k", "--driver", "kubernetes", "--append"}, true}, // another driver
		{engine.LeaveArgs("Xb", "Arm1"), true},                                                          // buildx keeps node names lower-cased
		{engine.LeaveArgs("Xb", "arm1"), false},
		{engine.LeaveArgs("Xb", "amd1"), true}, // the last node
		{engine.RemoveArgs("Xb"), false},
		{engine.RemoveArgs("Xb"), true},
	}
	for _, st := range steps {
		line := strings.Join(st.args, " ")
		errReal := real.Buildx(context.Background(), engine.Invocation{Args: st.args})
		errFake := fake.Buildx(context.Background(), engine.Invocation{Args: st.args})
		if (errReal != nil) != st.wantErr || (errFake != nil) != st.wantErr {
			t.Fatalf("%s: buildx error %v, fake error %v; want an error: %v", line, errReal, errFake, st.wantErr)
		}
		wantB, err := real.ReadBuilder("Xb")
		if err != nil {
			t.Fatal(err)
		}
		gotB, _ := fake.ReadBuilder("Xb")
		if !reflect.DeepEqual(gotB, wantB) {
			t.Fatalf("after %s:\nfake  %+v\nbuildx %+v", line, gotB, wantB)
		}
	}
}

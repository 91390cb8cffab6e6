package cmd

import (
	"context"
	"reflect"
	"testing"

	"github.com/xbuild-dev/xbuild/nodes"
)

func TestNodesRmFlags(t *testing.T) {
	t.Parallel()
	e := newNodesEnv(t)
	var got []string
	c := newNodesRmCmd(e.f, func(_ context.Context, opts *nodesRmOptions) error { got = opts.names; return nil })
	if code := e.run(c, "a", "b"); code != ExitOK || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("exit %d, names %q", code, got)
	}
	e = newNodesEnv(t)
	if code := e.run(newNodesRmCmd(e.f, runNodesRm)); code != ExitUsage || e.err.String() != "Error: \"rm\" needs at least one node NAME\n"+usageTail {
		t.Errorf("no names: exit %d, %q", code, e.err)
	}
}

func TestNodesRm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failOn   string
		args     []string
		code     int
		stderr   string
		left     []string // registered afterwards
		buildx   []string
		contexts []string // docker contexts afterwards
	}{
		{
			name:   "docker node and local node",
			args:   []string{"d1", "n2"},
			stderr: "Removed node d1.\nRemoved node n2.\nbuildx builder xbuild: empty\n",
			// each node's own builder goes too
			buildx: []string{"rm --keep-state xbuild", "rm --keep-state xbuild-node-d1", "rm --keep-state xbuild-node-n2"},
		},
		{
			name:   "one of two",
			args:   []string{"d1"},
			stderr: "Removed node d1.\nbuildx builder xbuild: n2 [linux/arm64]\n",
			left:   []string{"n2"},
			// the builder held d1 (docker-container) alone: buildx cannot
			// change its driver, so it is made anew for n2
			buildx: []string{"rm --keep-state xbuild", "create --name xbuild --node n2 --driver remote --platform linux/arm64 --timeout 2s unix:///run/n2.sock", "rm --keep-state xbuild-node-d1"},
		},
		{
			name:     "unknown name: nothing is removed",
			args:     []string{"d1", "nope"},
			code:     ExitFailure,
			stderr:   "Error: node nope is not registered; registered nodes: d1, n2\n",
			left:     []string{"d1", "n2"},
			contexts: []string{"xbuild-d1"},
		},
		{
			name:   "builder sync fails",
			failOn: "--node n2",
			args:   []string{"d1"},
			code:   ExitFailure,
			stderr: "Removed node d1.\nError: the nodes were removed from the registry, but syncing buildx builder xbuild (create n2): buildx says no (the next xbuild nodes add or nodes rm on that builder retries it)\n",
			left:   []string{"n2"},
			buildx: []string{"rm --keep-state xbuild", "create --name xbuild --node n2 --driver remote --platform linux/arm64 --timeout 2s unix:///run/n2.sock", "rm --keep-state xbuild-node-d1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newNodesEnv(t)
			e.mustAdd(t, append([]string{"d1", "--kind", "docker", "--endpoint", "tcp://node.example:2376", "--platform", "linux/amd64", "--skip-check"}, e.tlsArgs()...)...)
			e.mustAdd(t, "n2", "--endpoint", "unix:///run/n2.sock", "--platform", "linux/arm64", "--skip-check")
			e.eng.failOn = tt.failOn
			if code := e.run(NewNodesRmCmd(e.f), tt.args...); code != tt.code || e.err.String() != tt.stderr || e.out.Len() != 0 {
				t.Errorf("exit %d\nstderr %q\nwant %d\n       %q", code, e.err, tt.code, tt.stderr)
			}
			st, err := nodes.Open(e.configDir)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := st.List()
			var left []string
			for _, n := range list {
				left = append(left, n.Name)
			}
			if !reflect.DeepEqual(left, tt.left) {
				t.Errorf("registered afterwards %q, want %q", left, tt.left)
			}
			if !reflect.DeepEqual(e.eng.calls, tt.buildx) {
				t.Errorf("buildx calls %q, want %q", e.eng.calls, tt.buildx)
			}
			var contexts []string
			for name := range e.contexts.m {
				contexts = append(contexts, name)
			}
			if !reflect.DeepEqual(contexts, tt.contexts) {
				t.Errorf("docker contexts %q, want %q", contexts, tt.contexts)
			}
		})
	}
}

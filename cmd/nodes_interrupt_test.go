package cmd

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Ctrl-C while nodes ls/check/add wait for a node: exit 130 with one
// line, no table of cancelled checks (they say nothing about the nodes),
// and the node registry as it was.
func TestNodesCommandsInterrupted(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"ls", []string{"ls"}},
		{"ls json", []string{"ls", "--format", "json"}},
		{"check", []string{"check"}},
		{"add", []string{"add", "n2", "--endpoint", "tcp://node.example:1235", "--tls-ca", "certs/client/ca.pem",
			"--tls-cert", "certs/client/cert.pem", "--tls-key", "certs/client/key.pem", "--tls-servername", "node.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newNodesEnv(t, "linux/amd64")
			e.mustAdd(t, append([]string{"n1", "--endpoint", "tcp://node.example:1234", "--tls-servername", "node.example"}, e.tlsArgs()...)...)
			before := dirFiles(t, e.configDir)
			calls := len(e.eng.calls)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// the node does not answer; Ctrl-C comes while xbuild waits
			e.f.Dial = func(dctx context.Context, _, _ string) (net.Conn, error) {
				cancel()
				<-dctx.Done()
				return nil, dctx.Err()
			}
			c := NewNodesCmd(e.f)
			c.SetArgs(tc.args)
			c.SetOut(e.f.IO.Out)
			c.SetErr(e.f.IO.ErrOut)
			c.SilenceUsage, c.SilenceErrors = true, true
			code := handleError(e.f.IO, c.ExecuteContext(ctx), ctx)
			if code != ExitInterrupted || e.out.Len() != 0 || e.err.String() != "xbuild: interrupted\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 130, nothing, one line", code, e.out, e.err)
			}
			if after := dirFiles(t, e.configDir); !mapsEqualBytes(before, after) {
				t.Errorf("the node registry changed:\nbefore %v\nafter  %v", keysOf(before), keysOf(after))
			}
			if len(e.eng.calls) != calls {
				t.Errorf("buildx ran: %q", e.eng.calls[calls:])
			}
		})
	}
}

// Ctrl-C while `nodes add` syncs the buildx builders: the rollback still
// runs (on a context of its own), so the registry, the builders and the
// docker context of a docker node are as they were; exit 130.
func TestNodesAddInterruptedDuringSync(t *testing.T) {
	for _, kind := range []string{"buildkit", "docker"} {
		t.Run(kind, func(t *testing.T) {
			e := newNodesEnv(t, "linux/amd64")
			e.mustAdd(t, append([]string{"n1", "--endpoint", "tcp://node.example:1234", "--tls-servername", "node.example"}, e.tlsArgs()...)...)
			before, contexts := dirFiles(t, e.configDir), e.contextsState()
			builders := e.builders(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Ctrl-C as buildx is asked to add the new node to a builder
			interrupted := false
			e.eng.onBuildx = func(_ context.Context, args []string) {
				if slices.Contains(args, "n2") {
					interrupted = true
					cancel()
				}
			}
			args := []string{"add", "n2", "--kind", kind, "--endpoint", "tcp://node.example:2376", "--tls-servername", "node.example"}
			c := NewNodesCmd(e.f)
			c.SetArgs(append(args, e.tlsArgs()...))
			c.SetOut(e.f.IO.Out)
			c.SetErr(e.f.IO.ErrOut)
			c.SilenceUsage, c.SilenceErrors = true, true
			code := handleError(e.f.IO, c.ExecuteContext(ctx), ctx)
			if !interrupted {
				t.Fatalf("buildx was never asked about n2: %q", e.eng.calls)
			}
			if code != ExitInterrupted || e.err.String() != "xbuild: interrupted\n" {
				t.Errorf("exit %d, stderr %q; want 130 and one line", code, e.err)
			}
			if after := dirFiles(t, e.configDir); !mapsEqualBytes(before, after) {
				t.Errorf("the node registry changed:\nbefore %v\nafter  %v", keysOf(before), keysOf(after))
			}
			if got := e.contextsState(); !reflect.DeepEqual(got, contexts) {
				t.Errorf("docker contexts %v, want %v", got, contexts)
			}
			if got := e.builders(t); !reflect.DeepEqual(got, builders) {
				t.Errorf("buildx builders:\n%v\nwant\n%v", got, builders)
			}
		})
	}
}

// builders reads the buildx builders the tests' nodes n1 and n2 are in.
func (e *nodesEnv) builders(t *testing.T) map[string]*engine.StoredBuilder {
	t.Helper()
	out := map[string]*engine.StoredBuilder{}
	for _, name := range []string{"xbuild", "xbuild-node-n1", "xbuild-node-n2"} {
		b, err := e.eng.ReadBuilder(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// dirFiles reads every regular file under dir, by relative path.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func mapsEqualBytes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

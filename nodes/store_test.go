package nodes

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func localNode(name string) Node {
	return Node{Name: name, Endpoint: "unix:///run/" + name + ".sock", Platforms: []string{"linux/amd64"}, Added: t0}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "xbuild"))
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	return s
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestOpenCreatesPrivateDirs(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, d := range []string{s.Dir(), filepath.Join(s.Dir(), "nodes"), filepath.Join(s.Dir(), "builders")} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s has mode %04o, want 0700", d, m)
		}
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("warnings on a fresh registry: %q", w)
	}
}

func TestOpenTightensLooseDirs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "nodes"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "nodes")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, s.Warnings(), []string{
		dir + " had mode 0755; changed it to 0700 so other users cannot read or change the node registry",
		dir + "/nodes had mode 0755; changed it to 0700 so other users cannot read or change the node registry",
	})
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("mode %04o, want 0700", m)
	}
}

func TestOpenRefusesAFile(t *testing.T) {
	t.Parallel()
	file := writeFile(t, filepath.Join(t.TempDir(), "f"), nil, 0o600)
	_, err := Open(file)
	if err == nil {
		t.Fatal("Open on a file succeeded")
	}
}

func TestAddGetRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	n := Node{
		Name: "arm1", Endpoint: "tcp://Arm1.example.com:1234", Platforms: []string{"linux/aarch64"},
		TLS:        &TLS{CA: "/certs/ca.pem", Cert: "/certs/cert.pem", Key: "/certs/key.pem", ServerName: "arm1"},
		DriverOpts: map[string]string{"b": "2", "a": "1"},
	}
	if err := s.Add(n); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), "nodes", "arm1.json")
	if s.NodeFile("arm1") != path {
		t.Errorf("NodeFile = %s", s.NodeFile("arm1"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "name": "arm1",
  "kind": "buildkit",
  "endpoint": "tcp://arm1.example.com:1234",
  "platforms": [
    "linux/arm64"
  ],
  "emulated": false,
  "tls": {
    "ca": "/certs/ca.pem",
    "cert": "/certs/cert.pem",
    "key": "/certs/key.pem",
    "serverName": "arm1"
  },
  "driverOpts": {
    "a": "1",
    "b": "2"
  },
  "builder": "xbuild",
  "added": "2026-03-01T12:00:00Z",
  "schemaVersion": 1
}
`
	if string(b) != want {
		t.Errorf("node file:\n%s\nwant:\n%s", b, want)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("node file mode %04o, want 0600", m)
	}
	got, err := s.Get("arm1")
	if err != nil {
		t.Fatal(err)
	}
	wantNode := Node{
		Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://arm1.example.com:1234", Platforms: []string{"linux/arm64"},
		TLS:        &TLS{CA: "/certs/ca.pem", Cert: "/certs/cert.pem", Key: "/certs/key.pem", ServerName: "arm1"},
		DriverOpts: map[string]string{"a": "1", "b": "2"}, Builder: "xbuild", Added: t0, SchemaVersion: 1,
	}
	if !reflect.DeepEqual(got, wantNode) {
		t.Errorf("Get:\ngot  %+v\nwant %+v", got, wantNode)
	}
}

func TestAddExisting(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if err := s.Add(Node{Name: "arm1", Endpoint: "tcp://10.0.0.2:1234", Platforms: []string{"linux/arm64"}, Insecure: true}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Dir())
	tests := []struct {
		n   Node
		err string
	}{
		{n: localNode("arm1"), err: "node arm1 already exists (tcp://10.0.0.2:1234): remove it first with xbuild nodes rm arm1, or choose another name"},
		{n: localNode("ARM1"), err: "node ARM1 clashes with existing node arm1 (tcp://10.0.0.2:1234), names are compared ignoring case: remove it first with xbuild nodes rm arm1, or choose another name"},
	}
	for _, tt := range tests {
		err := s.Add(tt.n)
		if errString(err) != tt.err {
			t.Errorf("Add(%s) = %q\nwant %q", tt.n.Name, errString(err), tt.err)
		}
		if !errors.Is(err, ErrExists) {
			t.Errorf("Add(%s) error does not match ErrExists", tt.n.Name)
		}
	}
	if err := s.Put(localNode("Arm1")); errString(err) != "node Arm1 clashes with existing node arm1 (tcp://10.0.0.2:1234), names are compared ignoring case: remove it first with xbuild nodes rm arm1, or choose another name" {
		t.Errorf("Put(Arm1) = %v", err)
	}
	assertSnapshot(t, s.Dir(), before)
}

func TestAddInvalidWritesNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if err := s.Add(localNode("one")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Dir())
	err := s.Add(Node{Name: "two", Endpoint: "tcp://10.0.0.3:1234", Platforms: []string{"linux/arm64"}})
	if err == nil {
		t.Fatal("Add of a tcp node without TLS succeeded")
	}
	assertSnapshot(t, s.Dir(), before)
}

func TestPutReplacesAndKeepsAdded(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if err := s.Add(localNode("one")); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0.Add(time.Hour) }
	n := localNode("one")
	n.Added = time.Time{}
	n.Platforms = []string{"linux/arm64"}
	if err := s.Put(n); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("one")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Added.Equal(t0) || !slices.Equal(got.Platforms, []string{"linux/arm64"}) {
		t.Errorf("after Put: %+v", got)
	}
	n.Name = "two"
	if err := s.Put(n); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("two"); !got.Added.Equal(t0.Add(time.Hour)) {
		t.Errorf("new node via Put: Added = %v", got.Added)
	}
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	_, err := s.Get("arm1")
	if want := "node arm1 is not registered, and no nodes are registered yet: add one with xbuild nodes add NAME --endpoint URL --platform PLATFORM"; errString(err) != want {
		t.Errorf("Get = %q\nwant %q", errString(err), want)
	}
	for _, name := range []string{"b", "a"} {
		if err := s.Add(localNode(name)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Get("arm1")
	if want := "node arm1 is not registered; registered nodes: a, b"; errString(err) != want {
		t.Errorf("Get = %q\nwant %q", errString(err), want)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Error("not-found error does not match ErrNotFound")
	}
	if _, err := s.Get("../a"); errString(err) != `node name "../a" starts with ".": use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'` {
		t.Errorf("Get(../a) = %v", err)
	}
}

func TestListSkipsBrokenFiles(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, name := range []string{"c", "a", "b"} {
		if err := s.Add(localNode(name)); err != nil {
			t.Fatal(err)
		}
	}
	nodesDir := filepath.Join(s.Dir(), "nodes")
	writeFile(t, filepath.Join(nodesDir, "b.json"), []byte("{\"name\": \"b\", "), 0o600)
	renamed, _ := os.ReadFile(filepath.Join(nodesDir, "a.json"))
	writeFile(t, filepath.Join(nodesDir, "z.json"), renamed, 0o600)
	writeFile(t, filepath.Join(nodesDir, "y.json"), []byte(`{"name":"y","endpoint":"tcp://h:1","platforms":["linux/amd64"],"schemaVersion":1}`), 0o600)
	writeFile(t, filepath.Join(nodesDir, "x.json"), []byte(`{"name":"x","schemaVersion":7}`), 0o600)
	writeFile(t, filepath.Join(nodesDir, ".a.json.tmp-123"), []byte("junk"), 0o600)
	writeFile(t, filepath.Join(nodesDir, "README"), []byte("junk"), 0o600)

	list, errs := s.List()
	var names []string
	for _, n := range list {
		names = append(names, n.Name)
	}
	assertStrings(t, names, []string{"a", "c"})
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	f := func(name string) string { return filepath.Join(nodesDir, name+".json") }
	fix := func(name string) string {
		return "fix the file, or delete it (rm " + f(name) + ") and add the node again with xbuild nodes add"
	}
	assertStrings(t, got, []string{
		"node file " + f("b") + " is not valid node JSON (unexpected end of JSON input): " + fix("b"),
		"node file " + f("x") + " has schema version 7, written by a newer xbuild (this one reads up to 1): upgrade xbuild",
		"node file " + f("y") + " is invalid (node y: tcp://h:1 is reached over TCP, which needs mutual TLS: pass --tls-ca, --tls-cert and --tls-key (" + hint + "), or --insecure to accept an unencrypted, unauthenticated connection that anyone who can reach the port can use): " + fix("y"),
		"node file " + f("z") + ` holds node "a", not "z": ` + fix("z"),
	})
}

func TestRemoveAllOrNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, name := range []string{"a", "b", "c"} {
		if err := s.Add(localNode(name)); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, s.Dir())
	tests := []struct {
		names []string
		err   string
	}{
		{names: []string{"a", "nope"}, err: "node nope is not registered; registered nodes: a, b, c; nothing was removed"},
		{names: []string{"x", "a", "y"}, err: "nodes x, y are not registered; registered nodes: a, b, c; nothing was removed"},
		{names: []string{"a", "-bad"}, err: `node name "-bad" starts with "-": use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'`},
		{names: nil, err: "no node names given: xbuild nodes rm NAME [NAME...]"},
	}
	for _, tt := range tests {
		err := s.Remove(tt.names...)
		if errString(err) != tt.err {
			t.Errorf("Remove(%q) = %q\nwant %q", tt.names, errString(err), tt.err)
		}
		if len(tt.names) == 2 && tt.names[1] == "nope" && !errors.Is(err, ErrNotFound) {
			t.Error("Remove error does not match ErrNotFound")
		}
	}
	assertSnapshot(t, s.Dir(), before)

	if err := s.Remove("a", "c", "a"); err != nil {
		t.Fatal(err)
	}
	list, errs := s.List()
	if len(errs) != 0 || len(list) != 1 || list[0].Name != "b" {
		t.Errorf("after Remove(a, c): %+v %v", list, errs)
	}
	if got := keys(snapshot(t, s.Dir())); !slices.Equal(got, []string{"nodes/b.json"}) {
		t.Errorf("files left: %q", got)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if err := s.Add(localNode("a")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Dir())
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(*Node) error
		err  string
	}{
		{name: "a", fn: func(n *Node) error { n.Platforms = nil; return boom }, err: "boom"},
		{name: "a", fn: func(n *Node) error { n.Name = "b"; return nil }, err: "node a cannot be renamed to b by an update: add the new name and remove the old one"},
		{name: "a", fn: func(n *Node) error { n.Platforms = []string{"arm64"}; return nil }, err: `node a: platform "arm64" has no OS: use os/arch, e.g. linux/arm64`},
		{name: "zz", fn: func(n *Node) error { return nil }, err: "node zz is not registered; registered nodes: a"},
	}
	for _, tt := range tests {
		if err := s.Update(tt.name, tt.fn); errString(err) != tt.err {
			t.Errorf("Update = %q\nwant %q", errString(err), tt.err)
		}
	}
	assertSnapshot(t, s.Dir(), before)

	if err := s.Update("a", func(n *Node) error {
		n.Platforms = append(n.Platforms, "linux/aarch64")
		n.Emulated = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get("a")
	if !slices.Equal(got.Platforms, []string{"linux/amd64", "linux/arm64"}) || !got.Emulated || !got.Added.Equal(t0) {
		t.Errorf("after Update: %+v", got)
	}
}

func TestSyncState(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	m, err := s.SyncState("xbuild")
	if err != nil || m == nil || len(m) != 0 {
		t.Fatalf("SyncState of a new builder = %v, %v", m, err)
	}
	want := map[string]string{"arm1": "sha256:aa", "amd1": "sha256:bb"}
	if err := s.SetSyncState("xbuild", want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), "builders", "xbuild.json")
	b, _ := os.ReadFile(path)
	const file = `{
  "schemaVersion": 1,
  "builder": "xbuild",
  "nodes": {
    "amd1": "sha256:bb",
    "arm1": "sha256:aa"
  }
}
`
	if string(b) != file {
		t.Errorf("builder file:\n%s\nwant:\n%s", b, file)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode %04o", m)
	}
	got, err := s.SyncState("xbuild")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SyncState = %v, %v", got, err)
	}
	if err := s.SetSyncState("xbuild", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("empty state left the file: %v", err)
	}
	if err := s.SetSyncState("a/b", want); errString(err) != `builder name "a/b" contains '/': use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'` {
		t.Errorf("bad builder: %v", err)
	}
	if err := s.SetSyncState("x", map[string]string{"": "h"}); errString(err) != "builder x: node name is empty: use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'" {
		t.Errorf("bad node: %v", err)
	}
	writeFile(t, path, []byte("nope"), 0o600)
	if _, err := s.SyncState("xbuild"); errString(err) != "builder state "+path+" is not valid JSON (invalid character 'o' in literal null (expecting 'u')): delete it (rm "+path+"); the next build re-syncs the builder" {
		t.Errorf("corrupt state: %v", err)
	}
}

// concurrentOps are the read-modify-write races the registry lock must
// settle: distinct adds (none lost), adds of one name (exactly one wins)
// and updates of one node (none lost).
var concurrentOps = map[string]func(s *Store, i int) error{
	"add": func(s *Store, i int) error { return s.Add(localNode(fmt.Sprintf("node%02d", i))) },
	"addsame": func(s *Store, i int) error {
		n := localNode("same")
		n.Endpoint = fmt.Sprintf("unix:///run/%02d.sock", i)
		return s.Add(n)
	},
	"update": func(s *Store, i int) error {
		return s.Update("shared", func(n *Node) error {
			if n.DriverOpts == nil {
				n.DriverOpts = map[string]string{}
			}
			n.DriverOpts[fmt.Sprintf("k%02d", i)] = "v"
			return nil
		})
	},
}

// checkConcurrent asserts the outcome of 20 concurrent runs of op.
func checkConcurrent(t *testing.T, dir, op string, errs []error) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, lerrs := s.List()
	if len(lerrs) != 0 {
		t.Fatalf("List errors: %v", lerrs)
	}
	switch op {
	case "add":
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if len(list) != 20 {
			t.Fatalf("%d nodes, want 20", len(list))
		}
	case "addsame":
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.Is(err, ErrExists) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 || len(list) != 1 {
			t.Fatalf("%d adds of one name succeeded, %d nodes; want exactly 1", won, len(list))
		}
	case "update":
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || len(list[0].DriverOpts) != 20 {
			t.Fatalf("after 20 updates: %d nodes, driver options %v; want all 20 updates kept", len(list), list[0].DriverOpts)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "nodes"))
	for _, e := range ents {
		if e.Name() != ".lock" && filepath.Ext(e.Name()) != ".json" {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

func prepareConcurrent(t *testing.T, op string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "xbuild")
	if op == "update" {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(localNode("shared")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestConcurrentGoroutines runs each op from 20 goroutines, each with its
// own Store (its own lock file descriptor).
func TestConcurrentGoroutines(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"add", "addsame", "update"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			dir := prepareConcurrent(t, op)
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range 20 {
				wg.Go(func() {
					s, err := Open(dir)
					if err == nil {
						<-start
						err = concurrentOps[op](s, i)
					}
					errs[i] = err
				})
			}
			close(start)
			wg.Wait()
			checkConcurrent(t, dir, op, errs)
		})
	}
}

// TestConcurrentProcesses runs each op from 20 copies of the test binary
// released at the same moment (see TestHelperProcess).
func TestConcurrentProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, op := range []string{"add", "addsame", "update"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			dir := prepareConcurrent(t, op)
			gate := filepath.Join(t.TempDir(), "go")
			var cmds []*exec.Cmd
			for i := range 20 {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
				cmd.Env = append(os.Environ(), "XBUILD_NODES_HELPER_DIR="+dir, "XBUILD_NODES_HELPER_GATE="+gate,
					"XBUILD_NODES_HELPER_OP="+op, fmt.Sprintf("XBUILD_NODES_HELPER_I=%d", i))
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd)
				t.Cleanup(func() {
					if t.Failed() && out.Len() > 0 {
						t.Logf("process %d:\n%s", i, out)
					}
				})
			}
			writeFile(t, gate, nil, 0o600)
			errs := make([]error, len(cmds))
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					errs[i] = err
					if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
						errs[i] = ErrExists
					}
				}
			}
			checkConcurrent(t, dir, op, errs)
		})
	}
}

// TestHelperProcess is the child of TestConcurrentProcesses; run directly
// it does nothing. It exits 3 when its Add found the name taken.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("XBUILD_NODES_HELPER_DIR")
	if dir == "" {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv("XBUILD_NODES_HELPER_GATE")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gate never opened")
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	i, _ := strconv.Atoi(os.Getenv("XBUILD_NODES_HELPER_I"))
	if err := concurrentOps[os.Getenv("XBUILD_NODES_HELPER_OP")](s, i); errors.Is(err, ErrExists) {
		os.Exit(3)
	} else if err != nil {
		t.Fatal(err)
	}
}

func TestLockTimeout(t *testing.T) {
	t.Parallel()
	holder := openStore(t)
	unlock, err := holder.lock(holder.nodesDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	waiter, err := Open(holder.Dir())
	if err != nil {
		t.Fatal(err)
	}
	waiter.LockTimeout = 50 * time.Millisecond
	before := snapshot(t, holder.Dir())
	err = waiter.Add(localNode("a"))
	want := "the node registry is locked by another xbuild process (" + filepath.Join(holder.Dir(), "nodes", ".lock") + ") and stayed locked for 50ms: retry when it has finished"
	if errString(err) != want {
		t.Errorf("Add = %q\nwant %q", errString(err), want)
	}
	assertSnapshot(t, holder.Dir(), before)
	unlock()
	// The abandoned waiter must not keep the lock once it gets it.
	waiter.LockTimeout = 5 * time.Second
	if err := waiter.Add(localNode("a")); err != nil {
		t.Fatal(err)
	}
	if err := holder.Add(localNode("b")); err != nil {
		t.Fatal(err)
	}
}

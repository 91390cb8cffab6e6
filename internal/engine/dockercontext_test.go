package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker/cli/cli/command"
	clicontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// files reads every file under dir, for byte-for-byte comparisons.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// A context written from PEM bytes is what the docker CLI (and buildx)
// reads back: the host and the three files, unchanged.
func TestDockerContextStoreEnsure(t *testing.T) {
	dir := t.TempDir()
	s := DockerContextStore{Dir: dir}
	c := DockerContext{Name: "xbuild-d1", Host: "tcp://d1.example:2376", CA: []byte("CA PEM\n"), Cert: []byte("CERT PEM\n"), Key: []byte("KEY PEM\n"), Description: "xbuild node d1"}
	if err := s.Ensure(c); err != nil {
		t.Fatal(err)
	}
	cli := store.New(filepath.Join(dir, "contexts"), command.DefaultContextStoreConfig())
	md, err := cli.GetMetadata("xbuild-d1")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := docker.EndpointFromContext(md)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Host != c.Host {
		t.Errorf("host %q, want %q", ep.Host, c.Host)
	}
	td, err := clicontext.LoadTLSData(cli, "xbuild-d1", docker.DockerEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	want := &clicontext.TLSData{CA: c.CA, Cert: c.Cert, Key: c.Key}
	if !reflect.DeepEqual(td, want) {
		t.Errorf("TLS data %+v, want %+v", td, want)
	}
	info := cli.GetStorageInfo("xbuild-d1")
	if st, err := os.Stat(filepath.Join(info.TLSPath, docker.DockerEndpoint, "key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", st, err)
	}

	// without TLS material the context's TLS directory is emptied
	if err := s.Ensure(DockerContext{Name: "xbuild-d1", Host: "unix:///run/docker.sock"}); err != nil {
		t.Fatal(err)
	}
	if td, err := clicontext.LoadTLSData(cli, "xbuild-d1", docker.DockerEndpoint); err != nil || td != nil {
		t.Errorf("TLS data after an update without TLS: %+v %v", td, err)
	}
}

// Restore undoes any change byte for byte: an updated context gets its
// files back, a created one disappears, and other contexts are untouched.
func TestDockerContextStoreSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	s := DockerContextStore{Dir: dir}
	orig := DockerContext{Name: "xbuild-d1", Host: "tcp://d1.example:2376", CA: []byte("CA 1\n"), Cert: []byte("CERT 1\n"), Key: []byte("KEY 1\n"), Description: "xbuild node d1"}
	for _, c := range []DockerContext{orig, {Name: "other", Host: "unix:///run/docker.sock"}} {
		if err := s.Ensure(c); err != nil {
			t.Fatal(err)
		}
	}
	before := files(t, dir)

	snap, err := s.Snapshot("xbuild-d1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(DockerContext{Name: "xbuild-d1", Host: "tcp://d2.example:2376", CA: []byte("CA 2\n"), Cert: []byte("CERT 2\n"), Key: []byte("KEY 2\n")}); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(files(t, dir), before) {
		t.Fatal("the update changed nothing: the test proves nothing")
	}
	if err := s.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("after Restore:\n%v\nwant\n%v", got, before)
	}

	// a context that did not exist is removed again
	none, err := s.Snapshot("xbuild-new")
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Files) != 0 {
		t.Errorf("snapshot of a missing context holds %v", none.Files)
	}
	if err := s.Ensure(DockerContext{Name: "xbuild-new", Host: "tcp://n.example:2376", CA: []byte("CA\n"), Cert: []byte("C\n"), Key: []byte("K\n")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(none); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("after restoring a missing context:\n%v\nwant\n%v", got, before)
	}

	// Remove of a missing context is not an error
	if err := s.Remove("xbuild-new"); err != nil {
		t.Errorf("Remove of a missing context: %v", err)
	}
	if err := s.Remove("xbuild-d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.New(filepath.Join(dir, "contexts"), command.DefaultContextStoreConfig()).GetMetadata("xbuild-d1"); err == nil {
		t.Error("xbuild-d1 is still there after Remove")
	}
}

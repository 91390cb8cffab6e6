package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// DockerContext is a docker CLI context for a TLS-protected Docker engine.
// buildx's docker-container driver reaches remote engines through contexts:
// a raw tcp:// address with DOCKER_TLS_VERIFY does not carry the TLS
// material to the driver.
type DockerContext struct {
	Name string
	Host string // tcp://host:2376
	// CA, Cert and Key are the PEM contents the caller has read and
	// checked; they are copied into the context store as they are. All
	// empty means no TLS.
	CA          []byte
	Cert        []byte
	Key         []byte
	Description string
}

// DockerContextStore is the production store of docker CLI contexts: the
// docker config directory. It satisfies nodes.DockerContexts.
type DockerContextStore struct {
	// Dir is the docker config directory; "" means the one buildx uses
	// ($DOCKER_CONFIG, else ~/.docker).
	Dir string
}

func (s DockerContextStore) store() *store.ContextStore {
	dir := config.ContextStoreDir()
	if s.Dir != "" {
		dir = filepath.Join(s.Dir, "contexts")
	}
	return store.New(dir, command.DefaultContextStoreConfig())
}

// Ensure creates or updates the context, copying the TLS material into the
// context store as `docker context create --docker host=...,ca=...` does.
// It implements nodes.DockerContexts.
func (s DockerContextStore) Ensure(c DockerContext) error {
	if err := store.ValidateContextName(c.Name); err != nil {
		return err
	}
	md := store.Metadata{
		Name:      c.Name,
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: c.Host}},
		Metadata:  command.DockerContext{Description: c.Description},
	}
	st := s.store()
	if err := st.CreateOrUpdate(md); err != nil {
		return fmt.Errorf("writing docker context %s: %w", c.Name, err)
	}
	tls := store.ContextTLSData{}
	if files := tlsFiles(c); len(files) > 0 {
		tls.Endpoints = map[string]store.EndpointTLSData{docker.DockerEndpoint: {Files: files}}
	}
	if err := st.ResetTLSMaterial(c.Name, &tls); err != nil {
		return fmt.Errorf("writing TLS material of docker context %s: %w", c.Name, err)
	}
	return nil
}

// tlsFiles names the PEM contents as the docker CLI stores them.
func tlsFiles(c DockerContext) map[string][]byte {
	files := map[string][]byte{}
	for name, data := range map[string][]byte{"ca.pem": c.CA, "cert.pem": c.Cert, "key.pem": c.Key} {
		if len(data) > 0 {
			files[name] = data
		}
	}
	return files
}

// Remove deletes a context xbuild created; a missing one is fine. It
// implements nodes.DockerContexts.
func (s DockerContextStore) Remove(name string) error {
	st := s.store()
	if _, err := st.GetMetadata(name); err != nil {
		return nil
	}
	return st.Remove(name)
}

// DockerContextSnapshot is a docker context exactly as stored, taken before
// a change so that a failed change can be undone byte for byte.
type DockerContextSnapshot struct {
	Name string
	// Files are the context's files and directories (metadata and TLS
	// material) by path; none means there was no such context.
	Files map[string]SnapshotFile
}

// SnapshotFile is one file (or directory) of a snapshot.
type SnapshotFile struct {
	Mode fs.FileMode
	Data []byte
}

// Snapshot reads every file of the context (its metadata and its TLS
// directory). It implements nodes.DockerContexts.
func (s DockerContextStore) Snapshot(name string) (DockerContextSnapshot, error) {
	if err := store.ValidateContextName(name); err != nil {
		return DockerContextSnapshot{}, err
	}
	snap := DockerContextSnapshot{Name: name, Files: map[string]SnapshotFile{}}
	info := s.store().GetStorageInfo(name)
	for _, root := range []string{info.MetadataPath, info.TLSPath} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			f := SnapshotFile{Mode: fi.Mode()}
			if d.Type().IsRegular() {
				if f.Data, err = os.ReadFile(p); err != nil {
					return err
				}
			} else if !d.IsDir() {
				return fmt.Errorf("%s is not a regular file", p)
			}
			snap.Files[p] = f
			return nil
		})
		if err != nil {
			return DockerContextSnapshot{}, fmt.Errorf("reading docker context %s: %w", name, err)
		}
	}
	return snap, nil
}

// Restore puts a context back as the snapshot found it: the context's
// directories are replaced by the snapshot's files, or removed when the
// snapshot holds none. It implements nodes.DockerContexts.
func (s DockerContextStore) Restore(snap DockerContextSnapshot) error {
	if err := store.ValidateContextName(snap.Name); err != nil {
		return err
	}
	info := s.store().GetStorageInfo(snap.Name)
	for _, root := range []string{info.MetadataPath, info.TLSPath} {
		if err := os.RemoveAll(root); err != nil {
			return fmt.Errorf("restoring docker context %s: %w", snap.Name, err)
		}
	}
	// parents before children: the walk recorded them in that order, and
	// paths sort that way
	for _, p := range slices.Sorted(maps.Keys(snap.Files)) {
		f := snap.Files[p]
		var err error
		if f.Mode.IsDir() {
			err = os.MkdirAll(p, f.Mode.Perm())
			if err == nil {
				err = os.Chmod(p, f.Mode.Perm())
			}
		} else {
			err = writeFileMode(p, f.Data, f.Mode.Perm())
		}
		if err != nil {
			return fmt.Errorf("restoring docker context %s: %w", snap.Name, err)
		}
	}
	return nil
}

func writeFileMode(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // umask-proof
}

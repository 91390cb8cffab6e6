package nodes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
)

// syncRecord is the file DIR/builders/BUILDER.json.
type syncRecord struct {
	SchemaVersion int               `json:"schemaVersion"`
	Builder       string            `json:"builder"`
	Nodes         map[string]string `json:"nodes"`
}

func (s *Store) syncFile(builder string) string {
	return filepath.Join(s.buildersDir(), builder+".json")
}

// SyncState returns what xbuild last synced into a buildx builder: node
// name -> hash of the node's buildx spec. A builder never synced has an
// empty map.
func (s *Store) SyncState(builder string) (map[string]string, error) {
	if err := ValidateName(builder); err != nil {
		return nil, fmt.Errorf("builder %w", err)
	}
	unlock, err := s.lock(s.buildersDir(), false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return readSyncFile(s.syncFile(builder))
}

// ReadSyncState is SyncState for the registry in dir, writing nothing (for
// --dry-run): no directory or lock file is created, and the record is read
// without the lock, which is safe because it is replaced atomically. A
// registry that does not exist has synced nothing.
func ReadSyncState(dir, builder string) (map[string]string, error) {
	if err := ValidateName(builder); err != nil {
		return nil, fmt.Errorf("builder %w", err)
	}
	if dir == "" {
		return map[string]string{}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return readSyncFile((&Store{dir: abs}).syncFile(builder))
}

func readSyncFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	fix := fmt.Sprintf("delete it (rm %s); the next build re-syncs the builder", path)
	if err != nil {
		return nil, fmt.Errorf("builder state %s cannot be read (%v): %s", path, errors.Unwrap(err), fix)
	}
	var r syncRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("builder state %s is not valid JSON (%v): %s", path, err, fix)
	}
	if r.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("builder state %s has schema version %d, written by a newer xbuild (this one reads up to %d): upgrade xbuild", path, r.SchemaVersion, SchemaVersion)
	}
	if r.Nodes == nil {
		r.Nodes = map[string]string{}
	}
	return r.Nodes, nil
}

// SetSyncState records what was synced into a builder, replacing the
// previous record; an empty map deletes the record.
func (s *Store) SetSyncState(builder string, m map[string]string) error {
	if err := ValidateName(builder); err != nil {
		return fmt.Errorf("builder %w", err)
	}
	for name := range m {
		if err := ValidateName(name); err != nil {
			return fmt.Errorf("builder %s: node %w", builder, err)
		}
	}
	unlock, err := s.lock(s.buildersDir(), true)
	if err != nil {
		return err
	}
	defer unlock()
	path := s.syncFile(builder)
	if len(m) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(syncRecord{SchemaVersion: SchemaVersion, Builder: builder, Nodes: m}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// buildersWith lists the builders whose last sync put a node called node
// (compared ignoring case) in buildx, from their sync records: the way to
// find the builders of a node whose own file cannot be read.
func (s *Store) buildersWith(node string) ([]string, error) {
	ents, err := os.ReadDir(s.buildersDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || ValidateName(name) != nil {
			continue
		}
		rec, err := s.SyncState(name)
		if err != nil {
			continue
		}
		for n := range rec {
			if strings.EqualFold(n, node) {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

package buildstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
	"github.com/xbuild-dev/xbuild/internal/filelock"
)

// SchemaVersion is the version of the state files this xbuild writes.
const SchemaVersion = 1

// MaxAge is how long an unfinished build's state is kept: a release is
// retried within hours, not weeks.
const MaxAge = 7 * 24 * time.Hour

// Platform is one platform a build finished: pushed by digest.
type Platform struct {
	// Digest is what the platform's build pushed (an image, or an index of
	// the image and its attestations).
	Digest string `json:"digest"`
	// Node built it.
	Node string `json:"node"`
	// Result is built or failover.
	Result   string    `json:"result"`
	Finished time.Time `json:"finished"`
}

// State is what is known of one build: the platforms it has finished.
type State struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Key           string              `json:"key"`
	Repository    string              `json:"repository"`
	Platforms     map[string]Platform `json:"platforms"`
	Updated       time.Time           `json:"updated"`
}

// Store keeps build states as DIR/builds/KEY.json, one file per build,
// written atomically under a lock (several platforms finish at once, and
// several xbuild processes may share the directory).
type Store struct {
	// Dir is the per-user config directory (XBUILD_CONFIG_DIR).
	Dir string
	// LockTimeout bounds the wait for another process; zero means 30 s.
	LockTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Store) dir() string { return filepath.Join(s.Dir, "builds") }

func (s *Store) file(key string) string { return filepath.Join(s.dir(), key+".json") }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) lock() (func(), error) {
	if err := os.MkdirAll(s.dir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating the build state directory: %w", err)
	}
	t := s.LockTimeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return filelock.Lock(filepath.Join(s.dir(), ".lock"), true, t, "the build state")
}

// Load returns the state of a build; a build never seen, or one whose
// state is older than MaxAge, has no platforms. A state file that cannot
// be read is not trusted: Load says so and returns an empty state (the
// platforms are then rebuilt, which is always safe).
func (s *Store) Load(key string) (*State, error) {
	if !keyOK(key) {
		return nil, fmt.Errorf("build state key %q is not valid", key)
	}
	st := &State{SchemaVersion: SchemaVersion, Key: key, Platforms: map[string]Platform{}}
	b, err := os.ReadFile(s.file(key))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("build state %s cannot be read (%v): rebuilding every platform", s.file(key), err)
	}
	var got State
	if err := json.Unmarshal(b, &got); err != nil || got.Key != key || got.SchemaVersion > SchemaVersion {
		return st, fmt.Errorf("build state %s is not one this xbuild wrote: rebuilding every platform (delete the file to silence this)", s.file(key))
	}
	if s.now().Sub(got.Updated) > MaxAge {
		return st, nil
	}
	if got.Platforms == nil {
		got.Platforms = map[string]Platform{}
	}
	return &got, nil
}

// Record adds one finished platform to a build's state.
func (s *Store) Record(key, repository, platform string, p Platform) error {
	if !keyOK(key) {
		return fmt.Errorf("build state key %q is not valid", key)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, _ := s.Load(key) // an unreadable state is replaced
	st.Repository = repository
	if p.Finished.IsZero() {
		p.Finished = s.now().UTC()
	}
	st.Platforms[platform] = p
	st.Updated = s.now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.file(key), append(b, '\n'), 0o600)
}

// Forget deletes a build's state (the build was published), and any state
// older than MaxAge.
func (s *Store) Forget(key string) error {
	if !keyOK(key) {
		return fmt.Errorf("build state key %q is not valid", key)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(s.file(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ents, err := os.ReadDir(s.dir())
	if err != nil {
		return nil
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !keyOK(name) {
			continue
		}
		if info, err := e.Info(); err == nil && s.now().Sub(info.ModTime()) > MaxAge {
			_ = os.Remove(filepath.Join(s.dir(), e.Name()))
		}
	}
	return nil
}

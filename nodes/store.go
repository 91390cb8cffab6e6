package nodes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
)

// ErrNotFound is matched (errors.Is) by the error for a node that is not
// registered.
var ErrNotFound = errors.New("node not registered")

// ErrExists is matched (errors.Is) by the error of Add for a name in use.
var ErrExists = errors.New("node already registered")

// Store is the per-user node registry: DIR/nodes/NAME.json, one file per
// node, plus DIR/builders/BUILDER.json, the last sync into each buildx
// builder. Directories are 0700 and files 0600; every file is replaced
// atomically, and every read-modify-write runs under an exclusive flock on
// the directory's .lock file, so concurrent xbuild processes never lose
// each other's changes. Several Store values on one directory are safe.
type Store struct {
	dir string
	// Now stamps Added on new nodes; nil means time.Now.
	Now func() time.Time
	// LockTimeout bounds the wait for another process holding the lock;
	// zero means 30 seconds.
	LockTimeout time.Duration
	warnings    []string
}

// Open opens (creating it if needed) the registry in dir. Each directory
// it uses must belong to the current user; one with group or other
// permissions is tightened to 0700 and Warnings says so.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: abs}
	for _, d := range []string{abs, s.nodesDir(), s.buildersDir()} {
		w, err := ensurePrivateDir(d)
		if err != nil {
			return nil, err
		}
		if w != "" {
			s.warnings = append(s.warnings, w)
		}
	}
	return s, nil
}

// Dir is the registry's directory.
func (s *Store) Dir() string { return s.dir }

// Warnings are the things Open fixed on the way (loose permissions).
func (s *Store) Warnings() []string { return slices.Clone(s.warnings) }

func (s *Store) nodesDir() string    { return filepath.Join(s.dir, "nodes") }
func (s *Store) buildersDir() string { return filepath.Join(s.dir, "builders") }

// NodeFile is the path of a node's file (for messages).
func (s *Store) NodeFile(name string) string {
	return filepath.Join(s.nodesDir(), name+".json")
}

func (s *Store) lock(dir string, exclusive bool) (func(), error) {
	t := s.LockTimeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return flock(filepath.Join(dir, ".lock"), exclusive, t)
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Add registers a new node. It fails, changing nothing, when the node is
// invalid or a node of that name (compared ignoring case, so the registry
// works the same on case-insensitive file systems) exists.
func (s *Store) Add(n Node) error { return s.put(n, true) }

// checkFree refuses, as Add would but without writing, a name that is
// registered or differs from a registered one only in case.
func (s *Store) checkFree(name string) error {
	unlock, err := s.lock(s.nodesDir(), false)
	if err != nil {
		return err
	}
	defer unlock()
	return s.checkClash(name, true)
}

// checkEndpointFree refuses, as Add would but without writing, a node
// whose endpoint a registered node already uses.
func (s *Store) checkEndpointFree(n Node) error {
	unlock, err := s.lock(s.nodesDir(), false)
	if err != nil {
		return err
	}
	defer unlock()
	return s.checkEndpoint(n)
}

// checkEndpoint refuses a new node on a daemon a registered node already
// stands for (DuplicateEndpoints): it would be routed, and loaded, as two.
// Call it with the registry locked.
func (s *Store) checkEndpoint(n Node) error {
	names, err := s.names()
	if err != nil {
		return err
	}
	for _, other := range names {
		old, err := s.readNode(other)
		if err != nil || old.Name == n.Name {
			continue
		}
		if len(DuplicateEndpoints([]Node{old, n})) > 0 {
			return &registryError{ErrExists, fmt.Sprintf("node %s: its endpoint %s is node %s's: one daemon is one node, whose platforms (and --emulated) say what it builds; remove %s first (xbuild nodes rm %s) to register it again, or check the endpoint", n.Name, n.Endpoint, old.Name, old.Name, old.Name)}
		}
	}
	return nil
}

// Put creates or replaces a node. A replaced node keeps its Added time
// unless n carries one.
func (s *Store) Put(n Node) error { return s.put(n, false) }

// put writes n under the registry lock; add refuses an existing name.
func (s *Store) put(n Node, add bool) error {
	keepAdded := !add && n.Added.IsZero()
	n, err := s.prepare(n)
	if err != nil {
		return err
	}
	unlock, err := s.lock(s.nodesDir(), true)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.checkClash(n.Name, add); err != nil {
		return err
	}
	if add {
		if err := s.checkEndpoint(n); err != nil {
			return err
		}
	}
	if keepAdded {
		if old, err := s.readNode(n.Name); err == nil && !old.Added.IsZero() {
			n.Added = old.Added
		}
	}
	return s.writeNode(n)
}

// Get returns one node. The error for an unknown name lists the known ones
// and matches ErrNotFound.
func (s *Store) Get(name string) (Node, error) {
	if err := ValidateName(name); err != nil {
		return Node{}, fmt.Errorf("node %w", err)
	}
	unlock, err := s.lock(s.nodesDir(), false)
	if err != nil {
		return Node{}, err
	}
	defer unlock()
	n, err := s.readNode(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Node{}, s.notFound([]string{name})
	}
	return n, err
}

// List returns every readable node, sorted by name. A node file that
// cannot be read or parsed is reported in the errors, naming the file and
// what to do, and does not keep the other nodes from loading.
func (s *Store) List() ([]Node, []error) {
	unlock, err := s.lock(s.nodesDir(), false)
	if err != nil {
		return nil, []error{err}
	}
	defer unlock()
	names, err := s.names()
	if err != nil {
		return nil, []error{err}
	}
	var out []Node
	var errs []error
	for _, name := range names {
		n, err := s.readNode(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, n)
	}
	return out, errs
}

// Remove deletes the named nodes, all or none: if one is not registered,
// nothing is removed and the error names it.
func (s *Store) Remove(names ...string) error {
	if len(names) == 0 {
		return errors.New("no node names given: xbuild nodes rm NAME [NAME...]")
	}
	var uniq []string
	for _, name := range names {
		if err := ValidateName(name); err != nil {
			return fmt.Errorf("node %w", err)
		}
		if !slices.Contains(uniq, name) {
			uniq = append(uniq, name)
		}
	}
	unlock, err := s.lock(s.nodesDir(), true)
	if err != nil {
		return err
	}
	defer unlock()
	var missing []string
	for _, name := range uniq {
		if _, err := os.Lstat(s.NodeFile(name)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, name)
		} else if err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w; nothing was removed", s.notFound(missing))
	}
	// Move the files aside first, so a failure half way can be undone.
	aside := func(name string) string { return filepath.Join(s.nodesDir(), "."+name+".json.removed") }
	for i, name := range uniq {
		if err := os.Rename(s.NodeFile(name), aside(name)); err != nil {
			for _, back := range uniq[:i] {
				_ = os.Rename(aside(back), s.NodeFile(back))
			}
			return fmt.Errorf("removing node %s: %w; nothing was removed", name, err)
		}
	}
	var errs []error
	for _, name := range uniq {
		if err := os.Remove(aside(name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Update applies fn to a node under the registry lock and writes the
// result. fn's error, an invalid result or a renamed node leave the file
// as it was.
func (s *Store) Update(name string, fn func(*Node) error) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("node %w", err)
	}
	unlock, err := s.lock(s.nodesDir(), true)
	if err != nil {
		return err
	}
	defer unlock()
	n, err := s.readNode(name)
	if errors.Is(err, fs.ErrNotExist) {
		return s.notFound([]string{name})
	}
	if err != nil {
		return err
	}
	if err := fn(&n); err != nil {
		return err
	}
	if n.Name != name {
		return fmt.Errorf("node %s cannot be renamed to %s by an update: add the new name and remove the old one", name, n.Name)
	}
	n, err = s.prepare(n)
	if err != nil {
		return err
	}
	return s.writeNode(n)
}

func (s *Store) prepare(n Node) (Node, error) {
	n, err := n.Normalized()
	if err != nil {
		return Node{}, err
	}
	if n.Added.IsZero() {
		n.Added = s.now().UTC().Round(0)
	}
	return n, nil
}

// checkClash refuses a name whose file exists (exists) or that differs
// from an existing name only in case.
func (s *Store) checkClash(name string, exists bool) error {
	names, err := s.names()
	if err != nil {
		return err
	}
	for _, other := range names {
		if !strings.EqualFold(other, name) || (other == name && !exists) {
			continue // a different name, or the node Put replaces
		}
		where := "its file cannot be read"
		if old, err := s.readNode(other); err == nil {
			where = old.Endpoint
		}
		if other == name {
			return &registryError{ErrExists, fmt.Sprintf("node %s already exists (%s): remove it first with xbuild nodes rm %s, or choose another name", name, where, name)}
		}
		return &registryError{ErrExists, fmt.Sprintf("node %s clashes with existing node %s (%s), names are compared ignoring case: remove it first with xbuild nodes rm %s, or choose another name", name, other, where, other)}
	}
	return nil
}

// names lists the registered node names, sorted.
func (s *Store) names() ([]string, error) {
	ents, err := os.ReadDir(s.nodesDir())
	if err != nil {
		return nil, fmt.Errorf("reading the node registry: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".json") || e.IsDir() {
			continue
		}
		names = append(names, strings.TrimSuffix(n, ".json"))
	}
	slices.Sort(names)
	return names, nil
}

func (s *Store) notFound(missing []string) error {
	known, _ := s.names()
	what := fmt.Sprintf("node %s is not registered", missing[0])
	if len(missing) > 1 {
		what = fmt.Sprintf("nodes %s are not registered", strings.Join(missing, ", "))
	}
	if len(known) == 0 {
		return &registryError{ErrNotFound, what + ", and no nodes are registered yet: add one with xbuild nodes add NAME --endpoint URL --platform PLATFORM"}
	}
	return &registryError{ErrNotFound, what + "; registered nodes: " + strings.Join(known, ", ")}
}

// registryError is an error with its own message that matches a sentinel.
type registryError struct {
	sentinel error
	msg      string
}

// Error returns the message.
func (e *registryError) Error() string { return e.msg }

// Is matches the sentinel (ErrNotFound, ErrExists).
func (e *registryError) Is(target error) bool { return target == e.sentinel }

// readNode reads and validates one node file. A missing file is returned
// as an fs.ErrNotExist error; anything else names the file and the fix.
func (s *Store) readNode(name string) (Node, error) {
	path := s.NodeFile(name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Node{}, err
	}
	fix := fmt.Sprintf("fix the file, or delete it (rm %s) and add the node again with xbuild nodes add", path)
	if err != nil {
		return Node{}, fmt.Errorf("node file %s cannot be read (%v): %s", path, errors.Unwrap(err), fix)
	}
	var n Node
	if err := json.Unmarshal(b, &n); err != nil {
		return Node{}, fmt.Errorf("node file %s is not valid node JSON (%v): %s", path, err, fix)
	}
	if n.SchemaVersion > SchemaVersion {
		return Node{}, fmt.Errorf("node file %s has schema version %d, written by a newer xbuild (this one reads up to %d): upgrade xbuild", path, n.SchemaVersion, SchemaVersion)
	}
	if n.Name != name {
		return Node{}, fmt.Errorf("node file %s holds node %q, not %q: %s", path, n.Name, name, fix)
	}
	norm, err := n.Normalized()
	if err != nil {
		return Node{}, fmt.Errorf("node file %s is invalid (%v): %s", path, err, fix)
	}
	return norm, nil
}

func (s *Store) writeNode(n Node) error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.NodeFile(n.Name), append(b, '\n'), 0o600)
}

package nodes

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A claim says that an xbuild process on this machine has routed a
// platform's build to a node and not finished it: DIR/claims/ID.claim, a
// file the process creates and keeps locked (flock) while the build runs.
// A routed build reaches the node's BuildKit only after its builder is
// ready and buildx has started, so without claims several `xbuild build`
// started at once would all see idle nodes and pick the same one. The
// kernel drops the lock when the process ends, however it ends, so a
// claim whose file is not locked is stale and is removed; no PID is
// trusted.

// claimRecord is the content of a claim file.
type claimRecord struct {
	Node     string    `json:"node"`
	Platform string    `json:"platform"`
	PID      int       `json:"pid"`
	Created  time.Time `json:"created"`
}

// Claims are the claims of one build (one process's routing); its methods
// do nothing on a nil Claims.
type Claims struct {
	s    *Store
	mu   sync.Mutex
	held map[string]*heldClaim // platform -> its claim
}

type heldClaim struct {
	node    string
	path    string
	release func()
}

func (s *Store) claimsDir() string { return filepath.Join(s.dir, "claims") }

// RouteClaimed routes under the claims lock: route gets the live claims of
// every xbuild run on this machine (node -> platform builds), and each
// assignment of the plan it returns is claimed before the lock is
// released, so the next run to route sees them. Release each platform's
// claim when its build ends, or Close them all.
func (s *Store) RouteClaimed(route func(claimed map[string]int) (*Plan, error)) (*Plan, *Claims, error) {
	c := &Claims{s: s, held: map[string]*heldClaim{}}
	var plan *Plan
	err := c.locked(func(claimed map[string]int) error {
		var err error
		if plan, err = route(claimed); err != nil {
			return err
		}
		for _, a := range plan.Assignments {
			if err := c.claim(a.Platform, a.Node); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return plan, c, nil
}

// Reroute moves platform's claim: under the claims lock, the platform's
// claim is dropped, route gets the live claims, and the node of the one
// assignment it returns is claimed for the platform.
func (c *Claims) Reroute(platform string, route func(claimed map[string]int) (*Assignment, error)) (*Assignment, error) {
	if c == nil {
		return route(nil)
	}
	var a *Assignment
	err := c.locked(func(map[string]int) error {
		c.Release(platform)
		claimed, err := c.s.liveClaims()
		if err != nil {
			return err
		}
		if a, err = route(claimed); err != nil || a == nil {
			return err
		}
		return c.claim(platform, a.Node)
	})
	return a, err
}

// locked runs fn with the live claims, holding the claims lock.
func (c *Claims) locked(fn func(claimed map[string]int) error) error {
	if _, err := ensurePrivateDir(c.s.claimsDir()); err != nil {
		return err
	}
	unlock, err := c.s.lock(c.s.claimsDir(), true)
	if err != nil {
		return err
	}
	defer unlock()
	claimed, err := c.s.liveClaims()
	if err != nil {
		return err
	}
	return fn(claimed)
}

// claim creates and locks platform's claim on node. Call it holding the
// claims lock, so no reader sees the file before it is locked.
func (c *Claims) claim(platform, node string) error {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	path := filepath.Join(c.s.claimsDir(), fmt.Sprintf("%d-%s.claim", os.Getpid(), hex.EncodeToString(id)))
	b, err := json.Marshal(claimRecord{Node: node, Platform: platform, PID: os.Getpid(), Created: c.s.now().UTC()})
	if err != nil {
		return err
	}
	release, err := holdFile(path, b)
	if err != nil {
		return fmt.Errorf("claiming node %s for %s: %w", node, platform, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.held[platform]; old != nil {
		old.release()
	}
	c.held[platform] = &heldClaim{node: node, path: path, release: release}
	return nil
}

// Release drops platform's claim: its build has ended.
func (c *Claims) Release(platform string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.held[platform]; h != nil {
		h.release()
		delete(c.held, platform)
	}
}

// Close drops every claim still held.
func (c *Claims) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, h := range c.held {
		h.release()
		delete(c.held, p)
	}
}

// Held returns platform -> node for the claims held (for tests and
// messages).
func (c *Claims) Held() map[string]string {
	out := map[string]string{}
	if c == nil {
		return out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, h := range c.held {
		out[p] = h.node
	}
	return out
}

// liveClaims counts the live claims per node, removing stale ones. Call
// it holding the claims lock.
func (s *Store) liveClaims() (map[string]int, error) {
	return countClaims(s.claimsDir(), true)
}

// ReadClaims counts the live claims per node in the registry in dir,
// writing nothing (for --dry-run): stale claims are skipped, not removed.
func ReadClaims(dir string) (map[string]int, error) {
	if dir == "" {
		return map[string]int{}, nil
	}
	return countClaims(filepath.Join(dir, "claims"), false)
}

func countClaims(dir string, clean bool) (map[string]int, error) {
	out := map[string]int{}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the build claims in %s: %w", dir, err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".claim") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		live, err := fileHeld(path)
		if err != nil {
			continue // gone meanwhile (released), or unreadable: not counted
		}
		if !live {
			if clean {
				_ = os.Remove(path)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r claimRecord
		if json.Unmarshal(b, &r) != nil || r.Node == "" {
			continue
		}
		out[r.Node]++
	}
	return out, nil
}

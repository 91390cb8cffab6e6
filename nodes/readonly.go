package nodes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ListReadOnly lists the nodes registered in dir as Store.List does, but
// writes nothing, for --dry-run: it creates no directory or lock file and
// tightens no permission (Open does all three). It reads without the
// registry lock; node files are replaced atomically, so each node is read
// whole, though a concurrent `nodes rm` of several may be seen half done.
// A dir without a registry has no nodes.
func ListReadOnly(dir string) ([]Node, []error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, []error{err}
	}
	s := &Store{dir: abs}
	if _, err := os.Stat(s.nodesDir()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
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

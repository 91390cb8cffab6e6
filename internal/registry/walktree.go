package registry

import (
	"io/fs"
	"slices"
	"strings"
)

// node is one path of the filesystem WalkFiles builds: a directory
// (children != nil), a regular file (file != nil) or anything else
// (symbolic link, device, FIFO). Only metadata is held, never content.
type node struct {
	children map[string]*node
	file     *content
}

// content is what WalkFiles keeps of a regular file; hard links share it.
type content struct {
	mode   fs.FileMode
	size   int64
	head   []byte
	digest string
}

func newDir() *node { return &node{children: map[string]*node{}} }

// lookup returns the node at p (clean, relative), or nil.
func (n *node) lookup(p string) *node {
	cur := n
	for _, part := range split(p) {
		if cur.children == nil {
			return nil
		}
		if cur = cur.children[part]; cur == nil {
			return nil
		}
	}
	return cur
}

// remove deletes p and everything under it.
func (n *node) remove(p string) {
	parts := split(p)
	if len(parts) == 0 {
		return
	}
	if parent := n.lookup(strings.Join(parts[:len(parts)-1], "/")); parent != nil && parent.children != nil {
		delete(parent.children, parts[len(parts)-1])
	}
}

// set puts nw at p the way applying a layer entry does: a directory over a
// directory keeps what is under it, anything else replaces what was there
// (and all under it). Missing parents are created; a parent that is not a
// directory is replaced by one, as extraction would have to.
func (n *node) set(p string, nw *node) {
	parts := split(p)
	if len(parts) == 0 {
		return
	}
	cur := n
	for _, part := range parts[:len(parts)-1] {
		next := cur.children[part]
		if next == nil || next.children == nil {
			next = newDir()
			cur.children[part] = next
		}
		cur = next
	}
	last := parts[len(parts)-1]
	if old := cur.children[last]; old != nil && old.children != nil && nw.children != nil {
		return
	}
	cur.children[last] = nw
}

// each calls fn for every regular file under n, in path order; prefix is
// n's own path ("" for the root).
func (n *node) each(prefix string, fn func(p string, c *content) error) error {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		child, p := n.children[name], prefix+"/"+name
		switch {
		case child.children != nil:
			if err := child.each(p, fn); err != nil {
				return err
			}
		case child.file != nil:
			if err := fn(p, child.file); err != nil {
				return err
			}
		}
	}
	return nil
}

func split(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

package registry

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Default bounds of WalkFiles.
const (
	// DefaultWalkMaxBytes bounds the uncompressed layer bytes one walk reads.
	DefaultWalkMaxBytes int64 = 4 << 30
	// DefaultWalkMaxEntries bounds the tar entries one walk reads, and so
	// the memory it holds (about 200 bytes per entry).
	DefaultWalkMaxEntries = 1_000_000
	// DefaultWalkHeadSize is how many leading bytes of each file are kept.
	DefaultWalkHeadSize = 64
)

// File is one regular file of an image's filesystem as a container sees it.
type File struct {
	// Path is absolute and clean: /usr/bin/app.
	Path string `json:"path"`
	// Mode holds the permission bits and setuid, setgid and sticky (every
	// File is a regular file, so no type bits).
	Mode fs.FileMode `json:"mode"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
	// Head is the start of the content, at most WalkOptions.HeadSize bytes:
	// enough for an ELF header or a #! line.
	Head []byte `json:"-"`
	// Digest is "sha256:<hex>" of the whole content.
	Digest string `json:"digest"`
}

// WalkOptions bound a walk; zero values mean the defaults.
type WalkOptions struct {
	// HeadSize is how many leading bytes of each file File.Head keeps.
	HeadSize int
	// MaxBytes bounds the uncompressed layer bytes read, all layers
	// together (the work a walk does, whatever the compression ratio).
	MaxBytes int64
	// MaxEntries bounds the tar entries read, all layers together.
	MaxEntries int
}

func (o WalkOptions) withDefaults() WalkOptions {
	if o.HeadSize <= 0 {
		o.HeadSize = DefaultWalkHeadSize
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultWalkMaxBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultWalkMaxEntries
	}
	return o
}

// WalkSummary says what a walk read.
type WalkSummary struct {
	// Layers is the number of layers applied.
	Layers int `json:"layers"`
	// Entries counts the tar entries of all layers, whiteouts and
	// directories included.
	Entries int `json:"entries"`
	// Bytes counts the uncompressed layer bytes read.
	Bytes int64 `json:"bytes"`
	// Files is the number of regular files passed to the callback.
	Files int `json:"files"`
}

// LimitError is WalkFiles stopping at one of its bounds. Nothing was
// passed to the callback: the filesystem is only known once every layer is
// applied.
type LimitError struct {
	// What is "bytes" or "entries".
	What  string
	Limit int64
	// Layer is the 0-based layer being read when the bound was reached.
	Layer int
}

func (e *LimitError) Error() string {
	if e.What == "bytes" {
		return fmt.Sprintf("the image has more than %s of uncompressed layers (reached in layer %d); its files were not read past that bound", formatBytes(e.Limit), e.Layer+1)
	}
	return fmt.Sprintf("the image has more than %d layer entries (reached in layer %d); its files were not read past that bound", e.Limit, e.Layer+1)
}

// formatBytes renders a bound: in GiB or MiB when it is a whole number of
// them, else in bytes.
func formatBytes(n int64) string {
	switch {
	case n > 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// WalkFiles calls fn for every regular file of the image repo@digest as a
// container sees it: layers applied in order, each replacing what lower
// layers had at its paths, whiteouts and opaque whiteouts applied first in
// each layer (as the OCI layer spec says, wherever they sit in the tar),
// hard links resolved to their target's content. Files come in path order.
//
// Layers are streamed, one at a time, never held in memory: each file's
// content goes through a sha256 and only its first bytes are kept. Since a
// later layer can still replace or delete any file, fn is called once all
// layers are read; past a bound of opts the walk stops with a *LimitError
// and fn is not called at all. An error from fn stops the walk and is
// returned. A hard link whose target is in no layer at or below it is an
// error, as it is when the image is pulled.
func (c *Client) WalkFiles(ctx context.Context, repo, digest string, opts WalkOptions, fn func(File) error) (*WalkSummary, error) {
	img, err := c.image(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing the layers of %s@%s: %w", repo, digest, err)
	}
	sum, err := walkLayers(ctx, layers, opts, fn)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return sum, err
		}
		return sum, fmt.Errorf("reading the files of %s@%s: %w", repo, digest, err)
	}
	return sum, nil
}

// walkLayers applies layers (base first) to an in-memory tree of file
// metadata, then calls fn for each regular file in path order.
func walkLayers[L layerSource](ctx context.Context, layers []L, opts WalkOptions, fn func(File) error) (*WalkSummary, error) {
	opts = opts.withDefaults()
	w := &walker{ctx: ctx, opts: opts, root: newDir(), sum: &WalkSummary{}}
	for i, l := range layers {
		if err := w.applyLayer(i, l); err != nil {
			return w.sum, err
		}
		w.sum.Layers++
	}
	err := w.root.each("", func(p string, c *content) error {
		w.sum.Files++
		return fn(File{Path: p, Mode: c.mode, Size: c.size, Head: c.head, Digest: c.digest})
	})
	return w.sum, err
}

type walker struct {
	ctx  context.Context
	opts WalkOptions
	root *node
	sum  *WalkSummary
	// read counts the uncompressed bytes of every layer so far
	read int64
}

// staged is one entry of the layer being read, merged into the tree once
// the layer's whiteouts are applied.
type staged struct {
	path string
	n    *node
}

// applyLayer reads one layer: whiteouts change the tree at once (they only
// concern lower layers); everything else is staged and merged at the end,
// in tar order, so a later entry for the same path wins, as in extraction.
func (w *walker) applyLayer(index int, l layerSource) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("layer %d: %w", index+1, err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc, left: w.opts.MaxBytes - w.read}
	defer func() { w.read += cr.n; w.sum.Bytes = w.read }()
	tr := tar.NewReader(cr)
	var ops []staged
	inLayer := map[string]*node{} // this layer's entries so far, for hard links
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if cr.over {
			return &LimitError{What: "bytes", Limit: w.opts.MaxBytes, Layer: index}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("layer %d: %w", index+1, err)
		}
		w.sum.Entries++
		if w.sum.Entries > w.opts.MaxEntries {
			return &LimitError{What: "entries", Limit: int64(w.opts.MaxEntries), Layer: index}
		}
		p := cleanPath(h.Name)
		if p == "" {
			continue // the root directory itself
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") {
			w.whiteout(strings.TrimSuffix(dir, "/"), base)
			continue
		}
		if strings.HasPrefix(dir, ".wh.") || strings.Contains(dir, "/.wh.") {
			continue // inside AUFS bookkeeping (.wh..wh.plnk/...): no name may start with .wh.
		}
		n, err := w.entry(index, tr, h, inLayer)
		if cr.over {
			return &LimitError{What: "bytes", Limit: w.opts.MaxBytes, Layer: index}
		}
		if err != nil {
			return err
		}
		inLayer[p] = n
		ops = append(ops, staged{path: p, n: n})
	}
	for _, op := range ops {
		w.root.set(op.path, op.n)
	}
	return nil
}

// whiteout applies one whiteout entry of dir to the lower layers.
func (w *walker) whiteout(dir, base string) {
	switch {
	case base == ".wh..wh..opq":
		if d := w.root.lookup(dir); d != nil && d.children != nil {
			clear(d.children)
		}
	case strings.HasPrefix(base, ".wh..wh."):
		// AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
	default:
		w.root.remove(path.Join(dir, strings.TrimPrefix(base, ".wh.")))
	}
}

// entry turns one tar entry into a tree node, reading a regular file's
// content through the hash.
func (w *walker) entry(index int, tr *tar.Reader, h *tar.Header, inLayer map[string]*node) (*node, error) {
	switch h.Typeflag {
	case tar.TypeDir:
		return newDir(), nil
	case tar.TypeReg, tar.TypeGNUSparse:
		hh := &headHash{h: sha256.New(), max: w.opts.HeadSize}
		n, err := io.Copy(hh, tr)
		if err != nil {
			return nil, fmt.Errorf("layer %d: reading /%s: %w", index+1, cleanPath(h.Name), err)
		}
		mode := h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		return &node{file: &content{mode: mode, size: n, head: hh.head, digest: "sha256:" + hex.EncodeToString(hh.h.Sum(nil))}}, nil
	case tar.TypeLink:
		target := cleanPath(h.Linkname)
		t, ok := inLayer[target]
		if !ok {
			t = w.root.lookup(target)
		}
		if t == nil {
			return nil, fmt.Errorf("layer %d: /%s is a hard link to /%s, which no layer at or below it holds", index+1, cleanPath(h.Name), target)
		}
		if t.children != nil {
			return nil, fmt.Errorf("layer %d: /%s is a hard link to the directory /%s", index+1, cleanPath(h.Name), target)
		}
		// the same content (an inode shared), in a node of its own: a later
		// layer replacing one path leaves the other as it was
		return &node{file: t.file}, nil
	default:
		// symbolic links, devices, FIFOs: they have paths, no content to check
		return &node{}, nil
	}
}

// countingReader counts what is read and refuses to go past left bytes.
type countingReader struct {
	r    io.Reader
	n    int64
	left int64
	over bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// at the bound: only the end of the stream may follow
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			c.over = true
			return 0, errors.New("walk byte bound reached")
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.left -= int64(n)
	return n, err
}

// headHash hashes everything written and keeps the first max bytes.
type headHash struct {
	h    hash.Hash
	head []byte
	max  int
}

func (w *headHash) Write(p []byte) (int, error) {
	if k := w.max - len(w.head); k > 0 {
		w.head = append(w.head, p[:min(k, len(p))]...)
	}
	return w.h.Write(p)
}

package registry

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// ErrNotFound is returned by ReadFile when no layer holds the path.
var ErrNotFound = errors.New("file not found in the image")

// ReadFile returns up to limit bytes of the file at p in the image
// repo@digest, as a container would see it: layers are searched from the top,
// whiteouts hide lower layers, and symbolic links (like /bin/sh ->
// /bin/busybox) are followed inside the image.
func (c *Client) ReadFile(ctx context.Context, repo, digest, p string, limit int64) ([]byte, error) {
	img, err := c.image(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	want := cleanPath(p)
	for hop := 0; hop < 10; hop++ {
		res, err := findInLayers(layers, want, limit)
		if err != nil {
			return nil, err
		}
		if res.link == "" {
			return res.data, nil
		}
		target := res.link
		if !strings.HasPrefix(target, "/") {
			target = path.Join(path.Dir("/"+want), target)
		}
		want = cleanPath(target)
	}
	return nil, fmt.Errorf("%s: too many levels of symbolic links", p)
}

type found struct {
	data []byte
	link string
}

// layerSource is the part of a v1.Layer ReadFile needs.
type layerSource interface {
	Uncompressed() (io.ReadCloser, error)
}

func findInLayers[L layerSource](layers []L, want string, limit int64) (*found, error) {
	dir, base := path.Split(want)
	whiteout := cleanPath(dir + ".wh." + base)
	for i := len(layers) - 1; i >= 0; i-- {
		res, hidden, err := scanLayer(layers[i], want, whiteout, limit)
		if err != nil {
			return nil, err
		}
		if res != nil {
			return res, nil
		}
		if hidden {
			break
		}
	}
	return nil, fmt.Errorf("/%s: %w", want, ErrNotFound)
}

func scanLayer(l layerSource, want, whiteout string, limit int64) (*found, bool, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hidden := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, hidden, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading layer: %w", err)
		}
		name := cleanPath(h.Name)
		switch {
		case name == whiteout:
			hidden = true
		case name == want:
			switch h.Typeflag {
			case tar.TypeSymlink:
				return &found{link: h.Linkname}, false, nil
			case tar.TypeLink:
				return &found{link: "/" + cleanPath(h.Linkname)}, false, nil
			case tar.TypeReg:
				data, err := readLimited(tr, limit)
				return &found{data: data}, false, err
			default:
				return nil, false, fmt.Errorf("/%s is not a regular file", want)
			}
		}
	}
}

func cleanPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}

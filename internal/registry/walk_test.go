package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tf is one tar entry of a test layer.
type tf struct {
	name string
	typ  byte // 0: a regular file
	body string
	link string
	mode int64 // 0: 0o755
}

// tarLayer builds a layer of entries, in this order; tarSize is the
// uncompressed tar's length.
func tarLayer(t *testing.T, comp compression.Compression, entries ...tf) (l v1.Layer, tarSize int64) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.link}
		if h.Typeflag == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompression(comp), tarball.WithMediaType(mediaTypeFor(comp)))
	if err != nil {
		t.Fatal(err)
	}
	return l, int64(len(data))
}

// pushImage serves an in-memory registry holding one image made of
// layers, and returns its repository and digest.
func pushImage(t *testing.T, layers ...v1.Layer) (repo, digest string) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nilLogger())))
	t.Cleanup(srv.Close)
	repo = strings.TrimPrefix(srv.URL, "http://") + "/team/app"
	img := image(t, "amd64", compression.GZip, layers...)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(repo+"@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return repo, d.String()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// collect walks repo@digest and renders every file as one line.
func collect(t *testing.T, repo, digest string, opts WalkOptions) ([]string, *WalkSummary, error) {
	t.Helper()
	c := &Client{Keychain: authn.NewMultiKeychain()}
	var got []string
	sum, err := c.WalkFiles(context.Background(), repo, digest, opts, func(f File) error {
		got = append(got, fmt.Sprintf("%s %v %d %q %s", f.Path, f.Mode, f.Size, f.Head, f.Digest))
		return nil
	})
	return got, sum, err
}

// TestWalkFilesAppliesLayers builds an image whose layers exercise every
// rule of applying a layer, and checks the exact filesystem the walk sees.
func TestWalkFilesAppliesLayers(t *testing.T) {
	libc := "\x7fELF-libc-contents"
	base, baseSize := tarLayer(t, compression.GZip,
		tf{name: "./", typ: tar.TypeDir},
		tf{name: "bin/", typ: tar.TypeDir},
		tf{name: "bin/busybox", body: "\x7fELF-busybox"},
		tf{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
		tf{name: "etc/keep", body: "keep", mode: 0o644},
		tf{name: "etc/old", body: "old"},
		tf{name: "opt/d/a", body: "a"},
		tf{name: "opt/d/sub/b", body: "b"},
		tf{name: "lib/libc.so", body: libc},
		tf{name: "lib/libc.so.6", typ: tar.TypeLink, link: "lib/libc.so"}, // hard link, same layer
		tf{name: "usr/bin/tool", body: "tool-v1"},
		tf{name: "data", body: "a file that becomes a directory"},
		tf{name: "gone/deep/file", body: "whited out with its directory"},
	)
	top, topSize := tarLayer(t, compression.ZStd,
		tf{name: "opt/d/c", body: "c"},
		tf{name: "opt/d/.wh..wh..opq"}, // after a sibling: still applied first
		tf{name: "etc/.wh.old"},
		tf{name: ".wh.gone"},
		tf{name: "lib/.wh.libc.so"}, // the hard link made in the base layer keeps its content
		tf{name: "usr/bin/tool", body: "tool-v2", mode: 0o4755},
		tf{name: "usr/bin/tool-link", typ: tar.TypeLink, link: "/usr/bin/tool"}, // same layer: the new content
		tf{name: "usr/bin/old-libc", typ: tar.TypeLink, link: "lib/libc.so.6"},  // a lower layer's file
		tf{name: "data/", typ: tar.TypeDir},
		tf{name: "data/x", body: "x"},
		tf{name: ".wh..wh.plnk/123", body: "aufs bookkeeping"},
		tf{name: "bin/sh", body: "#!/bin/busybox sh\n"}, // a symlink replaced by a file
	)
	repo, digest := pushImage(t, base, top)
	got, sum, err := collect(t, repo, digest, WalkOptions{HeadSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`/bin/busybox -rwxr-xr-x 12 "\x7fELF" ` + sha("\x7fELF-busybox"),
		`/bin/sh -rwxr-xr-x 18 "#!/b" ` + sha("#!/bin/busybox sh\n"),
		`/data/x -rwxr-xr-x 1 "x" ` + sha("x"),
		`/etc/keep -rw-r--r-- 4 "keep" ` + sha("keep"),
		`/lib/libc.so.6 -rwxr-xr-x 18 "\x7fELF" ` + sha(libc),
		`/opt/d/c -rwxr-xr-x 1 "c" ` + sha("c"),
		`/usr/bin/old-libc -rwxr-xr-x 18 "\x7fELF" ` + sha(libc),
		`/usr/bin/tool urwxr-xr-x 7 "tool" ` + sha("tool-v2"),
		`/usr/bin/tool-link urwxr-xr-x 7 "tool" ` + sha("tool-v2"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantSum := WalkSummary{Layers: 2, Entries: 25, Bytes: baseSize + topSize, Files: 9}
	if *sum != wantSum {
		t.Errorf("summary = %+v, want %+v", *sum, wantSum)
	}
}

func TestWalkFilesBounds(t *testing.T) {
	l1, size1 := tarLayer(t, compression.GZip, tf{name: "app", body: strings.Repeat("x", 4096)}, tf{name: "etc/a", body: "a"})
	l2, size2 := tarLayer(t, compression.ZStd, tf{name: "etc/b", body: "b"})
	repo, digest := pushImage(t, l1, l2)
	tests := []struct {
		name  string
		opts  WalkOptions
		files int
		err   string
	}{
		{"exactly the bytes there are", WalkOptions{MaxBytes: size1 + size2}, 3, ""},
		{"one byte short", WalkOptions{MaxBytes: size1 + size2 - 1},
			0, fmt.Sprintf("the image has more than %d bytes of uncompressed layers (reached in layer 2); its files were not read past that bound", size1+size2-1)},
		{"inside a file", WalkOptions{MaxBytes: 1000},
			0, "the image has more than 1000 bytes of uncompressed layers (reached in layer 1); its files were not read past that bound"},
		{"entries", WalkOptions{MaxEntries: 2},
			0, "the image has more than 2 layer entries (reached in layer 2); its files were not read past that bound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := collect(t, repo, digest, tc.opts)
			if tc.err == "" {
				if err != nil || len(got) != tc.files {
					t.Fatalf("files %q, err %v", got, err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || err.Error() != tc.err {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if len(got) != 0 {
				t.Errorf("the callback saw %q past the bound", got)
			}
		})
	}
}

func TestWalkFilesErrors(t *testing.T) {
	broken, _ := tarLayer(t, compression.GZip, tf{name: "bin/a", typ: tar.TypeLink, link: "bin/nowhere"})
	repo, digest := pushImage(t, broken)
	if _, _, err := collect(t, repo, digest, WalkOptions{}); err == nil ||
		err.Error() != "reading the files of "+repo+"@"+digest+": layer 1: /bin/a is a hard link to /bin/nowhere, which no layer at or below it holds" {
		t.Errorf("broken hard link: %v", err)
	}

	ok, _ := tarLayer(t, compression.GZip, tf{name: "a", body: "a"}, tf{name: "b", body: "b"})
	repo, digest = pushImage(t, ok)
	c := &Client{Keychain: authn.NewMultiKeychain()}
	stop := errors.New("stop here")
	calls := 0
	_, err := c.WalkFiles(context.Background(), repo, digest, WalkOptions{}, func(File) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.WalkFiles(ctx, repo, digest, WalkOptions{}, func(File) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{4 << 30: "4 GiB", 512 << 20: "512 MiB", (1 << 30) + 1: "1073741825 bytes", 1000: "1000 bytes", 0: "0 bytes"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type entry struct {
	name, body, link string
	typ              byte
}

func layer(t *testing.T, comp compression.Compression, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o755, Typeflag: e.typ, Linkname: e.link, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompression(comp), tarball.WithMediaType(mediaTypeFor(comp)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mediaTypeFor(c compression.Compression) types.MediaType {
	if c == compression.ZStd {
		return types.OCILayerZStd
	}
	return types.OCILayer
}

func image(t *testing.T, arch string, comp compression.Compression, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Entrypoint = []string{"/app"}
	cf.Config.Env = []string{"PATH=/bin"}
	cf.Config.User = "65532"
	cf.History = []v1.History{{CreatedBy: "COPY /out/app /app # buildkit"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushIndex serves an in-memory registry and pushes a two-platform index
// (amd64 gzip, arm64 zstd) plus an attestation-like manifest.
func pushIndex(t *testing.T) (string, *Client) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nilLogger())))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	amd := image(t, "amd64", compression.GZip,
		layer(t, compression.GZip, entry{name: "bin/busybox", body: "\x7fELF-amd64-busybox"}, entry{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"}, entry{name: "old", body: "x"}),
		layer(t, compression.GZip, entry{name: "app", body: "\x7fELF-amd64-app"}, entry{name: ".wh.old", body: ""}))
	arm := image(t, "arm64", compression.ZStd,
		layer(t, compression.ZStd, entry{name: "app", body: "\x7fELF-arm64-app-v1"}),
		layer(t, compression.ZStd, entry{name: "app", body: "\x7fELF-arm64-app-v2"}))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:feed"},
		}},
	)
	ref, err := name.ParseReference(host+"/team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return host + "/team/app:1", &Client{Keychain: authn.NewMultiKeychain()}
}

func TestIndexImageAndFiles(t *testing.T) {
	ref, c := pushIndex(t)
	ctx := context.Background()
	idx, err := c.Index(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if idx.MediaType != string(types.OCIImageIndex) || len(idx.Manifests) != 3 {
		t.Fatalf("index = %+v", idx)
	}
	got := []string{}
	for _, m := range idx.Manifests {
		got = append(got, m.Platform)
	}
	if strings.Join(got, " ") != "linux/amd64 linux/arm64 unknown/unknown" {
		t.Errorf("platforms = %v", got)
	}
	if !idx.Manifests[2].Attestation || idx.Manifests[2].AttestsTo != "sha256:feed" || idx.Manifests[0].Attestation {
		t.Errorf("attestation flags wrong: %+v", idx.Manifests)
	}

	repo := strings.TrimSuffix(ref, ":1")
	arm, err := c.Image(ctx, repo, idx.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if arm.Architecture != "arm64" || arm.OS != "linux" || arm.User != "65532" || arm.Entrypoint[0] != "/app" || arm.History[0] != "COPY /out/app /app # buildkit" {
		t.Errorf("image = %+v", arm)
	}
	if len(arm.Layers) != 2 || arm.Layers[0].MediaType != string(types.OCILayerZStd) {
		t.Errorf("layers = %+v", arm.Layers)
	}
	if arm.CompressedSize() != arm.ConfigSize+arm.Layers[0].Size+arm.Layers[1].Size || arm.CompressedSize() <= 0 {
		t.Errorf("CompressedSize = %d", arm.CompressedSize())
	}

	tests := []struct {
		manifest int
		path     string
		want     string
		err      error
	}{
		{1, "/app", "\x7fELF-arm64-app-v2", nil},                // top layer wins, zstd
		{0, "/app", "\x7fELF-amd64-app", nil},                   // gzip
		{0, "/bin/sh", "\x7fELF-amd64-busybox", nil},            // relative symlink followed
		{0, "bin/../bin/busybox", "\x7fELF-amd64-busybox", nil}, // path cleaned
		{0, "/old", "", ErrNotFound},                            // whiteout hides it
		{1, "/missing", "", ErrNotFound},
	}
	for _, tc := range tests {
		data, err := c.ReadFile(ctx, repo, idx.Manifests[tc.manifest].Digest, tc.path, 64)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ReadFile(%s) err = %v, want %v", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || string(data) != tc.want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", tc.path, data, err, tc.want)
		}
	}
	// the limit bounds what is read
	if data, _ := c.ReadFile(ctx, repo, idx.Manifests[0].Digest, "/app", 4); string(data) != "\x7fELF" {
		t.Errorf("limited read = %q", data)
	}
}

func TestIndexErrors(t *testing.T) {
	c := &Client{Keychain: authn.NewMultiKeychain()}
	if _, err := c.Index(context.Background(), "UPPER/Case::bad"); err == nil || !strings.Contains(err.Error(), "is not an image reference") {
		t.Errorf("bad ref: %v", err)
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nilLogger())))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/nope/app:1"
	if _, err := c.Index(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "reading "+ref+" from the registry") {
		t.Errorf("missing image: %v", err)
	}
}

package ocilayout

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeBlob stores content in layout and returns its descriptor.
func writeBlob(t *testing.T, layout, mediaType string, content []byte) Descriptor {
	t.Helper()
	sum := sha256.Sum256(content)
	d := Descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(content))}
	if err := os.MkdirAll(filepath.Join(layout, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobPath(layout, d.Digest), content, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeIndexJSON(t *testing.T, layout string, top Descriptor) {
	t.Helper()
	b, _ := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{top}})
	if err := os.WriteFile(filepath.Join(layout, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// An amd64 export whose top level is an index (image + attestation, as
// BuildKit writes it with provenance) and an arm64 export whose top level
// is the bare manifest merge into one index of three manifests, the arm64
// one given its platform, with every blob.
func TestMerge(t *testing.T) {
	dir := t.TempDir()
	amd, arm, dst := filepath.Join(dir, "amd"), filepath.Join(dir, "arm"), filepath.Join(dir, "merged")

	shared := []byte("a base layer both platforms share")
	writeBlob(t, amd, "application/vnd.oci.image.layer.v1.tar+gzip", shared)
	amdImg := writeBlob(t, amd, MediaTypeManifest, []byte(`{"amd64":"manifest"}`))
	amdImg.Platform = &Platform{OS: "linux", Architecture: "amd64"}
	att := writeBlob(t, amd, MediaTypeManifest, []byte(`{"attestation":"manifest"}`))
	att.Platform = &Platform{OS: "unknown", Architecture: "unknown"}
	att.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amdImg.Digest}
	inner, _ := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{amdImg, att}})
	amdTop := writeBlob(t, amd, MediaTypeIndex, inner)
	amdTop.Annotations = map[string]string{"org.opencontainers.image.ref.name": "dev"}
	writeIndexJSON(t, amd, amdTop)

	writeBlob(t, arm, "application/vnd.oci.image.layer.v1.tar+gzip", shared)
	armImg := writeBlob(t, arm, MediaTypeManifest, []byte(`{"arm64":"manifest"}`))
	armTop := armImg
	armTop.Annotations = map[string]string{"io.containerd.image.name": "app:dev", "org.opencontainers.image.ref.name": "dev"}
	writeIndexJSON(t, arm, armTop)

	desc, err := Merge(dst, []Source{{Dir: amd, Platform: "linux/amd64"}, {Dir: arm, Platform: "linux/arm64"}}, []string{"registry.example.com/app:1.2.3"},
		map[string]string{"org.opencontainers.image.title": "App"}, map[string]string{"team": "core"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readIndex(blobPath(dst, desc.Digest))
	if err != nil {
		t.Fatal(err)
	}
	armImg.Platform = &Platform{OS: "linux", Architecture: "arm64"}
	want := []Descriptor{amdImg, att, armImg}
	if !reflect.DeepEqual(got.Manifests, want) {
		t.Errorf("merged manifests:\n  %+v\nwant\n  %+v", got.Manifests, want)
	}
	if !reflect.DeepEqual(got.Annotations, map[string]string{"org.opencontainers.image.title": "App"}) {
		t.Errorf("merged index annotations = %v", got.Annotations)
	}
	top, err := readIndex(filepath.Join(dst, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantTop := desc
	wantTop.Annotations = map[string]string{"team": "core", "io.containerd.image.name": "registry.example.com/app:1.2.3", "org.opencontainers.image.ref.name": "1.2.3"}
	if len(top.Manifests) != 1 || !reflect.DeepEqual(top.Manifests[0], wantTop) {
		t.Errorf("index.json = %+v, want %+v", top.Manifests, wantTop)
	}
	for _, d := range []Descriptor{amdImg, att, armImg, amdTop, desc} {
		if _, err := os.Stat(blobPath(dst, d.Digest)); err != nil {
			t.Errorf("blob %s missing: %v", d.Digest, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "oci-layout")); string(b) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", b)
	}

	// a source that is not a layout is named in the error
	if _, err := Merge(filepath.Join(dir, "bad"), []Source{{Dir: filepath.Join(dir, "nope"), Platform: "linux/s390x"}}, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "the linux/s390x export") {
		t.Errorf("err = %v", err)
	}
}

// Trees are written in path order under their prefixes.
func TestWriteTar(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"amd/app", "amd/etc/passwd", "arm/app"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := WriteTar(&buf, []Tree{{Prefix: "linux_amd64", Dir: filepath.Join(dir, "amd")}, {Prefix: "linux_arm64", Dir: filepath.Join(dir, "arm")}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		names = append(names, h.Name+"="+string(body))
	}
	want := []string{"linux_amd64/=", "linux_amd64/app=amd/app", "linux_amd64/etc/=", "linux_amd64/etc/passwd=amd/etc/passwd", "linux_arm64/=", "linux_arm64/app=arm/app"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("tar entries:\n  %q\nwant\n  %q", names, want)
	}
}

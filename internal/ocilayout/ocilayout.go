// Package ocilayout merges per-platform exports into what one
// multi-platform export would have written: OCI image layouts into one
// layout whose index lists every platform, filesystem trees into one tar
// with a directory per platform. buildx cannot export an OCI or tar output
// from a build that spans several nodes ("oci for multi-node builds
// currently not supported"), so xbuild exports each platform on its own
// node and merges here, on the client.
package ocilayout

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Media types of the OCI image layout.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	dockerList        = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Platform is an OCI platform.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Index is an OCI image index (index.json, or an index blob).
type Index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Manifests     []Descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Source is one platform's exported OCI layout directory.
type Source struct {
	Dir string
	// Platform is os/arch[/variant]; it is written on a manifest the
	// export left without one.
	Platform string
}

// Merge writes to dst (a new directory) an OCI layout holding every
// source's blobs and one image index listing, in the sources' order, the
// manifests of each source's top-level index (an image and its
// attestations) or its image manifest. index.json points at that index,
// named by names (the tags), as BuildKit names a multi-platform export.
// annotations go on the merged index, descAnnotations on its descriptor in
// index.json (buildx's index and index-descriptor annotation types).
// It returns the merged index's descriptor.
func Merge(dst string, sources []Source, names []string, annotations, descAnnotations map[string]string) (Descriptor, error) {
	if len(sources) == 0 {
		return Descriptor{}, errors.New("no exports to merge")
	}
	if err := os.MkdirAll(filepath.Join(dst, "blobs", "sha256"), 0o755); err != nil {
		return Descriptor{}, err
	}
	merged := Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Annotations: annotations}
	seen := map[string]bool{}
	for _, src := range sources {
		top, err := readIndex(filepath.Join(src.Dir, "index.json"))
		if err != nil {
			return Descriptor{}, fmt.Errorf("the %s export: %w", src.Platform, err)
		}
		if err := CopyTree(filepath.Join(src.Dir, "blobs"), filepath.Join(dst, "blobs")); err != nil {
			return Descriptor{}, fmt.Errorf("the %s export: %w", src.Platform, err)
		}
		for _, d := range top.Manifests {
			entries := []Descriptor{d}
			if d.MediaType == MediaTypeIndex || d.MediaType == dockerList {
				inner, err := readIndex(blobPath(src.Dir, d.Digest))
				if err != nil {
					return Descriptor{}, fmt.Errorf("the %s export's index %s: %w", src.Platform, d.Digest, err)
				}
				entries = inner.Manifests
			}
			for _, e := range entries {
				if seen[e.Digest] {
					continue
				}
				seen[e.Digest] = true
				e.Annotations = withoutNames(e.Annotations)
				if e.Platform == nil && e.MediaType == MediaTypeManifest && src.Platform != "" {
					e.Platform = parsePlatform(src.Platform)
				}
				merged.Manifests = append(merged.Manifests, e)
			}
		}
	}
	body, err := json.Marshal(merged)
	if err != nil {
		return Descriptor{}, err
	}
	sum := sha256.Sum256(body)
	desc := Descriptor{MediaType: MediaTypeIndex, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(body))}
	if err := os.WriteFile(blobPath(dst, desc.Digest), body, 0o644); err != nil {
		return Descriptor{}, err
	}
	top := desc
	if len(names) > 0 || len(descAnnotations) > 0 {
		top.Annotations = map[string]string{}
		for k, v := range descAnnotations {
			top.Annotations[k] = v
		}
	}
	if len(names) > 0 {
		top.Annotations["io.containerd.image.name"] = names[0]
		top.Annotations["org.opencontainers.image.ref.name"] = refName(names[0])
	}
	index, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{top}})
	if err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(filepath.Join(dst, "index.json"), index, 0o644); err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(filepath.Join(dst, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return Descriptor{}, err
	}
	return desc, nil
}

// refName is the tag of a reference, as BuildKit writes
// org.opencontainers.image.ref.name ("latest" when there is none).
func refName(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

// withoutNames drops the per-export name annotations of a manifest moved
// into the merged index.
func withoutNames(a map[string]string) map[string]string {
	if a == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range a {
		if k != "io.containerd.image.name" && k != "org.opencontainers.image.ref.name" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func parsePlatform(p string) *Platform {
	parts := strings.SplitN(p, "/", 3)
	out := &Platform{OS: parts[0]}
	if len(parts) > 1 {
		out.Architecture = parts[1]
	}
	if len(parts) > 2 {
		out.Variant = parts[2]
	}
	return out
}

func readIndex(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s is not an OCI index: %w", filepath.Base(path), err)
	}
	return &idx, nil
}

func blobPath(layout, digest string) string {
	alg, hexDigest, _ := strings.Cut(digest, ":")
	return filepath.Join(layout, "blobs", alg, hexDigest)
}

// CopyTree copies the directory src into dst, every file not already
// there (a blob of the same digest has the same content), as a hard link
// when the file system allows (the exports are removed afterwards).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Stat(target); err == nil {
			return nil // same digest, same content
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Tree is a directory written into a tar under Prefix.
type Tree struct {
	Prefix string
	Dir    string
}

// WriteTar writes the trees into one tar stream: every file, directory and
// link under each Dir, its path prefixed by Prefix ("" keeps it as is),
// in path order, as BuildKit's tar exporter lays out a multi-platform
// build (linux_amd64/..., linux_arm64/...) and as an OCI layout is
// archived (Prefix "").
func WriteTar(w io.Writer, trees []Tree) error {
	tw := tar.NewWriter(w)
	for _, t := range trees {
		var paths []string
		err := filepath.WalkDir(t.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != t.Dir {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Strings(paths)
		if t.Prefix != "" {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: t.Prefix + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		for _, p := range paths {
			if err := addToTar(tw, t, p); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func addToTar(tw *tar.Writer, t Tree, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(t.Dir, p)
	if err != nil {
		return err
	}
	name := filepath.ToSlash(rel)
	if t.Prefix != "" {
		name = t.Prefix + "/" + name
	}
	if fi.IsDir() {
		name += "/"
	}
	h.Name = name
	h.Uname, h.Gname = "", ""
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

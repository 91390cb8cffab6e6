package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rawManifest is a manifest to PUT exactly as its bytes are.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.body, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// PushIndex assembles one OCI image index from sources (repo@digest, each
// an image or an index such as buildx's per-platform push with its
// attestation manifest) and pushes it to repo BY DIGEST: no tag is created
// or moved. Manifests keep the order of sources, then their order inside
// each source; a manifest listed twice is kept once. It returns the index
// digest. Every source must be in repo (a registry only links manifests of
// the same repository).
func (c *Client) PushIndex(ctx context.Context, repo string, sources []string) (string, error) {
	return c.PushIndexAnnotated(ctx, repo, sources, nil)
}

// PushIndexAnnotated is PushIndex with annotations on the index itself
// (buildx's --annotation index:KEY=VALUE).
func (c *Client) PushIndexAnnotated(ctx context.Context, repo string, sources []string, annotations map[string]string) (string, error) {
	if len(sources) == 0 {
		return "", errors.New("no images to put in the index")
	}
	r, err := name.NewRepository(repo)
	if err != nil {
		return "", fmt.Errorf("%q is not a repository: %w", repo, err)
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: annotations}
	seen := map[v1.Hash]bool{}
	for _, src := range sources {
		d, err := name.NewDigest(src)
		if err != nil {
			return "", fmt.Errorf("%q is not a repo@digest reference: %w", src, err)
		}
		if d.Context().Name() != r.Name() {
			return "", fmt.Errorf("%s is not in %s: an index can only list manifests of its own repository", src, repo)
		}
		descs, err := c.manifestsOf(ctx, d)
		if err != nil {
			return "", err
		}
		for _, m := range descs {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				idx.Manifests = append(idx.Manifests, m)
			}
		}
	}
	body, err := json.Marshal(idx)
	if err != nil {
		return "", err
	}
	h, _, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	ref := r.Digest(h.String())
	if err := remote.Put(ref, rawManifest{body: body, mt: types.OCIImageIndex}, c.writeOptions(ctx)...); err != nil {
		return "", fmt.Errorf("pushing the index %s: %w", ref, err)
	}
	return h.String(), nil
}

// manifestsOf lists what a source contributes to an index: an index's
// manifests as they are, or an image as one entry with its config's
// platform.
func (c *Client) manifestsOf(ctx context.Context, d name.Digest) ([]v1.Descriptor, error) {
	desc, err := remote.Get(d, c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading the index %s: %w", d, err)
		}
		return im.Manifests, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config of %s: %w", d, err)
	}
	return []v1.Descriptor{{
		MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest,
		Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
	}}, nil
}

// Tag points each tag (full references in repo's repository) at the
// manifest repo@digest, writing its exact bytes: one manifest PUT per tag.
// It stops at the first failure and says which tags were written.
func (c *Client) Tag(ctx context.Context, repo, digest string, tags []string) error {
	d, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return fmt.Errorf("%s@%s is not a digest reference: %w", repo, digest, err)
	}
	desc, err := remote.Get(d, c.options(ctx)...)
	if err != nil {
		return fmt.Errorf("reading %s before tagging it: %w", d, err)
	}
	var done []string
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return fmt.Errorf("%q is not a tag reference: %w", t, err)
		}
		if tag.Context().Name() != d.Context().Name() {
			return fmt.Errorf("tag %s is not in %s", t, repo)
		}
		if err := remote.Tag(tag, rawManifest{body: desc.Manifest, mt: desc.MediaType}, c.writeOptions(ctx)...); err != nil {
			if len(done) > 0 {
				return fmt.Errorf("writing tag %s: %w (already written: %v)", t, err, done)
			}
			return fmt.Errorf("writing tag %s: %w", t, err)
		}
		done = append(done, t)
	}
	return nil
}

// Exists reports whether the registry holds ref (a tag or repo@digest).
// Not found is (false, nil); any other failure is an error.
func (c *Client) Exists(ctx context.Context, ref string) (bool, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false, fmt.Errorf("%q is not an image reference: %w", ref, err)
	}
	_, err = remote.Head(r, c.options(ctx)...)
	var te *transport.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("looking up %s: %w", ref, err)
}

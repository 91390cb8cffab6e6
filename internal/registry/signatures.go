package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SignatureLayer is one signature in cosign's layout: a layer whose
// content is the signed payload and whose annotations carry the signature
// (and, for keyless signing, the certificate and bundle).
type SignatureLayer struct {
	MediaType   string
	Payload     []byte
	Annotations map[string]string
}

// maxSignatureBytes bounds a signature payload read back.
const maxSignatureBytes = 1 << 20

// SignatureTag is the tag cosign keeps the signatures of digest under, in
// the image's own repository: sha256:HEX -> sha256-HEX.sig.
func SignatureTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}

// Signatures reads the signatures of repo@digest from repo:sha256-HEX.sig;
// none (no such tag) is an empty list, not an error.
func (c *Client) Signatures(ctx context.Context, repo, digest string) ([]SignatureLayer, error) {
	tag, err := name.NewTag(repo + ":" + SignatureTag(digest))
	if err != nil {
		return nil, fmt.Errorf("the signature tag of %s@%s: %w", repo, digest, err)
	}
	img, err := remote.Image(tag, c.options(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the signatures %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the signatures %s: %w", tag, err)
	}
	var out []SignatureLayer
	for _, l := range m.Layers {
		b, err := c.Blob(ctx, repo, l.Digest.String(), maxSignatureBytes)
		if err != nil {
			return nil, fmt.Errorf("reading a signature of %s: %w", tag, err)
		}
		out = append(out, SignatureLayer{MediaType: string(l.MediaType), Payload: b, Annotations: l.Annotations})
	}
	return out, nil
}

// WriteSignatures adds sigs to the signatures of repo@digest, as cosign
// does: the signatures already under repo:sha256-HEX.sig are kept, one
// identical to a new one (same payload and annotations) is not added
// twice, and the tag is written with an OCI manifest of one layer per
// signature. It returns the signature tag's reference.
func (c *Client) WriteSignatures(ctx context.Context, repo, digest string, sigs []SignatureLayer) (string, error) {
	existing, err := c.Signatures(ctx, repo, digest)
	if err != nil {
		return "", err
	}
	all := existing
	for _, s := range sigs {
		dup := false
		for _, e := range existing {
			if bytes.Equal(e.Payload, s.Payload) && maps.Equal(e.Annotations, s.Annotations) {
				dup = true
				break
			}
		}
		if !dup {
			all = append(all, s)
		}
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, s := range all {
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(s.Payload, types.MediaType(s.MediaType)),
			Annotations: s.Annotations,
		})
		if err != nil {
			return "", err
		}
	}
	tag, err := name.NewTag(repo + ":" + SignatureTag(digest))
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, c.writeOptions(ctx)...); err != nil {
		return "", fmt.Errorf("writing the signatures %s: %w", tag, err)
	}
	return tag.String(), nil
}

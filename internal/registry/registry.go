// Package registry reads pushed images back from a registry, with the
// credentials of the user's docker config, for xbuild's verify step. It
// returns xbuild's own small types so callers never depend on the library
// underneath (go-containerregistry).
package registry

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client reads manifests, configs and layers.
type Client struct {
	// Keychain supplies credentials; nil means the docker config
	// ($DOCKER_CONFIG/config.json, credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil means the default one, which
	// trusts the system CAs plus $SSL_CERT_FILE. Either way it is wrapped in
	// a RetryTransport: transient failures are retried and announced.
	Transport http.RoundTripper
	// Notify is told about every retry (see RetryTransport); nil says
	// nothing.
	Notify func(msg string)
	// Attempts bounds the tries of each request (see RetryTransport).
	Attempts int
	// Sleep replaces the wait between tries (tests).
	Sleep func(ctx context.Context, d time.Duration) error

	// one puller for every call: it keeps the authenticated transport of
	// each repository, so a verify does one token exchange, not one per read
	once   sync.Once
	puller *remote.Puller
	// images read by digest, which never change: Image and ReadFile on the
	// same digest fetch its manifest and config once
	images sync.Map // repo@digest -> v1.Image
}

// Manifest is one entry of an image index.
type Manifest struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Platform is os/arch[/variant], or "unknown/unknown" for attestations.
	Platform string `json:"platform"`
	// Attestation marks buildx's attestation manifests (provenance, SBOM).
	Attestation bool `json:"attestation,omitempty"`
	// AttestsTo is the image digest an attestation describes.
	AttestsTo string `json:"attestsTo,omitempty"`
}

// Index is what a reference resolves to: an index with several manifests,
// or a single image manifest (then Manifests has one entry).
type Index struct {
	Ref       string     `json:"ref"`
	Digest    string     `json:"digest"`
	MediaType string     `json:"mediaType"`
	Manifests []Manifest `json:"manifests"`

	// Size is the byte size of the index (or manifest) itself.
	Size int64 `json:"size,omitempty"`
}

// Layer is one image layer as stored in the registry.
type Layer struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	// Annotations are the layer descriptor's (an attestation layer's
	// in-toto.io/predicate-type, say).
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Image is one platform's image: manifest and config.
type Image struct {
	Digest       string            `json:"digest"`
	MediaType    string            `json:"mediaType"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
	Variant      string            `json:"variant,omitempty"`
	Env          []string          `json:"env,omitempty"`
	History      []string          `json:"history,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	User         string            `json:"user,omitempty"`
	ConfigSize   int64             `json:"configSize"`
	Layers       []Layer           `json:"layers"`
}

// CompressedSize is what a pull of this image transfers: layers plus config.
func (i *Image) CompressedSize() int64 {
	n := i.ConfigSize
	for _, l := range i.Layers {
		n += l.Size
	}
	return n
}

// baseOptions are the credentials and the retrying transport every call uses.
func (c *Client) baseOptions() []remote.Option {
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	tr := c.Transport
	if tr == nil {
		tr = remote.DefaultTransport
	}
	return []remote.Option{
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(&RetryTransport{Base: tr, Notify: c.Notify, Attempts: c.Attempts, Sleep: c.Sleep}),
		// the RetryTransport retries and says so; go-containerregistry's own
		// silent retries would multiply its tries
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
	}
}

// options are the options of one read.
func (c *Client) options(ctx context.Context) []remote.Option {
	base := c.baseOptions()
	c.once.Do(func() {
		if p, err := remote.NewPuller(base...); err == nil {
			c.puller = p
		}
	})
	if c.puller != nil {
		return []remote.Option{remote.WithContext(ctx), remote.Reuse(c.puller)}
	}
	return append(base, remote.WithContext(ctx))
}

// writeOptions are the options of one write (a reused puller does not
// carry credentials or the transport to pushes).
func (c *Client) writeOptions(ctx context.Context) []remote.Option {
	return append(c.baseOptions(), remote.WithContext(ctx))
}

// Index resolves ref and lists what it points to.
func (c *Client) Index(ctx context.Context, ref string) (*Index, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: %w", ref, err)
	}
	desc, err := remote.Get(r, c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the registry: %w", ref, err)
	}
	out := &Index{Ref: ref, Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: desc.Size}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the image config of %s: %w", ref, err)
		}
		out.Manifests = []Manifest{{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: desc.Size, Platform: formatPlatform(cf.OS, cf.Architecture, cf.Variant)}}
		return out, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the index of %s: %w", ref, err)
	}
	for _, m := range im.Manifests {
		e := Manifest{Digest: m.Digest.String(), MediaType: string(m.MediaType), Size: m.Size, Platform: "unknown/unknown"}
		if m.Platform != nil {
			e.Platform = formatPlatform(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant)
		}
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			e.Attestation = true
			e.AttestsTo = m.Annotations["vnd.docker.reference.digest"]
		}
		out.Manifests = append(out.Manifests, e)
	}
	return out, nil
}

// Image reads the manifest and config of repo@digest.
func (c *Client) Image(ctx context.Context, repo, digest string) (*Image, error) {
	img, err := c.image(ctx, repo, digest)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s@%s: %w", repo, digest, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s@%s: %w", repo, digest, err)
	}
	out := &Image{
		Digest: digest, MediaType: string(m.MediaType),
		OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant,
		Env: cf.Config.Env, Labels: cf.Config.Labels, Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd,
		User: cf.Config.User, ConfigSize: m.Config.Size,
	}
	for _, h := range cf.History {
		out.History = append(out.History, h.CreatedBy)
	}
	for _, l := range m.Layers {
		out.Layers = append(out.Layers, Layer{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size, Annotations: l.Annotations})
	}
	return out, nil
}

// Blob returns the raw content of a small blob (an attestation layer, say),
// refusing blobs over limit bytes.
func (c *Client) Blob(ctx context.Context, repo, digest string, limit int64) ([]byte, error) {
	r, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return nil, err
	}
	l, err := remote.Layer(r, c.options(ctx)...)
	if err != nil {
		return nil, err
	}
	if sz, err := l.Size(); err == nil && sz > limit {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte limit", digest, sz, limit)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc, limit)
}

func (c *Client) image(ctx context.Context, repo, digest string) (v1.Image, error) {
	key := repo + "@" + digest
	if img, ok := c.images.Load(key); ok {
		return img.(v1.Image), nil
	}
	r, err := name.NewDigest(key)
	if err != nil {
		return nil, fmt.Errorf("%s@%s is not a digest reference: %w", repo, digest, err)
	}
	img, err := remote.Image(r, c.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s@%s: %w", repo, digest, err)
	}
	c.images.Store(key, img)
	return img, nil
}

func formatPlatform(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

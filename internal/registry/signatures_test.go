package registry

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Signatures are written in cosign's layout (an OCI manifest under
// REPO:sha256-HEX.sig, one layer per signature, the payload as the layer
// and the signature in its annotations), read back as written, and added
// to rather than replaced; the same signature twice is kept once.
func TestWriteAndReadSignatures(t *testing.T) {
	host, _ := registryWith503(t, 0)
	repo := host + "/team/app"
	c := &Client{Keychain: authn.NewMultiKeychain()}
	ctx := context.Background()
	digest := "sha256:7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad"

	if sigs, err := c.Signatures(ctx, repo, digest); err != nil || len(sigs) != 0 {
		t.Fatalf("before any signature: %v, %v", sigs, err)
	}
	one := SignatureLayer{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Payload: []byte(`{"p":1}`),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": "c2lnMQ=="}}
	two := SignatureLayer{MediaType: one.MediaType, Payload: []byte(`{"p":2}`), Annotations: map[string]string{"dev.cosignproject.cosign/signature": "c2lnMg=="}}
	tag, err := c.WriteSignatures(ctx, repo, digest, []SignatureLayer{one})
	if err != nil {
		t.Fatal(err)
	}
	if want := repo + ":sha256-7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad.sig"; tag != want {
		t.Errorf("tag %s, want %s", tag, want)
	}
	if _, err := c.WriteSignatures(ctx, repo, digest, []SignatureLayer{one, two}); err != nil {
		t.Fatal(err)
	}
	sigs, err := c.Signatures(ctx, repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || string(sigs[0].Payload) != `{"p":1}` || string(sigs[1].Payload) != `{"p":2}` ||
		sigs[1].Annotations["dev.cosignproject.cosign/signature"] != "c2lnMg==" || sigs[1].MediaType != one.MediaType {
		t.Errorf("signatures %+v", sigs)
	}

	// the manifest, read with go-containerregistry alone
	ref, _ := name.NewTag(tag)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.image.config.v1+json" ||
		len(m.Layers) != 2 || m.Layers[0].MediaType != "application/vnd.dev.cosign.simplesigning.v1+json" ||
		m.Layers[0].Annotations["dev.cosignproject.cosign/signature"] != "c2lnMQ==" {
		t.Errorf("manifest %s", desc.Manifest)
	}
}

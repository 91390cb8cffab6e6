package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/sign"
)

// SignatureStore reads and writes signatures in cosign's registry layout
// (REPO:sha256-HEX.sig); *registry.Client is one.
type SignatureStore interface {
	Signatures(ctx context.Context, repo, digest string) ([]registry.SignatureLayer, error)
	WriteSignatures(ctx context.Context, repo, digest string, sigs []registry.SignatureLayer) (string, error)
}

var _ SignatureStore = (*registry.Client)(nil)

// Signed is one manifest the sign step signed.
type Signed struct {
	// Platform is the platform image's platform, "index" for the index.
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	// Signatures is the tag the signatures are under (REPO:sha256-HEX.sig).
	Signatures string `json:"signatures"`
}

// SignStep signs the verified index and each of its platform images in
// cosign's format (the simple-signing payload, the signature on a layer
// under REPO:sha256-HEX.sig), offline: no transparency log. It runs after
// verify and before publish, so a tag only ever points at a signed index;
// a signing failure leaves every tag as it was. It needs only the
// repository, the index digest and the registry (s.repo, s.Build,
// Registry), so a pipeline that merges platforms pushed elsewhere can run
// it too.
type SignStep struct{}

// Name implements Step.
func (SignStep) Name() string { return "sign" }

// String implements Step.
func (SignStep) String() string { return "signing the verified index and its platform images" }

// Skip implements Skipper.
func (SignStep) Skip(s *State) (bool, string) {
	switch {
	case s.Config.Sign.Key == "":
		return true, "no --sign-key"
	case !s.Config.Push || len(s.Options.Outputs) > 0:
		return true, "nothing was pushed"
	case s.Config.PushByDigest:
		return true, "push-by-digest: xbuild merge signs the index it assembles"
	}
	return false, ""
}

// Run implements Step.
func (SignStep) Run(ctx context.Context, s *State) error {
	if s.Build == nil || s.Build.Digest == "" || s.repo == "" {
		return errors.New("internal error: no index to sign")
	}
	if s.Config.Verify && (s.Verify == nil || !s.Verify.OK) {
		return errors.New("internal error: the index was not verified")
	}
	signer, err := s.signer()
	if err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	store, ok := reg.(SignatureStore)
	if !ok {
		return errors.New("internal error: this registry client cannot write signatures")
	}
	targets, err := signTargets(ctx, reg, s.repo, s.Build.Digest)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Signed = nil
	for _, t := range targets {
		sig, err := sign.Sign(signer, s.repo, t.Digest)
		if err != nil {
			return err
		}
		tag, err := store.WriteSignatures(ctx, s.repo, t.Digest, []registry.SignatureLayer{{MediaType: sign.PayloadMediaType, Payload: sig.Payload, Annotations: sig.Annotations}})
		if err != nil {
			return fmt.Errorf("%s (no tag was written)", s.Secrets.String(err.Error()))
		}
		t.Signatures = tag
		s.Signed = append(s.Signed, t)
	}
	s.Log.Info("signed the index and %d platform image(s) with %s, offline (no transparency log)", len(targets)-1, signer.Describe())
	return nil
}

// signTargets are the manifests a sign step signs: the index, then each
// platform image it lists (attestation manifests are not signed: they
// are reached through their image).
func signTargets(ctx context.Context, reg Registry, repo, digest string) ([]Signed, error) {
	idx, err := reg.Index(ctx, repo+"@"+digest)
	if err != nil {
		return nil, err
	}
	out := []Signed{{Platform: "index", Digest: idx.Digest}}
	if len(idx.Manifests) == 1 && idx.Manifests[0].Digest == idx.Digest {
		return out, nil // a single image, not an index
	}
	for _, m := range idx.Manifests {
		if !m.Attestation {
			out = append(out, Signed{Platform: platform.Loose(m.Platform), Digest: m.Digest})
		}
	}
	return out, nil
}

// signer is the build's signer: loaded (and its password checked) before
// the first step, or now by a pipeline that did not.
func (s *State) signer() (sign.Signer, error) {
	if s.supply.signer != nil {
		return s.supply.signer, nil
	}
	k, err := loadSigner(s.Config.Sign.Key, s.Getenv)
	if err != nil {
		return nil, err
	}
	s.supply.signer = k
	return k, nil
}

// loadSigner opens the signing key file with COSIGN_PASSWORD, as cosign
// does (an unset variable is the empty password).
func loadSigner(path string, getenv func(string) string) (sign.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key (--sign-key, sign.key): %w", err)
	}
	pw := ""
	if getenv != nil {
		pw = getenv("COSIGN_PASSWORD")
	}
	return sign.LoadKey(path, b, []byte(pw))
}

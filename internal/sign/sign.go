// Package sign signs and verifies image digests in cosign's signature
// format, offline: the simple-signing payload naming the repository and
// the manifest digest, signed with a cosign key pair (cosign
// generate-key-pair), no transparency log. Where signatures are stored
// (the REPO:sha256-HEX.sig tag) is internal/registry's job; this package
// holds no registry code.
//
// Signer is the seam for other key sources: a keyless signer (a Fulcio
// certificate for an OIDC identity, cosign's bundle once a transparency
// log is used) returns its certificate, chain and bundle in
// Signature.Annotations, which the registry stores on the signature layer
// as cosign does.
package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// The media type and annotation of cosign's signature layers.
const (
	// PayloadMediaType is a signature layer's media type: the layer's
	// content is the simple-signing payload that was signed.
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature of the payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
)

// Signature is one signature of one manifest digest.
type Signature struct {
	// Payload is the simple-signing JSON document that was signed.
	Payload []byte
	// Annotations are the signature layer's annotations: the base64
	// signature (SignatureAnnotation), and what a keyless signer adds.
	Annotations map[string]string
}

// Signer signs payloads.
type Signer interface {
	// Sign signs payload and returns the signature layer's annotations.
	Sign(payload []byte) (map[string]string, error)
	// Describe says what signs, for messages ("key cosign.key (ECDSA P-256)").
	Describe() string
}

// Payload is the simple-signing payload cosign signs for repo@digest:
// {"critical":{"identity":{"docker-reference":REPO},"image":
// {"docker-manifest-digest":DIGEST},"type":"cosign container image
// signature"},"optional":null}.
func Payload(repo, digest string) ([]byte, error) {
	d, err := name.NewDigest(repo + "@" + digest)
	if err != nil {
		return nil, fmt.Errorf("%s@%s is not a digest reference: %w", repo, digest, err)
	}
	return json.Marshal(payload.Cosign{Image: d})
}

// Sign signs repo@digest with s.
func Sign(s Signer, repo, digest string) (Signature, error) {
	p, err := Payload(repo, digest)
	if err != nil {
		return Signature{}, err
	}
	ann, err := s.Sign(p)
	if err != nil {
		return Signature{}, fmt.Errorf("signing %s@%s: %w", repo, digest, err)
	}
	return Signature{Payload: p, Annotations: ann}, nil
}

// KeySigner signs with a private key, as cosign sign --key does.
type KeySigner struct {
	sv   signature.SignerVerifier
	desc string
}

// LoadKey reads a PEM private key: cosign's encrypted format (ENCRYPTED
// SIGSTORE PRIVATE KEY, or ENCRYPTED COSIGN PRIVATE KEY from older
// cosign), opened with password as cosign opens it with COSIGN_PASSWORD,
// or an unencrypted PKCS#8, EC or PKCS#1 key. name is the key's file, for
// messages.
func LoadKey(name string, pemBytes, password []byte) (*KeySigner, error) {
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		if strings.Contains(pemType(pemBytes), "ENCRYPTED") {
			return nil, fmt.Errorf("signing key %s: cannot decrypt it with COSIGN_PASSWORD (set it to the key's password; an unset variable is the empty password): %v", name, err)
		}
		return nil, fmt.Errorf("signing key %s: %v (want a cosign key from cosign generate-key-pair, or a PEM private key)", name, err)
	}
	sv, err := signature.LoadDefaultSignerVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %v", name, err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return &KeySigner{sv: sv, desc: fmt.Sprintf("key %s (%s)", name, keyKind(pub))}, nil
}

// Sign implements Signer.
func (k *KeySigner) Sign(p []byte) (map[string]string, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(p))
	if err != nil {
		return nil, err
	}
	return map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}, nil
}

// Describe implements Signer.
func (k *KeySigner) Describe() string { return k.desc }

// PublicKey is the key's public half.
func (k *KeySigner) PublicKey() (crypto.PublicKey, error) { return k.sv.PublicKey() }

// Verifier checks signatures with a public key, as cosign verify --key
// does (without a transparency log).
type Verifier struct {
	v    signature.Verifier
	desc string
}

// LoadPublicKey reads a PEM public key (cosign.pub).
func LoadPublicKey(name string, pemBytes []byte) (*Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %v (want the cosign.pub of cosign generate-key-pair, or a PEM public key)", name, err)
	}
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %v", name, err)
	}
	return &Verifier{v: v, desc: fmt.Sprintf("key %s (%s)", name, keyKind(pub))}, nil
}

// Describe says which key verifies.
func (v *Verifier) Describe() string { return v.desc }

// ErrNoMatch is returned by Verify when no signature is valid for the
// digest with the key.
var ErrNoMatch = errors.New("no signature matches")

// Verify returns the first of sigs that is a valid signature of
// repo@digest with the key: the signature checks out over the payload, and
// the payload names digest (a signature copied from another image, or of
// another digest, is no match). The repository named in the payload is
// not compared: an image copied to another registry keeps its signatures
// valid, as with cosign.
func (v *Verifier) Verify(sigs []Signature, digest string) (*Signature, error) {
	var reasons []string
	for i := range sigs {
		s := &sigs[i]
		raw, err := base64.StdEncoding.DecodeString(s.Annotations[SignatureAnnotation])
		if err != nil || len(raw) == 0 {
			reasons = append(reasons, "a signature layer without a base64 signature")
			continue
		}
		if err := v.v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(s.Payload)); err != nil {
			reasons = append(reasons, "a signature made with another key or over another payload")
			continue
		}
		var p payload.Cosign
		if err := json.Unmarshal(s.Payload, &p); err != nil {
			reasons = append(reasons, "a signed payload that is not cosign's: "+err.Error())
			continue
		}
		if got := p.Image.DigestStr(); got != digest {
			reasons = append(reasons, fmt.Sprintf("a valid signature of %s, not of %s", got, digest))
			continue
		}
		return s, nil
	}
	if len(reasons) == 0 {
		return nil, fmt.Errorf("%w: there is no signature", ErrNoMatch)
	}
	return nil, fmt.Errorf("%w: %d signature(s): %s", ErrNoMatch, len(sigs), strings.Join(dedupe(reasons), "; "))
}

// Tag is the tag cosign stores the signatures of digest under:
// sha256:abc... -> sha256-abc....sig.
func Tag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

func pemType(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "-----BEGIN "); i >= 0 {
		s = s[i+len("-----BEGIN "):]
		if j := strings.Index(s, "-----"); j >= 0 {
			return s[:j]
		}
	}
	return ""
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

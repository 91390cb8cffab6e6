package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

const (
	repo   = "registry.example.com/team/app"
	digest = "sha256:7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad"
	other  = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

// cosignKeyPair makes a key pair the way cosign generate-key-pair does:
// an ECDSA P-256 key, encrypted with password (scrypt + secretbox) under
// ENCRYPTED SIGSTORE PRIVATE KEY.
func cosignKeyPair(t *testing.T, password string) (priv, pub []byte) {
	t.Helper()
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(priv), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("not a cosign key:\n%s", priv)
	}
	return priv, pub
}

func TestPayload(t *testing.T) {
	p, err := Payload(repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`
	if string(p) != want {
		t.Errorf("payload\n %s\nwant\n %s", p, want)
	}
	if _, err := Payload(repo, "sha256:nothex"); err == nil {
		t.Error("a bad digest is accepted")
	}
	if got := Tag(digest); got != "sha256-7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad.sig" {
		t.Errorf("Tag = %s", got)
	}
}

func TestSignAndVerify(t *testing.T) {
	priv, pub := cosignKeyPair(t, "pw-1234")
	s, err := LoadKey("cosign.key", priv, []byte("pw-1234"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Describe() != "key cosign.key (ECDSA P-256)" {
		t.Errorf("Describe = %q", s.Describe())
	}
	sig, err := Sign(s, repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey("cosign.pub", pub)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify([]Signature{sig}, digest); err != nil || got == nil {
		t.Fatalf("Verify = %v, %v", got, err)
	}

	// the same signature is no signature of another digest
	otherSig, _ := Sign(s, repo, other)
	_, err = v.Verify([]Signature{otherSig}, digest)
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "a valid signature of "+other+", not of "+digest) {
		t.Errorf("another digest's signature: %v", err)
	}
	// a tampered payload, another key, garbage, nothing at all
	tampered := sig
	tampered.Payload = []byte(strings.Replace(string(sig.Payload), digest, other, 1))
	_, otherPub := cosignKeyPair(t, "")
	v2, _ := LoadPublicKey("other.pub", otherPub)
	for name, tc := range map[string]struct {
		v    *Verifier
		sigs []Signature
		want string
	}{
		"tampered payload": {v, []Signature{tampered}, "made with another key or over another payload"},
		"another key":      {v2, []Signature{sig}, "made with another key or over another payload"},
		"no signature":     {v, []Signature{{Payload: sig.Payload, Annotations: map[string]string{}}}, "without a base64 signature"},
		"none":             {v, nil, "there is no signature"},
	} {
		if _, err := tc.v.Verify(tc.sigs, digest); !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// one good signature among bad ones is enough
	if _, err := v.Verify([]Signature{tampered, otherSig, sig}, digest); err != nil {
		t.Errorf("a good signature among bad ones: %v", err)
	}
}

func TestLoadKey(t *testing.T) {
	priv, _ := cosignKeyPair(t, "right")
	if _, err := LoadKey("cosign.key", priv, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "signing key cosign.key: cannot decrypt it with COSIGN_PASSWORD") {
		t.Errorf("wrong password: %v", err)
	}
	// an unencrypted PKCS#8 key needs no password
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	plain := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	s, err := LoadKey("plain.pem", plain, nil)
	if err != nil || s.Describe() != "key plain.pem (ECDSA P-384)" {
		t.Errorf("PKCS#8 key: %v, %v", s, err)
	}
	if _, err := LoadKey("x.key", []byte("not a key"), nil); err == nil || !strings.Contains(err.Error(), "signing key x.key: PEM decoding failed") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := LoadPublicKey("x.pub", []byte("not a key")); err == nil || !strings.Contains(err.Error(), "public key x.pub:") {
		t.Errorf("garbage public key: %v", err)
	}
}

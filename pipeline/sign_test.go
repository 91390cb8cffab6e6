package pipeline

import (
	"context"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/sign"
)

var (
	amdDigest = "sha256:" + strings.Repeat("a1", 32)
	armDigest = "sha256:" + strings.Repeat("b2", 32)
)

// signableRegistry is pushedRegistry with real digests (a signature
// payload names one).
func signableRegistry() *fakeRegistry {
	r := pushedRegistry("gzip")
	rename := map[string]string{"sha256:amd64": amdDigest, "sha256:arm64": armDigest}
	for i, m := range r.index.Manifests {
		if d, ok := rename[m.Digest]; ok {
			r.index.Manifests[i].Digest = d
		}
		if d, ok := rename[m.AttestsTo]; ok {
			r.index.Manifests[i].AttestsTo = d
		}
	}
	for old, d := range rename {
		img := r.images[old]
		img.Digest = d
		r.images[d] = img
		r.files[d+"/app"] = r.files[old+"/app"]
	}
	return r
}

// writeKeyPair writes a cosign key pair (cosign generate-key-pair's
// format) encrypted with password, and returns the key and public key
// paths.
func writeKeyPair(t *testing.T, password string) (string, string) {
	t.Helper()
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, p := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(k, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, p
}

// With a signing key, the verified index and both platform images are
// signed after verify and before any tag is written; the signatures verify
// with the public key (Verify with SignatureKey), and an image whose tag
// was moved to another digest does not.
func TestPipelineSign(t *testing.T) {
	key, pub := writeKeyPair(t, "pw-5678")
	cfg := pushConfig()
	cfg.Sign.Key = key
	cfg.Report = "json"
	h := newHarness(t, cfg)
	h.state.Getenv = func(k string) string { return map[string]string{"COSIGN_PASSWORD": "pw-5678"}[k] }
	reg := signableRegistry()
	h.state.Registry = reg
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	want := []string{"sign " + indexDigest, "sign " + amdDigest, "sign " + armDigest, "tag registry.example.com/team/app:1.0"}
	if !slices.Equal(reg.events, want) {
		t.Errorf("registry events %q\nwant %q", reg.events, want)
	}
	if len(h.state.Signed) != 3 || h.state.Signed[1].Platform != "linux/amd64" ||
		h.state.Signed[0].Signatures != "registry.example.com/team/app:sha256-"+strings.Repeat("ab", 32)+".sig" {
		t.Errorf("signed %+v", h.state.Signed)
	}
	if !strings.Contains(h.out.String(), `"signed": [`) || strings.Contains(h.err.String()+h.out.String(), "pw-5678") {
		t.Errorf("report:\n%s\nstderr:\n%s", h.out, h.err)
	}
	if !strings.Contains(h.err.String(), "signed the index and 2 platform image(s) with key "+key+" (ECDSA P-256), offline (no transparency log)") {
		t.Errorf("stderr:\n%s", h.err)
	}

	// xbuild verify --key: every signature checks out
	pubPEM, _ := os.ReadFile(pub)
	v, err := sign.LoadPublicKey(pub, pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), reg, "registry.example.com/team/app:1.0", VerifyRequest{SignatureKey: v})
	if err != nil {
		t.Fatal(err)
	}
	var sigChecks []string
	for _, c := range rep.Checks {
		if c.Name == "signature" {
			sigChecks = append(sigChecks, c.Platform+" "+c.Detail)
		}
	}
	if len(sigChecks) != 3 || !rep.OK || !strings.Contains(sigChecks[0], "index sha256:abababababab signed, verified with key ") {
		t.Errorf("signature checks %q (ok %v)", sigChecks, rep.OK)
	}

	// the arm64 image replaced by another digest (a tampered index): its
	// signature is missing, the index's signature does not match it
	tampered := signableRegistry()
	tampered.sigs = reg.sigs
	tampered.index.Digest = "sha256:" + strings.Repeat("cd", 32)
	tampered.index.Manifests[1].Digest = "sha256:" + strings.Repeat("ef", 32)
	tampered.images["sha256:"+strings.Repeat("ef", 32)] = tampered.images[armDigest]
	tampered.files["sha256:"+strings.Repeat("ef", 32)+"/app"] = tampered.files[armDigest+"/app"]
	rep, err = Verify(context.Background(), tampered, "registry.example.com/team/app:1.0", VerifyRequest{SignatureKey: v})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Fatal("a tampered index verifies")
	}
	failed := map[string]string{}
	for _, c := range rep.Failed() {
		failed[c.Platform] = c.Detail
	}
	if !strings.Contains(failed["index"], "no signature matches: there is no signature") || !strings.Contains(failed["linux/arm64"], "there is no signature") || failed["linux/amd64"] != "" {
		t.Errorf("failed checks %q", failed)
	}
}

// A wrong COSIGN_PASSWORD stops the build before the first step; a
// signature that cannot be written leaves every tag as it was.
func TestPipelineSignFailures(t *testing.T) {
	key, _ := writeKeyPair(t, "right")
	cfg := pushConfig()
	cfg.Sign.Key = key
	h := newHarness(t, cfg)
	h.state.Getenv = func(k string) string { return map[string]string{"COSIGN_PASSWORD": "wrong"}[k] }
	h.state.Registry = signableRegistry()
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "signing key "+key+": cannot decrypt it with COSIGN_PASSWORD") || h.linted != 0 || len(h.eng.builds) != 0 {
		t.Fatalf("Run: %v (linted %d, builds %d)", err, h.linted, len(h.eng.builds))
	}

	h.state.Getenv = func(k string) string { return map[string]string{"COSIGN_PASSWORD": "right"}[k] }
	reg := signableRegistry()
	reg.sigErr = errors.New("PUT manifest: 503 Service Unavailable")
	h.state.Registry = reg
	err = h.rerun(t)
	if err == nil || !strings.HasPrefix(err.Error(), "sign: ") || !strings.Contains(err.Error(), "(no tag was written)") {
		t.Fatalf("Run: %v", err)
	}
	if len(reg.tags) != 0 {
		t.Errorf("tagged %v after signing failed", reg.tags)
	}
}

// A runner's by-digest build assembles no index: the merge job signs the
// index it makes, so the build's sign step is skipped, saying why.
func TestSignSkipsPushByDigest(t *testing.T) {
	s := &State{Config: config.Defaults()}
	s.Config.Sign.Key, s.Config.Push, s.Config.PushByDigest = "cosign.key", true, true
	if skip, why := (SignStep{}).Skip(s); !skip || !strings.Contains(why, "xbuild merge signs") {
		t.Errorf("Skip = %v, %q", skip, why)
	}
	s.Config.PushByDigest = false
	if skip, why := (SignStep{}).Skip(s); skip {
		t.Errorf("a pushed build with a key skips signing: %q", why)
	}
}

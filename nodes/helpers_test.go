package nodes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func assertStrings(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// certFixture is a set written by GenerateCerts + Write under dir.
type certFixture struct {
	dir string
	set *CertSet
	tls TLS
}

func writeCerts(t *testing.T, now time.Time, days int, hosts ...string) certFixture {
	t.Helper()
	set, err := GenerateCerts(CertOptions{Hosts: hosts, Days: days, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := set.Write(dir, false); err != nil {
		t.Fatal(err)
	}
	return certFixture{dir: dir, set: set, tls: TLS{
		CA:   filepath.Join(dir, "client", "ca.pem"),
		Cert: filepath.Join(dir, "client", "cert.pem"),
		Key:  filepath.Join(dir, "client", "key.pem"),
	}}
}

// testCA is a CA built by the tests themselves, for shapes GenerateCerts
// does not make (other key types, odd validity, no extended key usage).
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(t *testing.T, kind string) crypto.Signer {
	t.Helper()
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestCA(t *testing.T, notBefore, notAfter time.Time) testCA {
	t.Helper()
	key := newKey(t, "ecdsa")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: c, key: key}
}

// leaf signs a certificate for key; eku nil means no extended key usage.
func (ca testCA) leaf(t *testing.T, key crypto.Signer, notBefore, notAfter time.Time, eku []x509.ExtKeyUsage) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "test client"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  eku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der)
}

func keyPEM(t *testing.T, key crypto.Signer, format string) []byte {
	t.Helper()
	var der []byte
	var err error
	typ := "PRIVATE KEY"
	switch format {
	case "pkcs1":
		der, typ = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey)), "RSA PRIVATE KEY"
	case "sec1":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		typ = "EC PRIVATE KEY"
	default:
		der, err = x509.MarshalPKCS8PrivateKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return path
}

// snapshot reads every file under dir except lock files, for
// "nothing changed" assertions.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".lock" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertSnapshot(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := snapshot(t, dir)
	if len(got) != len(want) {
		t.Errorf("files changed: got %d files %v, want %d", len(got), keys(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s changed:\n%s\nwant:\n%s", k, got[k], v)
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

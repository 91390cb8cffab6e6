package nodes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
)

// CertOptions describes the TLS material `xbuild nodes certs` creates for a
// new node: one CA, a server certificate for the node's names and addresses,
// and a client certificate for xbuild.
type CertOptions struct {
	// Hosts are the node's DNS names and IP addresses (server certificate SANs).
	Hosts []string
	// Days is how long the certificates are valid.
	Days int
	// Now is the start of validity; zero means time.Now().
	Now time.Time
}

// CertSet is PEM-encoded TLS material for one CA, one server and one client.
type CertSet struct {
	CACert, CAKey         []byte
	ServerCert, ServerKey []byte
	ClientCert, ClientKey []byte
	NotAfter              time.Time
}

// GenerateCerts creates a CA and a server and a client certificate signed by
// it, all with ECDSA P-256 keys.
func GenerateCerts(opts CertOptions) (*CertSet, error) {
	if len(opts.Hosts) == 0 {
		return nil, errors.New("at least one --host is needed: the node's DNS name or IP address as xbuild will dial it")
	}
	for _, h := range opts.Hosts {
		if h == "" || strings.ContainsAny(h, " /:") && net.ParseIP(h) == nil {
			return nil, fmt.Errorf("--host %q is not a DNS name or IP address", h)
		}
	}
	if opts.Days <= 0 {
		return nil, fmt.Errorf("--days %d: must be at least 1", opts.Days)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	notBefore := now.Add(-5 * time.Minute) // tolerate small clock skew between machines
	notAfter := now.Add(time.Duration(opts.Days) * 24 * time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "xbuild node CA", Organization: []string{"xbuild"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	leaf := func(cn string, usage x509.ExtKeyUsage, hosts []string) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"xbuild"}},
			NotBefore:             notBefore,
			NotAfter:              notAfter,
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{usage},
			BasicConstraintsValid: true,
		}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER), nil
	}

	set := &CertSet{CACert: pemBlock("CERTIFICATE", caDER), NotAfter: notAfter}
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return nil, err
	}
	set.CAKey = pemBlock("EC PRIVATE KEY", caKeyDER)
	if set.ServerCert, set.ServerKey, err = leaf(opts.Hosts[0], x509.ExtKeyUsageServerAuth, opts.Hosts); err != nil {
		return nil, err
	}
	if set.ClientCert, set.ClientKey, err = leaf("xbuild-client", x509.ExtKeyUsageClientAuth, nil); err != nil {
		return nil, err
	}
	return set, nil
}

// CertFile is one file of a written CertSet.
type CertFile struct {
	Path string      `json:"path"`
	Role string      `json:"role"`
	Mode os.FileMode `json:"-"`
	data []byte
}

// Files lays the set out under dir: dir/ca.pem and dir/ca-key.pem (keep the
// CA key off the nodes), dir/server/ (copy to the node) and dir/client/ (for
// xbuild), each with ca.pem, cert.pem and key.pem.
func (s *CertSet) Files(dir string) []CertFile {
	return []CertFile{
		{filepath.Join(dir, "ca.pem"), "ca certificate", 0o644, s.CACert},
		{filepath.Join(dir, "ca-key.pem"), "ca key (keep it off the nodes)", 0o600, s.CAKey},
		{filepath.Join(dir, "server", "ca.pem"), "ca certificate (node)", 0o644, s.CACert},
		{filepath.Join(dir, "server", "cert.pem"), "server certificate (node)", 0o644, s.ServerCert},
		{filepath.Join(dir, "server", "key.pem"), "server key (node)", 0o600, s.ServerKey},
		{filepath.Join(dir, "client", "ca.pem"), "ca certificate (xbuild)", 0o644, s.CACert},
		{filepath.Join(dir, "client", "cert.pem"), "client certificate (xbuild)", 0o644, s.ClientCert},
		{filepath.Join(dir, "client", "key.pem"), "client key (xbuild)", 0o600, s.ClientKey},
	}
}

// Write writes the set under dir. Unless force is set it refuses, before
// writing anything, when any of the files already exists: overwriting a CA
// would orphan every node that trusts it.
func (s *CertSet) Write(dir string, force bool) ([]CertFile, error) {
	files := s.Files(dir)
	if !force {
		var existing []string
		for _, f := range files {
			if _, err := os.Lstat(f.Path); err == nil {
				existing = append(existing, f.Path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		if len(existing) > 0 {
			return nil, fmt.Errorf("%s already exists (%d of the %d files); not overwriting certificates nodes may already trust (use --force to replace them, or choose another --out)", existing[0], len(existing), len(files))
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "server"), filepath.Join(dir, "client")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := atomicfile.Write(f.Path, f.data, f.Mode); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

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

// MaxCertDays is the longest validity `xbuild nodes certs` gives: ten
// years. Longer is no safer to manage, and a count of days past about
// 106,751 overflows time.Duration into an expiry in the past.
const MaxCertDays = 3650

// CertOptions describes the TLS material `xbuild nodes certs` creates for a
// new node: one CA, a server certificate for the node's names and addresses,
// and a client certificate for xbuild.
type CertOptions struct {
	// Hosts are the node's DNS names and IP addresses (server certificate SANs).
	Hosts []string
	// Days is how long the certificates are valid: 1 to MaxCertDays.
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
		if err := checkCertHost(h); err != nil {
			return nil, err
		}
	}
	if opts.Days <= 0 {
		return nil, fmt.Errorf("--days %d: must be at least 1", opts.Days)
	}
	if opts.Days > MaxCertDays {
		return nil, fmt.Errorf("--days %d: must be at most %d (10 years); make new certificates when these expire", opts.Days, MaxCertDays)
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
	// Replaced describes the file this one overwrote (Write with force):
	// for a CA certificate its name, serial number and expiry, else "a
	// file"; "" when there was none.
	Replaced string `json:"replaced,omitempty"`
	data     []byte
}

// Files lays the set out under dir: dir/ca.pem and dir/ca-key.pem (keep the
// CA key off the nodes), dir/server/ (copy to the node) and dir/client/ (for
// xbuild), each with ca.pem, cert.pem and key.pem.
func (s *CertSet) Files(dir string) []CertFile {
	return []CertFile{
		{Path: filepath.Join(dir, "ca.pem"), Role: "ca certificate", Mode: 0o644, data: s.CACert},
		{Path: filepath.Join(dir, "ca-key.pem"), Role: "ca key (keep it off the nodes)", Mode: 0o600, data: s.CAKey},
		{Path: filepath.Join(dir, "server", "ca.pem"), Role: "ca certificate (node)", Mode: 0o644, data: s.CACert},
		{Path: filepath.Join(dir, "server", "cert.pem"), Role: "server certificate (node)", Mode: 0o644, data: s.ServerCert},
		{Path: filepath.Join(dir, "server", "key.pem"), Role: "server key (node)", Mode: 0o600, data: s.ServerKey},
		{Path: filepath.Join(dir, "client", "ca.pem"), Role: "ca certificate (xbuild)", Mode: 0o644, data: s.CACert},
		{Path: filepath.Join(dir, "client", "cert.pem"), Role: "client certificate (xbuild)", Mode: 0o644, data: s.ClientCert},
		{Path: filepath.Join(dir, "client", "key.pem"), Role: "client key (xbuild)", Mode: 0o600, data: s.ClientKey},
	}
}

// Write writes the set under dir. Unless force is set it refuses, before
// writing anything, when any of the files already exists: overwriting a CA
// would orphan every node that trusts it. With force, each returned file
// says what it replaced (CertFile.Replaced), so the caller can warn.
func (s *CertSet) Write(dir string, force bool) ([]CertFile, error) {
	files := s.Files(dir)
	var existing []string
	for i, f := range files {
		_, err := os.Lstat(f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil && !force:
			return nil, err
		}
		existing = append(existing, f.Path)
		if force {
			b, _ := os.ReadFile(f.Path) // unreadable: described as "a file"
			files[i].Replaced = describeReplaced(f.Role, b)
		}
	}
	if len(existing) > 0 && !force {
		return nil, fmt.Errorf("%s already exists (%d of the %d files); not overwriting certificates nodes may already trust (use --force to replace them, or choose another --out)", existing[0], len(existing), len(files))
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

// describeReplaced names what a file held before Write replaced it: a CA
// certificate by its common name, serial number and expiry.
func describeReplaced(role string, old []byte) string {
	if strings.HasPrefix(role, "ca certificate") {
		if blk, _ := pem.Decode(old); blk != nil && blk.Type == "CERTIFICATE" {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				return fmt.Sprintf("CA certificate %q, serial %s, valid until %s", c.Subject.CommonName, c.SerialNumber.Text(16), c.NotAfter.UTC().Format("2006-01-02"))
			}
		}
	}
	return "a file"
}

// checkCertHost checks a --host for a server certificate: an IP address
// (without brackets or zone) or a DNS name of RFC 1123 labels, no
// wildcard.
func checkCertHost(h string) error {
	const help = "use the node's DNS name (letters, digits and '-' in dot-separated labels of 1 to 63 characters) or its IP address, as xbuild will dial it"
	if net.ParseIP(h) != nil {
		return nil
	}
	if strings.Contains(h, "*") {
		return fmt.Errorf("--host %q: wildcards are not accepted; name each node (a wildcard certificate would let any host of the domain pose as this node)", h)
	}
	if inner, ok := strings.CutPrefix(h, "["); ok && net.ParseIP(strings.TrimSuffix(inner, "]")) != nil {
		return fmt.Errorf("--host %q: write an IPv6 address without brackets (--host %s)", h, strings.TrimSuffix(inner, "]"))
	}
	if addr, zone, ok := strings.Cut(h, "%"); ok && zone != "" && net.ParseIP(addr) != nil {
		return fmt.Errorf("--host %q: a certificate cannot name an IPv6 zone; write the address alone (--host %s)", h, addr)
	}
	if why := dnsNameProblem(h, false); why != "" {
		return fmt.Errorf("--host %q is not a DNS name or IP address (%s): %s", h, why, help)
	}
	return nil
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

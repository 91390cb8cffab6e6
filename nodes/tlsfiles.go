package nodes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ExpiryWarning is how close to its NotAfter a certificate draws a warning.
const ExpiryWarning = 30 * 24 * time.Hour

// certsHint says where good TLS material comes from.
const certsHint = "xbuild nodes certs --out DIR --host HOST writes a matching set: pass DIR/client/ca.pem, DIR/client/cert.pem and DIR/client/key.pem"

// TLSInfo describes validated client TLS material.
type TLSInfo struct {
	// CASubject is the subject of the CA the client certificate chains to.
	CASubject  string
	CANotAfter time.Time
	// ClientSubject and ClientNotAfter describe the client certificate.
	ClientSubject  string
	ClientNotAfter time.Time
	// Warnings are certificates that expire within ExpiryWarning.
	Warnings []string
}

type tlsFile struct{ flag, path string }

func (t TLS) files() []tlsFile {
	return []tlsFile{{"--tls-ca", t.CA}, {"--tls-cert", t.Cert}, {"--tls-key", t.Key}}
}

// missing lists the flags of the TLS files that were not given.
func (t TLS) missing() []string {
	var m []string
	for _, f := range t.files() {
		if f.path == "" {
			m = append(m, f.flag)
		}
	}
	return m
}

// relativePath reports the first TLS file given as a relative path.
func (t TLS) relativePath() (flag, path string) {
	for _, f := range t.files() {
		if f.path != "" && !filepath.IsAbs(f.path) {
			return f.flag, f.path
		}
	}
	return "", ""
}

// CheckTransport enforces the transport policy for an endpoint: tcp://
// needs TLS material (all three files, absolute paths) unless insecure is
// set, and TLS or --insecure make no sense for unix or kubernetes
// endpoints. t is nil when no --tls-* flag was given.
func CheckTransport(ep Endpoint, t *TLS, insecure bool) error {
	switch {
	case t != nil && !ep.IsRemote():
		return fmt.Errorf("--tls-* flags apply only to tcp:// endpoints, not %s", ep.String())
	case insecure && !ep.IsRemote():
		return fmt.Errorf("--insecure applies only to tcp:// endpoints, not %s", ep.String())
	case insecure && t != nil:
		return errors.New("--insecure and --tls-* exclude each other: with TLS material the node is verified, so drop --insecure")
	case ep.IsRemote() && t == nil && !insecure:
		return fmt.Errorf("%s is reached over TCP, which needs mutual TLS: pass --tls-ca, --tls-cert and --tls-key (%s), or --insecure to accept an unencrypted, unauthenticated connection that anyone who can reach the port can use", ep.String(), certsHint)
	}
	if t == nil {
		return nil
	}
	if m := t.missing(); len(m) > 0 {
		return fmt.Errorf("TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: %s", strings.Join(m, ", "))
	}
	if flag, p := t.relativePath(); p != "" {
		return fmt.Errorf("%s %s: give an absolute path (the registry is read from any directory)", flag, p)
	}
	return nil
}

// TLSMaterial is a node's client TLS material, read from its files and
// checked once (LoadTLS). One operation hands the same value to every
// consumer: the health check's handshake, the engine's probe
// (ClientConfig) and a docker context (the PEM bytes), so the files are
// read once and every consumer uses what was checked.
type TLSMaterial struct {
	// Files are where the material was read from, for messages; its
	// ServerName is the one given, if any.
	Files TLS
	// CA, Cert and Key are the PEM contents of the three files as read.
	CA, Cert, Key []byte
	// Info describes the certificates, with expiry warnings.
	Info TLSInfo

	roots  *x509.CertPool
	client tls.Certificate
}

// CheckTLS validates client TLS material as of now (see LoadTLS) and
// describes it.
func CheckTLS(t TLS, now time.Time) (*TLSInfo, error) {
	m, err := LoadTLS(t, now)
	if err != nil {
		return nil, err
	}
	return &m.Info, nil
}

// LoadTLS reads and validates client TLS material as of now: the three
// files exist and are readable, hold PEM certificates and an RSA, ECDSA or
// Ed25519 key, the key is private to its owner and matches the client
// certificate, and the client certificate is valid and chains to the CA for
// client authentication. Certificates expiring within ExpiryWarning are
// reported in Info.Warnings. Errors name the flag and the file, never
// contents.
func LoadTLS(t TLS, now time.Time) (*TLSMaterial, error) {
	if m := t.missing(); len(m) > 0 {
		return nil, fmt.Errorf("TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: %s", strings.Join(m, ", "))
	}
	caFile, certFile, keyFile := tlsFile{"--tls-ca", t.CA}, tlsFile{"--tls-cert", t.Cert}, tlsFile{"--tls-key", t.Key}
	caPEM, cas, err := readCerts(caFile)
	if err != nil {
		return nil, err
	}
	certPEM, chain, err := readCerts(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("--tls-key %s does not belong to the certificate in --tls-cert %s: pass the key that was generated with that certificate (%s)", t.Key, t.Cert, certsHint)
	}
	if err := checkValidity(certFile, "client certificate", leaf, now); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, verifyClientError(caFile, certFile, cas, err, now)
	}
	ca := chains[0][len(chains[0])-1]
	m := &TLSMaterial{
		Files:  t,
		CA:     caPEM,
		Cert:   certPEM,
		Key:    keyPEM,
		roots:  roots,
		client: tls.Certificate{Certificate: derChain(chain), PrivateKey: key, Leaf: leaf},
		Info: TLSInfo{
			CASubject:      ca.Subject.String(),
			CANotAfter:     ca.NotAfter,
			ClientSubject:  leaf.Subject.String(),
			ClientNotAfter: leaf.NotAfter,
		},
	}
	if w := expiryWarning(certFile, "client certificate", leaf.NotAfter, now); w != "" {
		m.Info.Warnings = append(m.Info.Warnings, w)
	}
	if w := expiryWarning(caFile, "CA certificate", ca.NotAfter, now); w != "" {
		m.Info.Warnings = append(m.Info.Warnings, w)
	}
	return m, nil
}

// ClientConfig returns a new TLS client configuration from the material:
// the CA as the only root, the client certificate, serverName to verify,
// TLS 1.2 or later, and now as the clock for certificate validity (nil
// means time.Now). Callers add their own ALPN protocols.
func (m *TLSMaterial) ClientConfig(serverName string, now func() time.Time) *tls.Config {
	return &tls.Config{
		RootCAs:      m.roots,
		Certificates: []tls.Certificate{m.client},
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
		Time:         now,
	}
}

// signs reports whether cert chains to the material's CA.
func (m *TLSMaterial) signs(cert *x509.Certificate) bool {
	_, err := cert.Verify(x509.VerifyOptions{Roots: m.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

func derChain(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

func checkValidity(f tlsFile, what string, c *x509.Certificate, now time.Time) error {
	if now.After(c.NotAfter) {
		return fmt.Errorf("%s %s: the %s expired on %s: generate new certificates with xbuild nodes certs and update the node (xbuild nodes rm, then xbuild nodes add)", f.flag, f.path, what, day(c.NotAfter))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%s %s: the %s is not valid before %s: check this machine's clock", f.flag, f.path, what, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

func verifyClientError(caFile, certFile tlsFile, cas []*x509.Certificate, err error, now time.Time) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("--tls-cert %s is not signed by the CA in --tls-ca %s: pass the CA and client certificate that were generated together (%s)", certFile.path, caFile.path, certsHint)
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return fmt.Errorf("--tls-cert %s is not a client certificate (its extended key usage does not allow client authentication): is it the server certificate? %s", certFile.path, certsHint)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		for _, c := range cas {
			if err := checkValidity(caFile, "CA certificate", c, now); err != nil {
				return err
			}
		}
		return fmt.Errorf("--tls-cert %s: a certificate in its chain is outside its validity period (%v): generate new certificates with xbuild nodes certs", certFile.path, invalid)
	}
	return fmt.Errorf("--tls-cert %s does not verify against --tls-ca %s: %v", certFile.path, caFile.path, err)
}

func expiryWarning(f tlsFile, what string, notAfter, now time.Time) string {
	left := notAfter.Sub(now)
	if left > ExpiryWarning {
		return ""
	}
	return fmt.Sprintf("%s %s: the %s expires on %s (in %s): renew it with xbuild nodes certs", f.flag, f.path, what, day(notAfter), daysLeft(left))
}

func daysLeft(d time.Duration) string {
	days := int(d.Hours() / 24)
	switch days {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// readFile reads one TLS file with errors that name the flag and the file.
// Key files must not be readable by group or others.
func readFile(f tlsFile, private bool) ([]byte, error) {
	st, err := os.Stat(f.path)
	if err != nil {
		return nil, fileError(f, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s %s is a directory: pass the PEM file in it (%s)", f.flag, f.path, certsHint)
	}
	if private && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s can be read by other users (mode %04o): run chmod 600 %s", f.flag, f.path, st.Mode().Perm(), f.path)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fileError(f, err)
	}
	return b, nil
}

func fileError(f tlsFile, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist: check the path (%s)", f.flag, f.path, certsHint)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s %s cannot be read by this user: check its owner and mode (ls -l %s)", f.flag, f.path, f.path)
	}
	return fmt.Errorf("%s %s cannot be read: %v", f.flag, f.path, errors.Unwrap(err))
}

// readCerts reads the PEM certificates of a file, leaf first, and returns
// the file's contents with them.
func readCerts(f tlsFile) ([]byte, []*x509.Certificate, error) {
	data, err := readFile(f, false)
	if err != nil {
		return nil, nil, err
	}
	certs, err := parseCerts(f, data)
	return data, certs, err
}

func parseCerts(f tlsFile, b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	var other []string
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			other = append(other, blk.Type)
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s holds a certificate that does not parse (%v): regenerate it (%s)", f.flag, f.path, err, certsHint)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		if len(other) > 0 {
			return nil, fmt.Errorf("%s %s holds a PEM %q block, not a certificate: %s", f.flag, f.path, other[0], certsHint)
		}
		return nil, fmt.Errorf("%s %s holds no PEM certificate (-----BEGIN CERTIFICATE-----): %s", f.flag, f.path, certsHint)
	}
	return certs, nil
}

// readKey reads the first PEM private key of a file: PKCS#8, PKCS#1 (RSA)
// or SEC 1 (EC), and returns the file's contents with it. Encrypted keys
// are refused: buildx cannot prompt for them.
func readKey(f tlsFile) ([]byte, crypto.Signer, error) {
	data, err := readFile(f, true)
	if err != nil {
		return nil, nil, err
	}
	key, err := parseKey(f, data)
	return data, key, err
}

func parseKey(f tlsFile, b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if !strings.HasSuffix(blk.Type, "PRIVATE KEY") {
			continue
		}
		if blk.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("%s %s is encrypted with a passphrase: buildx cannot use it; write an unencrypted copy (openssl pkey -in %s -out key.pem) and chmod 600 it", f.flag, f.path, f.path)
		}
		var key any
		var err error
		switch blk.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		}
		if err != nil {
			// The parse error never contains key material, only its shape.
			return nil, fmt.Errorf("%s %s holds a PEM %q block that does not parse: regenerate it (%s)", f.flag, f.path, blk.Type, certsHint)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("%s %s holds a %T key: use an RSA, ECDSA or Ed25519 key", f.flag, f.path, key)
	}
	return nil, fmt.Errorf("%s %s holds no PEM private key (-----BEGIN ... PRIVATE KEY-----): is it the certificate? %s", f.flag, f.path, certsHint)
}

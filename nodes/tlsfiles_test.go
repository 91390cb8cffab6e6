package nodes

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const hint = "xbuild nodes certs --out DIR --host HOST writes a matching set: pass DIR/client/ca.pem, DIR/client/cert.pem and DIR/client/key.pem"

func TestCheckTLSGenerated(t *testing.T) {
	t.Parallel()
	fx := writeCerts(t, t0, 365, "arm1.example.com")
	info, err := CheckTLS(fx.tls, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := TLSInfo{
		CASubject:      "CN=xbuild node CA,O=xbuild",
		CANotAfter:     fx.set.NotAfter.Truncate(time.Second),
		ClientSubject:  "CN=xbuild-client,O=xbuild",
		ClientNotAfter: fx.set.NotAfter.Truncate(time.Second),
	}
	if info.CASubject != want.CASubject || info.ClientSubject != want.ClientSubject ||
		!info.CANotAfter.Equal(want.CANotAfter) || !info.ClientNotAfter.Equal(want.ClientNotAfter) || len(info.Warnings) != 0 {
		t.Errorf("CheckTLS = %+v\nwant %+v", *info, want)
	}
}

// LoadTLS keeps the files' contents as read (for a docker context) and
// builds client configurations from what it parsed (for handshakes).
func TestLoadTLSMaterial(t *testing.T) {
	t.Parallel()
	fx := writeCerts(t, t0, 365, "arm1.example.com")
	files := fx.tls
	files.ServerName = "arm1.internal"
	m, err := LoadTLS(files, t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Files != files || string(m.CA) != string(fx.set.CACert) || string(m.Cert) != string(fx.set.ClientCert) || string(m.Key) != string(fx.set.ClientKey) {
		t.Errorf("material does not hold the files as read: %+v", m.Files)
	}
	clock := func() time.Time { return t0 }
	cfg := m.ClientConfig("arm1.internal", clock)
	ca, _ := x509.ParseCertificate(pemDER(t, fx.set.CACert))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if !cfg.RootCAs.Equal(roots) || cfg.ServerName != "arm1.internal" || cfg.MinVersion != tls.VersionTLS12 || !cfg.Time().Equal(t0) || cfg.NextProtos != nil {
		t.Errorf("ClientConfig = %+v", cfg)
	}
	if len(cfg.Certificates) != 1 || string(cfg.Certificates[0].Certificate[0]) != string(pemDER(t, fx.set.ClientCert)) || cfg.Certificates[0].PrivateKey == nil {
		t.Errorf("ClientConfig certificates = %+v", cfg.Certificates)
	}
	// every call is a new configuration: callers set their own protocols
	if other := m.ClientConfig("x", nil); other == cfg || other.ServerName != "x" || cfg.ServerName != "arm1.internal" {
		t.Error("ClientConfig shares its result between calls")
	}
}

func pemDER(t *testing.T, b []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}

func TestCheckTLSExpiry(t *testing.T) {
	t.Parallel()
	fx := writeCerts(t, t0, 40, "arm1") // valid t0-5m .. t0+40d
	tests := []struct {
		name     string
		now      time.Time
		warnings []string
		err      string
	}{
		{name: "fresh", now: t0},
		{name: "31 days left", now: t0.Add(9 * 24 * time.Hour)},
		{name: "12 days left", now: t0.Add(28 * 24 * time.Hour), warnings: []string{
			"--tls-cert CERT: the client certificate expires on 2026-04-10 (in 12 days): renew it with xbuild nodes certs",
			"--tls-ca CA: the CA certificate expires on 2026-04-10 (in 12 days): renew it with xbuild nodes certs",
		}},
		{name: "hours left", now: t0.Add(40*24*time.Hour - 2*time.Hour), warnings: []string{
			"--tls-cert CERT: the client certificate expires on 2026-04-10 (in less than a day): renew it with xbuild nodes certs",
			"--tls-ca CA: the CA certificate expires on 2026-04-10 (in less than a day): renew it with xbuild nodes certs",
		}},
		{name: "expired", now: t0.Add(41 * 24 * time.Hour), err: "--tls-cert CERT: the client certificate expired on 2026-04-10: generate new certificates with xbuild nodes certs and update the node (xbuild nodes rm, then xbuild nodes add)"},
		{name: "clock behind", now: t0.Add(-time.Hour), err: "--tls-cert CERT: the client certificate is not valid before 2026-03-01T11:55:00Z: check this machine's clock"},
	}
	for _, tt := range tests {
		info, err := CheckTLS(fx.tls, tt.now)
		r := strings.NewReplacer(fx.tls.Cert, "CERT", fx.tls.CA, "CA")
		if got := r.Replace(errString(err)); got != tt.err {
			t.Errorf("%s: error = %q\nwant %q", tt.name, got, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		var got []string
		for _, w := range info.Warnings {
			got = append(got, r.Replace(w))
		}
		assertStrings(t, got, tt.warnings)
	}
}

func TestCheckTLSKeyTypes(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, t0.Add(-time.Hour), t0.Add(24*time.Hour*365))
	for _, tt := range []struct{ kind, format string }{
		{"rsa", "pkcs1"}, {"rsa", "pkcs8"}, {"ecdsa", "sec1"}, {"ecdsa", "pkcs8"}, {"ed25519", "pkcs8"},
	} {
		dir := t.TempDir()
		key := newKey(t, tt.kind)
		tlsFiles := TLS{
			CA:   writeFile(t, filepath.Join(dir, "ca.pem"), pemBlock("CERTIFICATE", ca.cert.Raw), 0o644),
			Cert: writeFile(t, filepath.Join(dir, "cert.pem"), ca.leaf(t, key, t0.Add(-time.Hour), t0.Add(24*time.Hour*300), []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}), 0o644),
			Key:  writeFile(t, filepath.Join(dir, "key.pem"), keyPEM(t, key, tt.format), 0o600),
		}
		info, err := CheckTLS(tlsFiles, t0)
		if err != nil {
			t.Errorf("%s/%s: %v", tt.kind, tt.format, err)
			continue
		}
		if info.CASubject != "CN=test CA" || info.ClientSubject != "CN=test client" {
			t.Errorf("%s/%s: info = %+v", tt.kind, tt.format, info)
		}
	}
}

func TestCheckTLSErrors(t *testing.T) {
	t.Parallel()
	good := writeCerts(t, t0, 365, "arm1")
	other := writeCerts(t, t0, 365, "arm1")
	ca := newTestCA(t, t0.Add(-time.Hour), t0.Add(24*time.Hour*365))
	expiredCA := newTestCA(t, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	dir := t.TempDir()
	key := newKey(t, "ecdsa")
	keyFile := writeFile(t, filepath.Join(dir, "key.pem"), keyPEM(t, key, "pkcs8"), 0o600)
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), pemBlock("CERTIFICATE", ca.cert.Raw), 0o644)
	anyEKU := writeFile(t, filepath.Join(dir, "any.pem"), ca.leaf(t, key, t0.Add(-time.Hour), t0.Add(24*time.Hour*300), []x509.ExtKeyUsage{x509.ExtKeyUsageAny}), 0o644)
	noEKU := writeFile(t, filepath.Join(dir, "noeku.pem"), ca.leaf(t, key, t0.Add(-time.Hour), t0.Add(24*time.Hour*300), nil), 0o644)
	fromExpiredCA := writeFile(t, filepath.Join(dir, "fromexpired.pem"), expiredCA.leaf(t, key, t0.Add(-30*time.Hour), t0.Add(24*time.Hour*300), []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}), 0o644)
	expiredCAFile := writeFile(t, filepath.Join(dir, "expiredca.pem"), pemBlock("CERTIFICATE", expiredCA.cert.Raw), 0o644)
	looseKey := writeFile(t, filepath.Join(dir, "loose.pem"), keyPEM(t, key, "pkcs8"), 0o640)
	keyAsCA := writeFile(t, filepath.Join(dir, "ca-key.pem"), keyPEM(t, key, "sec1"), 0o600)
	garbage := writeFile(t, filepath.Join(dir, "garbage.pem"), []byte("hello\n"), 0o600)
	encrypted := writeFile(t, filepath.Join(dir, "enc.pem"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600)
	legacyEnc := writeFile(t, filepath.Join(dir, "enc2.pem"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1, 2, 3}}), 0o600)
	secret := []byte("TOPSECRETKEYMATERIAL")
	corruptKey := writeFile(t, filepath.Join(dir, "corrupt.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: secret}), 0o600)
	missing := filepath.Join(dir, "nope.pem")

	tests := []struct {
		name string
		tls  TLS
		err  string
	}{
		{name: "any eku", tls: TLS{CA: caFile, Cert: anyEKU, Key: keyFile}},
		{name: "no eku", tls: TLS{CA: caFile, Cert: noEKU, Key: keyFile}},
		{name: "missing all", tls: TLS{}, err: "TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: --tls-ca, --tls-cert, --tls-key"},
		{name: "missing key", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert}, err: "TLS needs all three of --tls-ca, --tls-cert and --tls-key; missing: --tls-key"},
		{name: "ca does not exist", tls: TLS{CA: missing, Cert: good.tls.Cert, Key: good.tls.Key}, err: "--tls-ca " + missing + " does not exist: check the path (" + hint + ")"},
		{name: "key does not exist", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: missing}, err: "--tls-key " + missing + " does not exist: check the path (" + hint + ")"},
		{name: "ca is a dir", tls: TLS{CA: dir, Cert: good.tls.Cert, Key: good.tls.Key}, err: "--tls-ca " + dir + " is a directory: pass the PEM file in it (" + hint + ")"},
		{name: "key readable by group", tls: TLS{CA: caFile, Cert: anyEKU, Key: looseKey}, err: "--tls-key " + looseKey + " can be read by other users (mode 0640): run chmod 600 " + looseKey},
		{name: "ca file holds a key", tls: TLS{CA: keyAsCA, Cert: good.tls.Cert, Key: good.tls.Key}, err: "--tls-ca " + keyAsCA + ` holds a PEM "EC PRIVATE KEY" block, not a certificate: ` + hint},
		{name: "cert file is garbage", tls: TLS{CA: good.tls.CA, Cert: garbage, Key: good.tls.Key}, err: "--tls-cert " + garbage + " holds no PEM certificate (-----BEGIN CERTIFICATE-----): " + hint},
		{name: "key file holds a cert", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: writeFile(t, filepath.Join(dir, "certaskey.pem"), good.set.ClientCert, 0o600)}, err: "--tls-key " + filepath.Join(dir, "certaskey.pem") + " holds no PEM private key (-----BEGIN ... PRIVATE KEY-----): is it the certificate? " + hint},
		{name: "encrypted pkcs8", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: encrypted}, err: "--tls-key " + encrypted + " is encrypted with a passphrase: buildx cannot use it; write an unencrypted copy (openssl pkey -in " + encrypted + " -out key.pem) and chmod 600 it"},
		{name: "encrypted legacy", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: legacyEnc}, err: "--tls-key " + legacyEnc + " is encrypted with a passphrase: buildx cannot use it; write an unencrypted copy (openssl pkey -in " + legacyEnc + " -out key.pem) and chmod 600 it"},
		{name: "corrupt key", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: corruptKey}, err: "--tls-key " + corruptKey + ` holds a PEM "PRIVATE KEY" block that does not parse: regenerate it (` + hint + ")"},
		{name: "key of another cert", tls: TLS{CA: good.tls.CA, Cert: good.tls.Cert, Key: other.tls.Key}, err: "--tls-key " + other.tls.Key + " does not belong to the certificate in --tls-cert " + good.tls.Cert + ": pass the key that was generated with that certificate (" + hint + ")"},
		{name: "cert from another CA", tls: TLS{CA: other.tls.CA, Cert: good.tls.Cert, Key: good.tls.Key}, err: "--tls-cert " + good.tls.Cert + " is not signed by the CA in --tls-ca " + other.tls.CA + ": pass the CA and client certificate that were generated together (" + hint + ")"},
		{name: "server cert as client cert", tls: TLS{CA: good.tls.CA, Cert: filepath.Join(good.dir, "server", "cert.pem"), Key: filepath.Join(good.dir, "server", "key.pem")}, err: "--tls-cert " + filepath.Join(good.dir, "server", "cert.pem") + " is not a client certificate (its extended key usage does not allow client authentication): is it the server certificate? " + hint},
		{name: "expired CA", tls: TLS{CA: expiredCAFile, Cert: fromExpiredCA, Key: keyFile}, err: "--tls-ca " + expiredCAFile + ": the CA certificate expired on 2026-02-28: generate new certificates with xbuild nodes certs and update the node (xbuild nodes rm, then xbuild nodes add)"},
	}
	for _, tt := range tests {
		_, err := CheckTLS(tt.tls, t0)
		if got := errString(err); got != tt.err {
			t.Errorf("%s: error = %q\nwant %q", tt.name, got, tt.err)
		}
		if strings.Contains(errString(err), string(secret)) || strings.Contains(errString(err), "BEGIN EC PRIVATE") {
			t.Errorf("%s: error leaks key material: %v", tt.name, err)
		}
	}
}

func TestCheckTLSUnreadableKey(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	fx := writeCerts(t, t0, 365, "arm1")
	if err := os.Chmod(fx.tls.Key, 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := CheckTLS(fx.tls, t0)
	want := "--tls-key " + fx.tls.Key + " cannot be read by this user: check its owner and mode (ls -l " + fx.tls.Key + ")"
	if errString(err) != want {
		t.Errorf("error = %q\nwant %q", errString(err), want)
	}
}

package nodes

import (
	"crypto/x509"
	"encoding/pem"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// --days is 1 to 3650: a larger count overflowed time.Duration and
// produced certificates that had expired before they were written (issue
// 18, item 9).
func TestGenerateCertsBoundsDays(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		days int
		err  string
	}{
		{0, "--days 0: must be at least 1"},
		{-5, "--days -5: must be at least 1"},
		{3651, "--days 3651: must be at most 3650 (10 years); make new certificates when these expire"},
		{106752, "--days 106752: must be at most 3650 (10 years); make new certificates when these expire"},
		{1 << 40, "--days 1099511627776: must be at most 3650 (10 years); make new certificates when these expire"},
		{math.MaxInt, "--days 9223372036854775807: must be at most 3650 (10 years); make new certificates when these expire"},
	} {
		if _, err := GenerateCerts(CertOptions{Hosts: []string{"arm1"}, Days: tc.days, Now: now}); errString(err) != tc.err {
			t.Errorf("Days %d: error %q, want %q", tc.days, errString(err), tc.err)
		}
	}
	for _, days := range []int{1, 3650} {
		set, err := GenerateCerts(CertOptions{Hosts: []string{"arm1"}, Days: days, Now: now})
		if err != nil {
			t.Fatalf("Days %d: %v", days, err)
		}
		if want := now.AddDate(0, 0, days); !set.NotAfter.Equal(want) {
			t.Errorf("Days %d: NotAfter %s, want %s", days, set.NotAfter, want)
		}
		if got := parsePEMCert(t, set.ServerCert).NotAfter; !got.Equal(now.AddDate(0, 0, days)) {
			t.Errorf("Days %d: server certificate NotAfter %s", days, got)
		}
	}
}

func TestGenerateCertsChecksHosts(t *testing.T) {
	t.Parallel()
	const help = ": use the node's DNS name (letters, digits and '-' in dot-separated labels of 1 to 63 characters) or its IP address, as xbuild will dial it"
	tests := []struct{ host, err string }{
		{"", `--host "" is not a DNS name or IP address (empty)` + help},
		{"a..b", `--host "a..b" is not a DNS name or IP address (empty label)` + help},
		{"node1.example.com.", `--host "node1.example.com." is not a DNS name or IP address (empty label)` + help},
		{"-a.example.com", `--host "-a.example.com" is not a DNS name or IP address (label "-a" starts or ends with '-')` + help},
		{"a_b.example.com", `--host "a_b.example.com" is not a DNS name or IP address (contains '_')` + help},
		{"node 1", `--host "node 1" is not a DNS name or IP address (contains ' ')` + help},
		{strings.Repeat("a", 64) + ".example.com", `--host "` + strings.Repeat("a", 64) + `.example.com" is not a DNS name or IP address (label "` + strings.Repeat("a", 64) + `" is longer than 63 characters)` + help},
		{"10.0.0.256", `--host "10.0.0.256" is not a DNS name or IP address (not an IPv4 address, and a DNS name does not end in a number)` + help},
		{"*.example.com", `--host "*.example.com": wildcards are not accepted; name each node (a wildcard certificate would let any host of the domain pose as this node)`},
		{"node.*.com", `--host "node.*.com": wildcards are not accepted; name each node (a wildcard certificate would let any host of the domain pose as this node)`},
		{"[::1]", `--host "[::1]": write an IPv6 address without brackets (--host ::1)`},
		{"fe80::1%eth0", `--host "fe80::1%eth0": a certificate cannot name an IPv6 zone; write the address alone (--host fe80::1)`},
		{"tcp://node1:1234", `--host "tcp://node1:1234" is not a DNS name or IP address (contains ':')` + help},
	}
	for _, tc := range tests {
		if _, err := GenerateCerts(CertOptions{Hosts: []string{"ok.example.com", tc.host}, Days: 1}); errString(err) != tc.err {
			t.Errorf("--host %q: error\n %q\nwant\n %q", tc.host, errString(err), tc.err)
		}
	}

	set, err := GenerateCerts(CertOptions{Hosts: []string{"node1.example.com", "10.0.0.5", "localhost", "::1", "Arm1.Example.COM", "1node"}, Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := parsePEMCert(t, set.ServerCert)
	if want := []string{"node1.example.com", "localhost", "Arm1.Example.COM", "1node"}; !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNS SANs %q, want %q", c.DNSNames, want)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP SANs %v", c.IPAddresses)
	}
}

// Write with force reports, per file, what it replaced: the CA that every
// node and client trusted is named by its serial number and expiry.
func TestWriteForceReportsReplacedCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old, err := GenerateCerts(CertOptions{Hosts: []string{"arm1"}, Days: 30, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	files, err := old.Write(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Replaced != "" {
			t.Errorf("first write: %s replaced %q", f.Path, f.Replaced)
		}
	}
	// a stray, unreadable CA key and a missing client key
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "client", "key.pem")); err != nil {
		t.Fatal(err)
	}
	set, err := GenerateCerts(CertOptions{Hosts: []string{"arm1"}, Days: 30, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	files, err = set.Write(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	oldCA := parsePEMCert(t, old.CACert)
	wantCA := "CA certificate \"xbuild node CA\", serial " + strings.ToLower(oldCA.SerialNumber.Text(16)) + ", valid until 2026-03-31"
	got := map[string]string{}
	for _, f := range files {
		got[strings.TrimPrefix(f.Path, dir+string(filepath.Separator))] = f.Replaced
	}
	want := map[string]string{
		"ca.pem":          wantCA,
		"ca-key.pem":      "a file",
		"server/ca.pem":   wantCA,
		"server/cert.pem": "a file",
		"server/key.pem":  "a file",
		"client/ca.pem":   wantCA,
		"client/cert.pem": "a file",
		"client/key.pem":  "",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: Replaced %q, want %q", p, got[p], w)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); string(b) != string(set.CACert) {
		t.Error("ca.pem was not replaced")
	}
}

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

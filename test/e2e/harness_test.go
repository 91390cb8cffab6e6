//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestHarnessXbuildVersion: the binary under test runs in the harness environment.
func TestHarnessXbuildVersion(t *testing.T) {
	stdout, stderr, code := runXbuild(t, nil, "version")
	if code != 0 {
		t.Fatalf("xbuild version: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.TrimSpace(stdout) == "" {
		t.Fatalf("xbuild version printed nothing on stdout (stderr: %q)", stderr)
	}
}

// TestHarnessPushRegistryAuth: the push registry answers over TLS (farm CA), accepts the credentials of the
// per-test docker config copy and refuses anonymous and wrong-password requests.
func TestHarnessPushRegistryAuth(t *testing.T) {
	e := envFor(t)
	reg, err := name.NewRegistry(farm.Registry.Push)
	if err != nil {
		t.Fatal(err)
	}
	tr := farmTransport(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	auth := dockerConfigAuth(t, e.DockerConfig, farm.Registry.Push)
	if _, err := remote.Catalog(ctx, reg, remote.WithAuth(auth), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
		t.Fatalf("catalog of %s with the docker-config credentials: %v", reg, err)
	}

	for what, a := range map[string]authn.Authenticator{
		"anonymous":      authn.Anonymous,
		"wrong password": &authn.Basic{Username: farm.Registry.User, Password: registryPassword(t) + "x"},
	} {
		_, err := remote.Catalog(ctx, reg, remote.WithAuth(a), remote.WithTransport(tr), remote.WithContext(ctx))
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
			t.Errorf("catalog of %s as %s: want HTTP 401, got %v", reg, what, err)
		}
	}
}

// farmTransport trusts the farm CA bundle (what SSL_CERT_FILE gives xbuild).
func farmTransport(t *testing.T) http.RoundTripper {
	t.Helper()
	pem, err := os.ReadFile(farm.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificates", farm.CABundle)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr
}

// dockerConfigAuth reads the basic-auth entry for host from DIR/config.json (docker's "auths" format).
func dockerConfigAuth(t *testing.T, dir, host string) authn.Authenticator {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s/config.json: %v", dir, err)
	}
	entry, ok := cfg.Auths[host]
	if !ok {
		t.Fatalf("%s/config.json has no auth entry for %s", dir, host)
	}
	raw, err := base64.StdEncoding.DecodeString(entry.Auth)
	if err != nil {
		t.Fatalf("%s/config.json: auth for %s: %v", dir, host, err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("%s/config.json: auth for %s is not user:password", dir, host)
	}
	return &authn.Basic{Username: user, Password: pass}
}

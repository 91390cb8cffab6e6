//go:build e2e

// Package e2e runs xbuild against the local build farm (hack/farm). Start the farm first
// (`make farm-up`, as root) or use `make e2e`, which starts it, runs these tests and stops it.
//
//	XBUILD_BIN        the xbuild binary under test (required; `make e2e` sets it)
//	XBUILD_FARM_DIR   the farm directory (default /var/tmp/xbuild-farm); its farm.json describes the farm
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const defaultFarmDir = "/var/tmp/xbuild-farm"

// Farm is $XBUILD_FARM_DIR/farm.json, written by hack/farm/up.sh.
type Farm struct {
	Dir      string `json:"dir"`
	CABundle string `json:"caBundle"` // system CAs + farm CA, used as SSL_CERT_FILE
	Certs    struct {
		Dir           string `json:"dir"`
		CA            string `json:"ca"`
		ClientDir     string `json:"clientDir"` // ca.pem cert.pem key.pem (DOCKER_CERT_PATH layout)
		ClientCA      string `json:"clientCA"`
		ClientCert    string `json:"clientCert"`
		ClientKey     string `json:"clientKey"`
		ServerName    string `json:"serverName"`
		SkopeoCertDir string `json:"skopeoCertDir"`
	} `json:"certs"`
	// Nodes: every native node (amd64, amd64b, arm64, arm64b) runs in its own
	// network namespace and can be cut with hack/farm/netns.sh (see netns);
	// the qemu node is on loopback.
	Nodes struct {
		AMD64  FarmNode `json:"amd64"`
		AMD64B FarmNode `json:"amd64b"` // a second amd64 node
		ARM64  FarmNode `json:"arm64"`
		ARM64B FarmNode `json:"arm64b"` // a second arm64 node
		QEMU   FarmNode `json:"qemu"`
	} `json:"nodes"`
	Registry struct {
		Push           string `json:"push"`   // registry.xbuild.test:15001, TLS + basic auth
		Mirror         string `json:"mirror"` // registry.xbuild.test:15000, TLS, no auth, docker.io mirror
		PushLoopback   string `json:"pushLoopback"`
		MirrorLoopback string `json:"mirrorLoopback"`
		// Faulty is the fault proxy in front of Push (registry.xbuild.test:15002,
		// TLS, the same credentials); FaultAdmin is its admin API
		// (http://127.0.0.1:15003), see armFault.
		Faulty         string `json:"faulty"`
		FaultyLoopback string `json:"faultyLoopback"`
		FaultAdmin     string `json:"faultAdmin"`
		User           string `json:"user"`
		PasswordFile   string `json:"passwordFile"`
	} `json:"registry"`
	Images struct {
		Busybox            string `json:"busybox"`
		Golang             string `json:"golang"`
		DockerfileFrontend string `json:"dockerfileFrontend"`
		// SBOMGenerator is hack/sbom's image (BuildKit's SBOM generator
		// protocol over syft), for --sbom-generator; "" on an older farm.
		SBOMGenerator string `json:"sbomGenerator"`
	} `json:"images"`
	Docker          *FarmDocker `json:"docker,omitempty"` // nil when the farm runs without its docker node
	DockerConfigDir string      `json:"dockerConfigDir"`
	Hadolint        string      `json:"hadolint"` // "" when unavailable
	Cosign          string      `json:"cosign"`   // the real cosign CLI; "" on an older farm
	Buildctl        string      `json:"buildctl"`
	Buildx          string      `json:"buildx"` // standalone buildx at the version xbuild embeds
	Buildkitd       string      `json:"buildkitd"`
	BuildkitVersion string      `json:"buildkitVersion"`
}

// FarmNode is one BuildKit daemon of the farm (mTLS with the farm's client certificate).
type FarmNode struct {
	Endpoint  string   `json:"endpoint"`
	Platforms []string `json:"platforms"`
	Socket    string   `json:"socket"`
	Netns     string   `json:"netns,omitempty"`    // native nodes only
	HostVeth  string   `json:"hostVeth,omitempty"` // native nodes only: hack/farm/netns.sh cut|drop|restore NODE
}

// FarmDocker is the farm's private dockerd (TLS on Endpoint, client certs in Certs.ClientDir).
type FarmDocker struct {
	Endpoint      string `json:"endpoint"`
	Socket        string `json:"socket"`
	CertPath      string `json:"certPath"`
	BuildkitImage string `json:"buildkitImage"`
	// BuildkitdConfig is the buildkitd.toml for BuildKit containers on this
	// engine (the farm's mirror and CA).
	BuildkitdConfig string `json:"buildkitdConfig"`
	DriverOpts      string `json:"driverOpts"`
}

var (
	farm      *Farm  // loaded once by TestMain
	xbuildBin string // absolute path of the binary under test
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	bin := os.Getenv("XBUILD_BIN")
	if bin == "" {
		return fmt.Errorf("XBUILD_BIN is not set: point it at the xbuild binary to test (make e2e sets it to bin/xbuild)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return fmt.Errorf("XBUILD_BIN=%s: %v", bin, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return fmt.Errorf("XBUILD_BIN=%s: %v (run make build)", bin, err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("XBUILD_BIN=%s is not an executable file", bin)
	}
	xbuildBin = abs

	dir := os.Getenv("XBUILD_FARM_DIR")
	if dir == "" {
		dir = defaultFarmDir
	}
	f, err := loadFarm(dir)
	if err != nil {
		return err
	}
	farm = f
	return nil
}

func loadFarm(dir string) (*Farm, error) {
	p := filepath.Join(dir, "farm.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading the farm description: %v (start the farm with: sudo make farm-up)", err)
	}
	var f Farm
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	for what, path := range map[string]string{
		"caBundle": f.CABundle, "certs.ca": f.Certs.CA, "certs.clientCert": f.Certs.ClientCert,
		"certs.clientKey": f.Certs.ClientKey, "dockerConfigDir": f.DockerConfigDir,
	} {
		if path == "" {
			return nil, fmt.Errorf("%s: %s is empty", p, what)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: %s: %v (is the farm up? sudo make farm-up)", p, what, err)
		}
	}
	return &f, nil
}

// registryPassword reads the push registry's password (the file is 0600, root's).
func registryPassword(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(farm.Registry.PasswordFile)
	if err != nil {
		t.Fatalf("push registry password: %v", err)
	}
	return strings.TrimSpace(string(b))
}

//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// repoRoot is the repository root (this file is in test/e2e).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// farmNode returns the farm node for a short name: amd64, amd64b, arm64,
// arm64b or qemu.
func farmNode(t *testing.T, which string) FarmNode {
	t.Helper()
	switch which {
	case "amd64":
		return farm.Nodes.AMD64
	case "amd64b":
		return farm.Nodes.AMD64B
	case "arm64":
		return farm.Nodes.ARM64
	case "arm64b":
		return farm.Nodes.ARM64B
	case "qemu":
		return farm.Nodes.QEMU
	}
	t.Fatalf("no farm node %q", which)
	return FarmNode{}
}

// tlsArgs are the --tls-* flags for the farm's client certificate.
func tlsArgs() []string {
	return []string{"--tls-ca", farm.Certs.ClientCA, "--tls-cert", farm.Certs.ClientCert, "--tls-key", farm.Certs.ClientKey, "--tls-servername", farm.Certs.ServerName}
}

// farmNodeNames are the names addFarmNodes registers the farm's nodes under.
var farmNodeNames = map[string]string{"amd64": "amd1", "amd64b": "amd2", "arm64": "arm1", "arm64b": "arm2", "qemu": "qemu"}

// addFarmNodes registers farm nodes (amd64 -> amd1, amd64b -> amd2, arm64 ->
// arm1, arm64b -> arm2, qemu -> qemu, emulated) in builder.
func addFarmNodes(t *testing.T, builder string, which ...string) {
	t.Helper()
	for _, w := range which {
		n := farmNode(t, w)
		args := []string{"nodes", "add", farmNodeNames[w],
			"--endpoint", n.Endpoint, "--builder", builder}
		args = append(args, tlsArgs()...)
		if w == "qemu" {
			args = append(args, "--emulated", "--platform", "linux/amd64,linux/arm64")
		}
		if _, stderr, code := runXbuild(t, nil, args...); code != 0 {
			t.Fatalf("nodes add %s: exit %d\n%s", w, code, stderr)
		}
	}
}

// netns runs hack/farm/netns.sh ACTION NODE (cut, drop or restore one of
// the native nodes amd64, amd64b, arm64, arm64b) and, unless ACTION is
// restore, restores that node when the test ends.
func netns(t *testing.T, node, action string) {
	t.Helper()
	if farmNode(t, node).Netns == "" {
		t.Fatalf("the farm's %s node runs in no network namespace of its own: it cannot be cut", node)
	}
	if err := runNetns(t, node, action); err != nil {
		t.Fatal(err)
	}
	if action != "restore" {
		restoreOnCleanup(t, node)
	}
}

// runNetns runs hack/farm/netns.sh ACTION NODE.
func runNetns(t *testing.T, node, action string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot(t), "hack/farm/netns.sh"), action, node).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns.sh %s %s: %v\n%s", action, node, err, out)
	}
	return nil
}

// netnsRun is netns for goroutines (no t.Fatal) and without the cleanup:
// pair it with restoreOnCleanup.
func netnsRun(t *testing.T, node, action string) {
	if err := runNetns(t, node, action); err != nil {
		t.Error(err)
	}
}

// restoreOnCleanup brings node back when the test ends.
func restoreOnCleanup(t *testing.T, node string) {
	t.Cleanup(func() {
		if err := runNetns(t, node, "restore"); err != nil {
			t.Errorf("restoring the %s node: %v", node, err)
		}
	})
}

// uniqueRef is a fresh tag in the farm's push registry for this test.
func uniqueRef(t *testing.T, repo string) string {
	t.Helper()
	tag := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	if len(tag) > 100 {
		tag = tag[:100]
	}
	return fmt.Sprintf("%s/e2e/%s:%s-%d", farm.Registry.Push, repo, tag, time.Now().UnixNano()%1e9)
}

// registryOptions read the push registry with the farm's credentials and CA.
func registryOptions(t *testing.T) []remote.Option {
	t.Helper()
	return []remote.Option{
		remote.WithTransport(farmTransport(t)),
		remote.WithAuth(dockerConfigAuth(t, farm.DockerConfigDir, farm.Registry.Push)),
	}
}

// pushedImage is one platform of an index, read independently of xbuild.
type pushedImage struct {
	Platform string
	Image    v1.Image
	Config   *v1.ConfigFile
	Manifest *v1.Manifest
}

// readIndex returns the index digest and its non-attestation images by platform.
func readIndex(t *testing.T, ref string) (string, map[string]*pushedImage) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, registryOptions(t)...)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*pushedImage{}
	for _, d := range im.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		out[p] = &pushedImage{Platform: p, Image: img, Config: cf, Manifest: m}
	}
	return digest.String(), out
}

// attestationBlobs returns every layer of the index's attestation manifests.
func attestationBlobs(t *testing.T, ref string) [][]byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, registryOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range im.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no attestation layers: xbuild's builds always record provenance (mode=min)", ref)
	}
	return out
}

// flatFiles returns every regular file of the image's flattened filesystem.
func flatFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[path.Clean("/"+h.Name)] = b
		}
	}
	return files
}

// elfMachine parses a file's ELF header.
func elfMachine(t *testing.T, data []byte) elf.Machine {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	return f.Machine
}

// tagExists reports whether ref resolves in the registry.
func tagExists(t *testing.T, ref string) bool {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(r, registryOptions(t)...)
	var terr *transport.Error
	switch {
	case err == nil:
		return true
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return false
	}
	// an unreachable registry or refused credentials prove nothing either way
	t.Fatalf("cannot tell whether %s exists: %v", ref, err)
	return false
}

// writeDockerConfig writes a docker config dir whose push-registry auth is
// user:password, and returns it.
func writeDockerConfig(t *testing.T, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{farm.Registry.Push: map[string]string{"auth": basicAuth(user, password)}}}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func basicAuth(user, password string) string {
	a := authn.Basic{Username: user, Password: password}
	cfg, _ := a.Authorization()
	return cfg.Auth
}

// jsonReport decodes `xbuild build --report json` output.
type jsonReport struct {
	Refs      []string `json:"refs"`
	Digest    string   `json:"digest"`
	Pushed    bool     `json:"pushed"`
	Platforms []struct {
		Platform       string `json:"platform"`
		Node           string `json:"node"`
		Emulated       bool   `json:"emulated"`
		CompressedSize int64  `json:"compressedSize"`
	} `json:"platforms"`
	Steps []struct {
		Step    string  `json:"step"`
		Seconds float64 `json:"seconds"`
	} `json:"steps"`
	Verify *struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name     string `json:"name"`
			Platform string `json:"platform"`
			OK       bool   `json:"ok"`
		} `json:"checks"`
	} `json:"verify"`
}

func decodeReport(t *testing.T, stdout string) jsonReport {
	t.Helper()
	return decodeJSONReport[jsonReport](t, stdout)
}

// decodeJSONReport reads `--report json` output into the fields a test
// needs (T), failing the test when it is not JSON.
func decodeJSONReport[T any](t *testing.T, stdout string) T {
	t.Helper()
	var r T
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--report json output is not JSON: %v\n%s", err, stdout)
	}
	return r
}

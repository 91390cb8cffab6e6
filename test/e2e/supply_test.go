//go:build e2e

package e2e

// What a release needs from the build (issue 14), read back with tools
// other than xbuild: go-containerregistry for every manifest, config and
// layer, the real cosign CLI for the signatures, buildx imagetools for
// the SBOM, git for the labels.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// supplyReport is the part of --report json these tests read.
type supplyReport struct {
	Digest    string `json:"digest"`
	Published bool   `json:"published"`
	Platforms []struct {
		Platform string `json:"platform"`
		Node     string `json:"node"`
		Digest   string `json:"digest"`
	} `json:"platforms"`
	Verify *struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name     string `json:"name"`
			Platform string `json:"platform"`
			OK       bool   `json:"ok"`
			Detail   string `json:"detail"`
		} `json:"checks"`
	} `json:"verify"`
	Signed []struct {
		Platform   string `json:"platform"`
		Digest     string `json:"digest"`
		Signatures string `json:"signatures"`
	} `json:"signed"`
}

func decodeSupply(t *testing.T, stdout string) supplyReport {
	t.Helper()
	return decodeJSONReport[supplyReport](t, stdout)
}

// checksNamed lists the report's checks called name as "PLATFORM ok|FAIL DETAIL".
func (r supplyReport) checksNamed(name string) []string {
	var out []string
	if r.Verify == nil {
		return nil
	}
	for _, c := range r.Verify.Checks {
		if c.Name == name {
			res := "ok"
			if !c.OK {
				res = "FAIL"
			}
			out = append(out, c.Platform+" "+res+" "+c.Detail)
		}
	}
	return out
}

// everyBlob returns everything the registry holds for ref's index: the
// index, each manifest, each config, each layer compressed and
// uncompressed (attestations included), by a name for messages.
func everyBlob(t *testing.T, ref string) map[string][]byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, registryOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	out["index"] = raw
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := img.RawManifest()
		out["manifest "+d.Digest.String()] = m
		cfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		out["config of "+d.Digest.String()] = cfg
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range layers {
			for kind, open := range map[string]func() (io.ReadCloser, error){"compressed": l.Compressed, "uncompressed": l.Uncompressed} {
				rc, err := open()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf("layer %d of %s (%s)", i, d.Digest, kind)] = b
			}
		}
	}
	return out
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// A secret used by a RUN step reaches it (the image holds the hashes the
// step computed) and is nowhere else: not in any manifest, config, layer
// or attestation of the pushed index, not in stdout, stderr (with
// --debug), the dry run, the JSON report or the metadata file; verify's
// no-secret-leak check ran on both platforms.
func TestSupplySecretNeverLeaks(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	dir := t.TempDir()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	token := "xb-e2e-token-" + nonce
	netrcPassword := "xb-e2e-netrc-" + nonce
	netrc := "machine goproxy.corp.example login ci password " + netrcPassword + "\n"
	netrcFile := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrcFile, []byte(netrc), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := uniqueRef(t, "secret")
	meta := filepath.Join(dir, "metadata.json")
	ctxDir := filepath.Join(repoRoot(t), "test", "e2e", "testdata", "secret")
	env := map[string]string{"XB_E2E_TOKEN": token}
	args := []string{"build", ctxDir, "-t", ref, "--push", "--secret", "id=token,env=XB_E2E_TOKEN", "--secret", "id=netrc,src=" + netrcFile,
		"--build-arg", "E2E_RUN=" + nonce, "--report", "json", "--metadata-file", meta, "--progress", "plain"}

	dryOut, dryErr, code := runXbuild(t, env, append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(dryOut, "--secret id=token,env=XB_E2E_TOKEN --secret id=netrc,src="+netrcFile) {
		t.Fatalf("dry run: exit %d\n%s%s", code, dryOut, tail(dryErr, 20))
	}
	stdout, stderr, code := runXbuild(t, env, append([]string{"--debug"}, args...)...)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, tail(stderr, 40))
	}
	rep := decodeSupply(t, stdout)
	if !rep.Published {
		t.Fatalf("not published: %s", stdout)
	}
	leak := rep.checksNamed("no-secret-leak")
	if len(leak) < 2 || !strings.HasPrefix(leak[0], "linux/amd64 ok ") || !strings.Contains(strings.Join(leak, "\n"), "linux/arm64 ok ") {
		t.Errorf("no-secret-leak checks: %q", leak)
	}
	if !strings.Contains(stderr, "the step saw a "+strconv.Itoa(len(token))+"-byte token") {
		t.Errorf("the RUN step's output is not in the progress:\n%s", tail(stderr, 40))
	}

	// the step saw both secrets: the image holds their hashes
	_, images := readIndex(t, ref)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		files := flatFiles(t, images[p].Image)
		if got := strings.TrimSpace(string(files["/token.sha256"])); got != sha256Hex(token) {
			t.Errorf("%s /token.sha256 = %q, want the token's hash: the RUN step did not get the secret", p, got)
		}
		if got := strings.TrimSpace(string(files["/netrc.sha256"])); got != sha256Hex(netrc) {
			t.Errorf("%s /netrc.sha256 = %q, want the file's hash", p, got)
		}
	}

	metaJSON, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	places := everyBlob(t, ref)
	places["stdout"], places["stderr (--debug)"] = []byte(stdout), []byte(stderr)
	places["dry-run stdout"], places["dry-run stderr"] = []byte(dryOut), []byte(dryErr)
	places["metadata file"] = metaJSON
	for where, b := range places {
		for _, secret := range []string{token, netrcPassword} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a secret value is in %s", where)
			}
		}
	}
	t.Logf("secrets looked for in %d places (every manifest, config and layer of %s, and every output)", len(places), ref)
}

// A release build of examples/go-service: SBOMs from the farm's generator,
// max provenance, signed with a key made by the real cosign, labels from
// git. cosign verifies the signature and rejects the tag once it points at
// another image; buildx imagetools shows the SBOM of both platforms.
func TestSupplyReleaseSBOMSignLabels(t *testing.T) {
	cosignBin, generator := farmCosign(t), farmSBOMGenerator(t)
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	e := envFor(t)
	dir := t.TempDir()
	password := "xb-e2e-cosign-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// cosign looks up Sigstore's TUF repository even for a key and no
	// transparency log: a TUF root whose mirror is a closed local port
	// keeps that lookup on this machine (it fails, cosign goes on)
	tufRoot := t.TempDir()
	if err := os.WriteFile(filepath.Join(tufRoot, "remote.json"), []byte(`{"mirror":"http://127.0.0.1:9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cosign := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cosignBin, args...)
		cmd.Dir = dir
		cmd.Env = envList(map[string]string{"PATH": os.Getenv("PATH"), "HOME": e.Home, "DOCKER_CONFIG": e.DockerConfig,
			"SSL_CERT_FILE": farm.CABundle, "COSIGN_PASSWORD": password, "TUF_ROOT": tufRoot})
		out, err := cmd.CombinedOutput()
		t.Logf("cosign %s (%v)", strings.Join(args, " "), err)
		return string(out), err
	}
	if out, err := cosign("generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")

	// a stand-in .netrc for private modules: go-service's go mod download
	// step mounts it
	netrcPassword := "xb-e2e-netrc-" + password[len(password)-8:]
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine git.corp.example login ci password "+netrcPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(repoRoot(t), "examples", "go-service")
	ref := uniqueRef(t, "release")
	stdout, stderr, code := runXbuild(t, map[string]string{"COSIGN_PASSWORD": password, "XBUILD_LINT_HADOLINT": farm.Hadolint},
		"build", "--config", filepath.Join(app, "xbuild.yaml"), "-t", ref, "--push", "--report", "json", "--progress", "plain",
		"--sbom=generator="+generator, "--provenance", "max", "--sign-key", key, "--label", "e2e.run="+password[len(password)-6:],
		"--secret", "id=netrc,src="+netrc, "--build-arg", "GOPRIVATE=git.corp.example")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, tail(stderr, 40))
	}
	for where, b := range everyBlob(t, ref) {
		if strings.Contains(string(b), netrcPassword) || strings.Contains(string(b), password) {
			t.Errorf("a secret is in %s", where)
		}
	}
	if strings.Contains(stdout+stderr, password) || strings.Contains(stdout+stderr, netrcPassword) {
		t.Error("the cosign password or the .netrc is in xbuild's output")
	}
	rep := decodeSupply(t, stdout)
	att := rep.checksNamed("attestations")
	if len(att) != 2 || !strings.Contains(att[0], "provenance (https://slsa.dev/provenance/") || !strings.Contains(att[1], "SBOM (SPDX-") {
		t.Errorf("attestations checks: %q", att)
	}
	if len(rep.Signed) != 3 || rep.Signed[0].Platform != "index" || rep.Signed[0].Digest != rep.Digest {
		t.Errorf("signed: %+v", rep.Signed)
	}

	// the index carries an SPDX document for each platform (go-containerregistry)
	r, _ := name.ParseReference(ref)
	idx, err := remote.Index(r, registryOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	imageOf := map[string]string{}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" {
			imageOf[d.Digest.String()] = d.Platform.OS + "/" + d.Platform.Architecture
		}
	}
	sbomFor := map[string]int{}
	for _, d := range im.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := img.Manifest()
		for _, l := range m.Layers {
			if l.Annotations["in-toto.io/predicate-type"] != "https://spdx.dev/Document" {
				continue
			}
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				t.Fatal(err)
			}
			rc, _ := layer.Compressed()
			b, _ := io.ReadAll(rc)
			rc.Close()
			var st struct {
				Predicate struct {
					SPDXVersion string `json:"spdxVersion"`
					Packages    []struct {
						Name string `json:"name"`
					} `json:"packages"`
				} `json:"predicate"`
			}
			if err := json.Unmarshal(b, &st); err != nil || !strings.HasPrefix(st.Predicate.SPDXVersion, "SPDX-") {
				t.Errorf("SPDX statement for %s: %v\n%.300s", d.Annotations["vnd.docker.reference.digest"], err, b)
				continue
			}
			var names []string
			for _, p := range st.Predicate.Packages {
				names = append(names, p.Name)
			}
			if !strings.Contains(strings.Join(names, " "), "stdlib") {
				t.Errorf("the SBOM of %s does not list Go's stdlib: %q", imageOf[d.Annotations["vnd.docker.reference.digest"]], names)
			}
			sbomFor[imageOf[d.Annotations["vnd.docker.reference.digest"]]] = len(names)
		}
	}
	if sbomFor["linux/amd64"] == 0 || sbomFor["linux/arm64"] == 0 {
		t.Errorf("SPDX SBOM packages per platform: %v", sbomFor)
	}
	t.Logf("SPDX SBOM packages per platform: %v", sbomFor)

	// what `docker buildx imagetools inspect REF --format '{{json .SBOM}}'` shows
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ins := exec.CommandContext(ctx, farm.Buildx, "imagetools", "inspect", ref, "--format", "{{json .SBOM}}")
	ins.Env = envList(e.baseEnv())
	out, err := ins.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"linux/amd64"`) || !strings.Contains(string(out), `"linux/arm64"`) || !strings.Contains(string(out), "SPDX") {
		t.Errorf("buildx imagetools inspect --format '{{json .SBOM}}': %v\n%.600s", err, out)
	}

	// labels carry the git revision and the commit's time
	gitOut := func(args ...string) string {
		b, err := exec.Command("git", append([]string{"-C", repoRoot(t)}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(b))
	}
	secs, _ := strconv.ParseInt(gitOut("log", "-1", "--format=%ct"), 10, 64)
	_, images := readIndex(t, ref)
	for p, img := range images {
		l := img.Config.Config.Labels
		if l["org.opencontainers.image.revision"] != gitOut("rev-parse", "HEAD") ||
			l["org.opencontainers.image.created"] != time.Unix(secs, 0).UTC().Format(time.RFC3339) || l["e2e.run"] == "" {
			t.Errorf("%s labels: %v", p, l)
		}
	}

	// the real cosign verifies xbuild's signature, offline
	if out, err := cosign("verify", "--key", pub, "--insecure-ignore-tlog=true", ref); err != nil || !strings.Contains(out, rep.Digest) {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	if out, errOut, code := runXbuild(t, nil, "verify", ref, "--key", pub, "--sbom", "--provenance"); code != 0 {
		t.Errorf("xbuild verify --key: exit %d\n%s%s", code, out, errOut)
	}

	// the tag moved to another image (the amd64 image with one more
	// layer): cosign and xbuild verify both reject it
	amd, err := name.NewDigest(repoOf(t, ref) + "@" + rep.Platforms[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(amd, registryOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := mutate.Append(base, mutate.Addendum{Layer: static.NewLayer(forgedLayer(t), types.OCILayer)})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, forged, registryOptions(t)...); err != nil {
		t.Fatal(err)
	}
	if out, err := cosign("verify", "--key", pub, "--insecure-ignore-tlog=true", ref); err == nil {
		t.Errorf("cosign verify accepted the tampered tag:\n%s", out)
	} else {
		t.Logf("cosign rejects the tampered tag: %s", tail(out, 3))
	}
	if out, errOut, code := runXbuild(t, nil, "verify", ref, "--key", pub); code != 1 || !strings.Contains(out, "signature") {
		t.Errorf("xbuild verify --key of the tampered tag: exit %d\n%s%s", code, out, errOut)
	}
}

// farmCosign is the farm's cosign (farm.json's cosign; bin/cosign when an
// up.sh from before it rewrote farm.json).
func farmCosign(t *testing.T) string {
	t.Helper()
	p := farm.Cosign
	if p == "" {
		p = filepath.Join(farm.Dir, "bin", "cosign")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the farm has no cosign (%v): run hack/farm/up.sh", err)
	}
	return p
}

// farmSBOMGenerator is the farm's SBOM generator image (farm.json's
// images.sbomGenerator; else the one bin/sbom-generator.version names).
func farmSBOMGenerator(t *testing.T) string {
	t.Helper()
	if farm.Images.SBOMGenerator != "" {
		return farm.Images.SBOMGenerator
	}
	b, err := os.ReadFile(filepath.Join(farm.Dir, "bin", "sbom-generator.version"))
	if err != nil {
		t.Fatalf("the farm has no SBOM generator image (%v): run hack/farm/up.sh", err)
	}
	return "docker.io/xbuild/sbom-generator:" + strings.TrimSpace(string(b))
}

// repoOf is REGISTRY/REPOSITORY of a tag reference.
func repoOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Name()
}

// The same commit built twice with --reproducible, on two different amd64
// nodes, without the build cache: the same platform image digest.
func TestSupplyReproducibleOnTwoNodes(t *testing.T) {
	addFarmNodes(t, "repa", "amd64")
	addFarmNodes(t, "repb", "amd64b")
	app := filepath.Join(repoRoot(t), "examples", "go-service")
	var digests []string
	for _, b := range []string{"repa", "repb"} {
		ref := fmt.Sprintf("%s/e2e/repro-%s:v1", farm.Registry.Push, b)
		stdout, stderr, code := runXbuild(t, map[string]string{"XBUILD_LINT_HADOLINT": farm.Hadolint},
			"build", "--config", filepath.Join(app, "xbuild.yaml"), "--builder", b, "--platform", "linux/amd64",
			"-t", ref, "--push", "--reproducible", "--no-cache", "--report", "json", "--progress", "plain")
		if code != 0 {
			t.Fatalf("build on %s: exit %d\n%s", b, code, tail(stderr, 40))
		}
		rep := decodeSupply(t, stdout)
		want := map[string]string{"repa": "amd1", "repb": "amd2"}[b]
		if len(rep.Platforms) != 1 || rep.Platforms[0].Node != want {
			t.Fatalf("built on %+v, want node %s", rep.Platforms, want)
		}
		// read back independently: the platform image in the pushed index
		_, images := readIndex(t, ref)
		d, err := images["linux/amd64"].Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != rep.Platforms[0].Digest {
			t.Errorf("%s: the registry has %s, the report %s", b, d, rep.Platforms[0].Digest)
		}
		digests = append(digests, d.String())
		created := images["linux/amd64"].Config.Created.Time
		t.Logf("%s (node %s): linux/amd64 %s, created %s", b, want, d, created.UTC().Format(time.RFC3339))
	}
	if digests[0] != digests[1] {
		t.Errorf("two reproducible builds of the same commit differ: %s (amd1) and %s (amd2)", digests[0], digests[1])
	}
}

// forgedLayer is a gzipped tar holding one file, a well-formed layer: what
// gives the tampered image away is its signature, not a broken layer.
func forgedLayer(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("forged\n")
	if err := tw.WriteHeader(&tar.Header{Name: "forged", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

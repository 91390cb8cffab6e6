package cmd

import (
	"context"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/pipeline"
)

const (
	verifyRef   = "registry.example.com/team/app:1.0"
	indexDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	gzipLayer   = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// fakeVerifyRegistry serves one pushed two-platform index from memory:
// files maps digest+path to content.
type fakeVerifyRegistry struct {
	index   *registry.Index
	images  map[string]*registry.Image
	files   map[string][]byte
	err     error
	indexed []string // references asked for
}

func (r *fakeVerifyRegistry) Index(_ context.Context, ref string) (*registry.Index, error) {
	r.indexed = append(r.indexed, ref)
	if r.err != nil {
		return nil, r.err
	}
	return r.index, nil
}

func (r *fakeVerifyRegistry) Image(_ context.Context, _, digest string) (*registry.Image, error) {
	if img, ok := r.images[digest]; ok {
		return img, nil
	}
	return nil, errors.New("no such image " + digest)
}

func (r *fakeVerifyRegistry) ReadFile(_ context.Context, _, digest, p string, _ int64) ([]byte, error) {
	if b, ok := r.files[digest+p]; ok {
		return b, nil
	}
	return nil, registry.ErrNotFound
}

func (r *fakeVerifyRegistry) Blob(context.Context, string, string, int64) ([]byte, error) {
	return nil, errors.New("no blobs")
}

// verify never writes: the write side fails the test's command loudly.
var errReadOnly = errors.New("verify wrote to the registry")

func (r *fakeVerifyRegistry) PushIndex(context.Context, string, []string) (string, error) {
	return "", errReadOnly
}
func (r *fakeVerifyRegistry) Tag(context.Context, string, string, []string) error { return errReadOnly }
func (r *fakeVerifyRegistry) Exists(context.Context, string) (bool, error)        { return false, errReadOnly }

func (r *fakeVerifyRegistry) WalkFiles(_ context.Context, _, digest string, _ registry.WalkOptions, fn func(registry.File) error) (*registry.WalkSummary, error) {
	var paths []string
	for k := range r.files {
		if p, ok := strings.CutPrefix(k, digest); ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	sum := &registry.WalkSummary{Layers: 1}
	for _, p := range paths {
		b := r.files[digest+p]
		h := sha256.Sum256(b)
		sum.Files++
		sum.Bytes += int64(len(b))
		if err := fn(registry.File{Path: p, Size: int64(len(b)), Head: b, Digest: "sha256:" + hex.EncodeToString(h[:])}); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func elf64(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5] = 2, 1
	h[18], h[19] = byte(machine), byte(machine>>8)
	return h
}

// pushedImage is a correct linux/amd64 + linux/arm64 push.
func pushedImage() *fakeVerifyRegistry {
	img := func(arch string, size int64) *registry.Image {
		return &registry.Image{Digest: "sha256:" + arch, OS: "linux", Architecture: arch, Entrypoint: []string{"/app"},
			Env: []string{"PATH=/bin"}, ConfigSize: 500, Layers: []registry.Layer{{Digest: "sha256:l-" + arch, MediaType: gzipLayer, Size: size}}}
	}
	return &fakeVerifyRegistry{
		index: &registry.Index{Digest: indexDigest, Manifests: []registry.Manifest{
			{Digest: "sha256:amd64", Platform: "linux/amd64"}, {Digest: "sha256:arm64", Platform: "linux/arm64"},
		}},
		images: map[string]*registry.Image{"sha256:amd64": img("amd64", 1_500_000), "sha256:arm64": img("arm64", 1_400_000)},
		files: map[string][]byte{
			"sha256:amd64/app": elf64(62), "sha256:amd64/etc/passwd": []byte("root:x:0:0\n"),
			"sha256:arm64/app": elf64(183), "sha256:arm64/etc/passwd": []byte("root:x:0:0\n"),
		},
	}
}

// runCLI runs the real command tree with reg as the registry and env as
// the environment; it returns the exit code and both streams.
func runCLI(t *testing.T, reg pipeline.Registry, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	io, out, errOut := iostreams.Test()
	f := NewFactory(io, func(k string) string { return env[k] })
	f.Registry = reg
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	ctx := context.Background()
	code := handleError(io, root.ExecuteContext(ctx), ctx)
	return code, out.String(), errOut.String()
}

func TestVerifyCommandPasses(t *testing.T) {
	reg := pushedImage()
	code, out, errOut := runCLI(t, reg, nil, "verify", verifyRef)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := `CHECK             PLATFORM     RESULT  DETAIL
platforms         -            ok      index has linux/amd64, linux/arm64 (no platforms requested: each is checked as listed)
config-platform   linux/amd64  ok      image config says linux/amd64
compression       linux/amd64  ok      1 layer(s), all gzip (no compression requested: checked that the layers agree)
no-proxy-leak     linux/amd64  ok      no proxy value in image config env, labels and history
binary-arch       linux/amd64  ok      /app is x86-64 (amd64); 1 of 2 files is ELF, all x86-64 (amd64)
config-platform   linux/arm64  ok      image config says linux/arm64
compression       linux/arm64  ok      1 layer(s), all gzip (no compression requested: checked that the layers agree)
no-proxy-leak     linux/arm64  ok      no proxy value in image config env, labels and history
binary-arch       linux/arm64  ok      /app is AArch64 (arm64); 1 of 2 files is ELF, all AArch64 (arm64)
identical-binary  -            ok      no ELF file is byte-identical across linux/amd64, linux/arm64

PLATFORM     DIGEST        SIZE     LAYERS  FILES  ELF FILES
linux/amd64  sha256:amd64  1.50 MB  1       2      1
linux/arm64  sha256:arm64  1.40 MB  1       2      1

Verified: 10 checks passed on registry.example.com/team/app:1.0 (` + indexDigest + `)
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if errOut != "Verifying registry.example.com/team/app:1.0 (platforms: the index's own; compression: each platform's layers agree)\n" {
		t.Errorf("stderr = %q", errOut)
	}
	if strings.Join(reg.indexed, " ") != verifyRef {
		t.Errorf("read %q", reg.indexed)
	}
}

func TestVerifyCommandFailures(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *fakeVerifyRegistry)
		env    map[string]string
		args   []string
		stderr string // the error, after the progress line
	}{
		{
			name:   "a wrong-arch helper binary",
			change: func(r *fakeVerifyRegistry) { r.files["sha256:arm64/usr/bin/helper"] = elf64(62) },
			stderr: "Error: 1 of 10 checks failed on " + verifyRef + ":\n" +
				"  linux/arm64 binary-arch: /app is AArch64 (arm64); 1 of 2 ELF files (among 3 files) is not AArch64 (arm64): /usr/bin/helper is x86-64 (amd64); " +
				"a binary built or downloaded for one architecture was copied into every platform's image (a fixed GOARCH/TARGETARCH, or a download URL without ${TARGETARCH})\n",
		},
		{
			name: "requested platforms, compression and budget",
			args: []string{"--platform", "linux/amd64,linux/arm64", "--platform", "linux/s390x", "--compression", "zstd", "--size-budget", "1.45MB"},
			stderr: "Error: 4 of 11 checks failed on " + verifyRef + ":\n" +
				"  platforms: index has [linux/amd64, linux/arm64], requested [linux/amd64, linux/arm64, linux/s390x]; missing linux/s390x\n" +
				"  linux/amd64 compression: want application/vnd.oci.image.layer.v1.tar+zstd: sha256:l-amd64 is " + gzipLayer + "\n" +
				"  linux/arm64 compression: want application/vnd.oci.image.layer.v1.tar+zstd: sha256:l-arm64 is " + gzipLayer + "\n" +
				"  linux/amd64 size-budget: linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB\n",
		},
		{
			name: "a proxy from the environment in the image",
			change: func(r *fakeVerifyRegistry) {
				r.images["sha256:amd64"].Env = []string{"https_proxy=http://bob:pw1234@proxy:3128"}
			},
			env: map[string]string{"HTTPS_PROXY": "http://bob:pw1234@proxy:3128"},
			stderr: "Error: 1 of 10 checks failed on " + verifyRef + ":\n" +
				"  linux/amd64 no-proxy-leak: a proxy value passed as a build argument appears in image config env, labels and history (value not shown); set proxies with --build-arg or xbuild.yaml proxy:, never ENV\n",
		},
		{
			name: "the registry cannot be read",
			change: func(r *fakeVerifyRegistry) {
				r.err = errors.New("reading " + verifyRef + " from the registry: unauthorized")
			},
			stderr: "Error: reading " + verifyRef + " from the registry: unauthorized\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := pushedImage()
			if tc.change != nil {
				tc.change(reg)
			}
			code, out, errOut := runCLI(t, reg, tc.env, append([]string{"verify", verifyRef}, tc.args...)...)
			if code != ExitFailure {
				t.Errorf("exit %d, want 1", code)
			}
			_, errText, _ := strings.Cut(errOut, "\n")
			if errText != tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", errText, tc.stderr)
			}
			if strings.Contains(out+errOut, "pw1234") {
				t.Errorf("the proxy password leaked:\n%s%s", out, errOut)
			}
			if tc.change == nil || reg.err == nil {
				if !strings.Contains(out, "\nFAILED: ") {
					t.Errorf("stdout has no verdict:\n%s", out)
				}
			}
		})
	}
}

func TestVerifyCommandJSON(t *testing.T) {
	reg := pushedImage()
	reg.files["sha256:arm64/app"] = elf64(62)
	code, out, _ := runCLI(t, reg, nil, "verify", verifyRef, "--format", "json")
	if code != ExitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	var rep pipeline.VerifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var failed []string
	for _, c := range rep.Failed() {
		failed = append(failed, c.Name+" "+c.Platform)
	}
	if rep.OK || rep.Digest != indexDigest || strings.Join(failed, "|") != "binary-arch linux/arm64|identical-binary linux/amd64, linux/arm64" {
		t.Errorf("report: ok %v digest %s failed %q", rep.OK, rep.Digest, failed)
	}
	want := []pipeline.VerifiedPlatform{
		{Platform: "linux/amd64", Digest: "sha256:amd64", CompressedSize: 1_500_500, Layers: 1, Files: 2, ELFFiles: 1, ScannedBytes: 75},
		{Platform: "linux/arm64", Digest: "sha256:arm64", CompressedSize: 1_400_500, Layers: 1, Files: 2, ELFFiles: 1, ScannedBytes: 75},
	}
	if len(rep.Platforms) != 2 || rep.Platforms[0] != want[0] || rep.Platforms[1] != want[1] {
		t.Errorf("platforms = %+v", rep.Platforms)
	}
}

func TestVerifyCommandUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"verify"}, `"xbuild verify" needs one image reference REF (REGISTRY/REPOSITORY@sha256:... or REGISTRY/REPOSITORY:TAG) (got 0 argument(s))`},
		{[]string{"verify", verifyRef, "--format", "yaml"}, `--format "yaml": use table or json`},
		{[]string{"verify", verifyRef, "--compression", "lz4"}, `--compression "lz4": use one of gzip, zstd, uncompressed`},
		{[]string{"verify", verifyRef, "--platform", "linux/amr64"}, `--platform: platform "linux/amr64": unknown architecture "amr64"`},
		{[]string{"verify", verifyRef, "--size-budget", "lots"}, `--size-budget: "lots" is not a size: write e.g. 50MB, 3MiB or 1GB`},
		{[]string{"verify", verifyRef, "--key", "/nonexistent/cosign.pub"}, `--key: open /nonexistent/cosign.pub: no such file or directory`},
		{[]string{"verify", verifyRef, "--key", "verify_test.go"}, `--key: public key verify_test.go: PEM decoding failed`},
		{[]string{"verify", "UPPER/Case::bad"}, `"UPPER/Case::bad" is not an image reference (REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:...)`},
	}
	for _, tc := range tests {
		reg := pushedImage()
		code, out, errOut := runCLI(t, reg, nil, tc.args...)
		if code != ExitUsage || !strings.HasPrefix(errOut, "Error: "+tc.err) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.err)
		}
		if len(reg.indexed) != 0 {
			t.Errorf("%q: the registry was read", tc.args)
		}
	}
}

// --sbom and --key hold the image to attestations and signatures it does
// not have: each is a failed check, named, exit 1.
func TestVerifyCommandAttestationsAndSignatures(t *testing.T) {
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	_, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, pushedImage(), nil, "verify", verifyRef, "--sbom", "--key", pub)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"attestations      linux/amd64  FAIL    no SPDX SBOM attestation for sha256:amd64",
		"signature         -            FAIL    this registry reader cannot read signatures",
		"FAILED: 3 of ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "attestations: sbom; signatures: key "+pub+" (ECDSA P-256)") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

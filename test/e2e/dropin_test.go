//go:build e2e

package e2e

import (
	"archive/tar"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func dropinDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "test", "e2e", "testdata", "dropin")
}

// buildxMetadata is what a script written for buildx reads from
// --metadata-file.
type buildxMetadata struct {
	Digest     string `json:"containerimage.digest"`
	Descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"containerimage.descriptor"`
	ImageName string `json:"image.name"`
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
}

// buildx build's run flags reach both platforms' builds (a named context,
// an extra host in RUN's /etc/hosts), and --metadata-file and --iidfile
// hold what buildx writes: the published index, as the registry has it.
func TestDropinRunFlagsAndResultFiles(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	extra, out := t.TempDir(), t.TempDir()
	nonce := fmt.Sprint(time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(extra, "note.txt"), []byte("named context "+nonce), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := uniqueRef(t, "dropin")
	_, stderr, code := runXbuild(t, map[string]string{"XBUILD_LINT_HADOLINT": farm.Hadolint},
		"build", dropinDir(t), "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", "--progress", "plain",
		"--build-context", "extra="+extra, "--add-host", "xbuild-e2e-host:10.9.8.7", "--build-arg", "NONCE="+nonce,
		"--iidfile", filepath.Join(out, "iid"), "--metadata-file", filepath.Join(out, "metadata.json"))
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, tail(stderr, 40))
	}
	digest, images := readIndex(t, ref)
	if len(images) != 2 {
		t.Fatalf("index platforms: %v", keys(images))
	}
	for p, img := range images {
		files := flatFiles(t, img.Image)
		if got := string(files["/note.txt"]); got != "named context "+nonce {
			t.Errorf("%s: /note.txt = %q: the named context did not reach the build", p, got)
		}
		if hosts := string(files["/hosts.txt"]); !strings.Contains(hosts, "10.9.8.7") || !strings.Contains(hosts, "xbuild-e2e-host") {
			t.Errorf("%s: RUN's /etc/hosts lacks the --add-host entry:\n%s", p, hosts)
		}
	}
	var md buildxMetadata
	readJSONFile(t, filepath.Join(out, "metadata.json"), &md)
	if md.Digest != digest || md.Descriptor.Digest != digest || md.Descriptor.MediaType != "application/vnd.oci.image.index.v1+json" || md.Descriptor.Size <= 0 || md.ImageName != ref {
		t.Errorf("metadata = %+v, want the published index %s of %s", md, digest, ref)
	}
	if iid, err := os.ReadFile(filepath.Join(out, "iid")); err != nil || string(iid) != digest {
		t.Errorf("iidfile = %q (%v), want %s", iid, err, digest)
	}
}

// --check runs BuildKit's Dockerfile checks without building: clean on
// the test app, a failure naming the rule on a Dockerfile that breaks one.
func TestDropinCheck(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	stdout, stderr, code := runXbuild(t, nil, "build", appDir(t), "--check", "--no-lint")
	if code != 0 || !strings.Contains(stdout, "Check complete, no warnings found.") {
		t.Errorf("clean Dockerfile: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 20))
	}
	if strings.Contains(stderr, "PLATFORM") {
		t.Errorf("--check printed a build report:\n%s", stderr)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "Dockerfile"), []byte("FROM busybox:1.35 as base\nUSER 65532\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runXbuild(t, nil, "build", bad, "--check", "--no-lint")
	if code == 0 || !strings.Contains(stdout, "FromAsCasing") || !strings.Contains(stderr, "the Dockerfile checks failed (--call check on node amd1)") {
		t.Errorf("a failing check: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 20))
	}
}

// -o forms: an OCI tarball and a tar of both platforms (each platform
// exported on its node, merged by xbuild: buildx refuses them for a
// multi-node build), a local directory per platform, a load of one
// platform into the farm's Docker engine, and the refusal of a two-platform
// load by an engine without the containerd image store. None is verified,
// and each says so.
func TestDropinOutputs(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	dir := t.TempDir()

	oci := filepath.Join(dir, "app.tar")
	_, stderr, code := runXbuild(t, nil, "build", appDir(t), "--no-lint", "-o", "type=oci,dest="+oci, "--compression", "zstd")
	if code != 0 {
		t.Fatalf("-o type=oci: exit %d\n%s", code, tail(stderr, 30))
	}
	if !strings.Contains(stderr, "output type=oci: written to "+oci+", layers zstd; not verified") {
		t.Errorf("-o type=oci does not say what it wrote:\n%s", tail(stderr, 20))
	}
	if plats := ociPlatforms(t, oci); strings.Join(plats, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("%s lists platforms %v, want linux/amd64 and linux/arm64 in one index", oci, plats)
	}

	fsTar := filepath.Join(dir, "fs.tar")
	_, stderr, code = runXbuild(t, nil, "build", appDir(t), "--no-lint", "-o", "type=tar,dest="+fsTar)
	if code != 0 {
		t.Fatalf("-o type=tar: exit %d\n%s", code, tail(stderr, 30))
	}
	files := tarFiles(t, fsTar)
	for p, m := range map[string]elf.Machine{"linux_amd64/app": elf.EM_X86_64, "linux_arm64/app": elf.EM_AARCH64} {
		if got := elfMachine(t, files[p]); got != m {
			t.Errorf("fs.tar %s is %v, want %v", p, got, m)
		}
	}

	local := filepath.Join(dir, "out")
	_, stderr, code = runXbuild(t, nil, "build", appDir(t), "--no-lint", "-o", local)
	if code != 0 {
		t.Fatalf("-o DIR: exit %d\n%s", code, tail(stderr, 30))
	}
	for p, m := range map[string]elf.Machine{"linux_amd64": elf.EM_X86_64, "linux_arm64": elf.EM_AARCH64} {
		data, err := os.ReadFile(filepath.Join(local, p, "app"))
		if err != nil {
			t.Errorf("-o DIR: %v", err)
			continue
		}
		if got := elfMachine(t, data); got != m {
			t.Errorf("%s/app is %v, want %v", p, got, m)
		}
	}

	if farm.Docker == nil {
		t.Skip("the farm runs without its docker node (FARM_DOCKER=0): no engine to load into")
	}
	tag := fmt.Sprintf("xbuild-e2e-load:%d", time.Now().UnixNano()%1e9)
	dockerEnv := map[string]string{"DOCKER_HOST": farm.Docker.Socket}
	_, stderr, code = runXbuild(t, dockerEnv, "build", appDir(t), "--no-lint", "--platform", "linux/arm64", "--load", "-t", tag)
	if code != 0 {
		t.Fatalf("--load: exit %d\n%s", code, tail(stderr, 30))
	}
	t.Cleanup(func() { _ = exec.Command("docker", "--host", farm.Docker.Socket, "image", "rm", tag).Run() })
	arch, err := exec.Command("docker", "--host", farm.Docker.Socket, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag).CombinedOutput()
	if err != nil || strings.TrimSpace(string(arch)) != "linux/arm64" {
		t.Errorf("the loaded image: %s (%v)", arch, err)
	}
	if !strings.Contains(stderr, "output type=docker: loaded into the Docker engine") {
		t.Errorf("--load does not say where the image went:\n%s", tail(stderr, 20))
	}

	_, stderr, code = runXbuild(t, dockerEnv, "build", appDir(t), "--no-lint", "--load", "-t", tag+"-multi")
	if code == 0 || !strings.Contains(stderr, "--load of linux/amd64, linux/arm64: the Docker engine at unix://"+strings.TrimPrefix(farm.Docker.Socket, "unix://")) ||
		!strings.Contains(stderr, "stores one platform per image") || !strings.Contains(stderr, "nothing was built") {
		t.Errorf("a two-platform load into a Docker 20.10 engine: exit %d\n%s", code, tail(stderr, 20))
	}
}

// tarFiles reads every regular file of a tar.
func tarFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
}

// ociPlatforms lists the image platforms of an OCI layout archive's one
// index (attestations left out), in the index's order.
func ociPlatforms(t *testing.T, path string) []string {
	t.Helper()
	files := tarFiles(t, path)
	type index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
			Platform    *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	var top, idx index
	if err := json.Unmarshal(files["oci-layout"], new(map[string]any)); err != nil {
		t.Fatalf("%s has no oci-layout: %v", path, err)
	}
	if err := json.Unmarshal(files["index.json"], &top); err != nil || len(top.Manifests) != 1 {
		t.Fatalf("%s index.json: %s (%v)", path, files["index.json"], err)
	}
	if err := json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(top.Manifests[0].Digest, "sha256:")], &idx); err != nil {
		t.Fatalf("%s: its index: %v", path, err)
	}
	var out []string
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" || m.Platform == nil {
			continue
		}
		out = append(out, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	return out
}

// A local cache of a two-platform build: each platform exports to its own
// directory (one directory would end with the index.json of whichever
// platform finished last), and the next build imports them.
func TestDropinLocalCachePerPlatform(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	cache := filepath.Join(t.TempDir(), "cache")
	args := []string{"build", appDir(t), "--no-lint", "--cache-to", "type=local,dest=" + cache + ",mode=max", "--cache-from", "type=local,src=" + cache}
	for run := 1; run <= 2; run++ {
		_, stderr, code := runXbuild(t, nil, args...)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s", run, code, tail(stderr, 30))
		}
	}
	for _, p := range []string{"linux-amd64", "linux-arm64"} {
		if _, err := os.Stat(filepath.Join(cache, p, "index.json")); err != nil {
			t.Errorf("no local cache for %s: %v", p, err)
		}
	}
}

// Two images of an images list build at once; one over its size budget
// fails verify and is not tagged, the other is published; the metadata
// file holds the published one, keyed by name, as buildx bake writes it.
func TestDropinImagesList(t *testing.T) {
	addFarmNodes(t, "xbuild", "amd64", "arm64")
	dir := t.TempDir()
	repo := farm.Registry.Push + "/e2e/images"
	tag := fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
	cfg := fmt.Sprintf(`images:
  - name: small
    image: %s-small
    context: %s
  - name: tight
    image: %s-tight
    context: %s
    size-budget: 1KB
`, repo, appDir(t), repo, appDir(t))
	if err := os.WriteFile(filepath.Join(dir, "xbuild.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "metadata.json")
	_, stderr, code := runXbuild(t, nil, "build", "--config", filepath.Join(dir, "xbuild.yaml"), "--no-lint", "-t", tag, "--push", "--metadata-file", md)
	if code != 1 || !strings.Contains(stderr, "image tight: verify:") || strings.Contains(stderr, "image small:") {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 40))
	}
	if !tagExists(t, repo+"-small:"+tag) {
		t.Errorf("the image that passed was not published")
	}
	if tagExists(t, repo+"-tight:"+tag) {
		t.Errorf("the image over its budget was tagged")
	}
	var got map[string]buildxMetadata
	readJSONFile(t, md, &got)
	digest, _ := readIndex(t, repo+"-small:"+tag)
	if len(got) != 1 || got["small"].Digest != digest || got["small"].ImageName != repo+"-small:"+tag {
		t.Errorf("metadata = %+v", got)
	}
}

// The release Makefile as written for docker buildx build, with only the
// command name changed to xbuild build: it pushes, and its metadata file
// is read by a script written for buildx.
func TestExampleReleaseBuildxMakefile(t *testing.T) {
	addFarmNodes(t, "relx", "amd64", "arm64")
	e := envFor(t)
	dist := t.TempDir()
	cmd := exec.Command("make", "-C", filepath.Join(repoRoot(t), "examples", "release"), "release-buildx",
		"IMAGE_BUILD="+xbuildBin+" build", "REGISTRY="+farm.Registry.Push+"/e2e", "XBUILD_BUILDER=relx", "DIST="+dist)
	cmd.Env = append(envList(e.baseEnv()), "XBUILD_LINT_HADOLINT="+farm.Hadolint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release-buildx: %v\n%s", err, tail(string(out), 40))
	}
	ref, err := os.ReadFile(filepath.Join(dist, "image.ref"))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.TrimSpace(string(ref))
	repo, digest, ok := strings.Cut(r, "@")
	if !ok || repo != farm.Registry.Push+"/e2e/go-service" {
		t.Fatalf("image.ref = %q", r)
	}
	var md buildxMetadata
	readJSONFile(t, filepath.Join(dist, "metadata.json"), &md)
	got, images := readIndex(t, strings.SplitN(md.ImageName, ",", 2)[0])
	if got != digest || len(images) != 2 {
		t.Errorf("the script read %s; the tag %s points at %s with %v", digest, md.ImageName, got, keys(images))
	}
}

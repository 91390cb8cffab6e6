//go:build e2e

package e2e

// CI runners (issue 15): two "runners" (each its own XBUILD_CONFIG_DIR and
// DOCKER_CONFIG, one native farm node each) build their platform by digest
// and write digest files; a third "job" merges them. Everything is read
// back with go-containerregistry, not with xbuild.

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ciDigestFile is the part of a digest file these tests read.
type ciDigestFile struct {
	Schema        string `json:"schema"`
	SchemaVersion int    `json:"schemaVersion"`
	Repository    string `json:"repository"`
	Platforms     []struct {
		Platform    string `json:"platform"`
		Digest      string `json:"digest"`
		ImageDigest string `json:"imageDigest"`
		Size        int64  `json:"size"`
		Node        string `json:"node"`
		Verify      struct {
			Result string `json:"result"`
			Checks int    `json:"checks"`
		} `json:"verify"`
	} `json:"platforms"`
}

func readCIDigestFile(t *testing.T, path string) ciDigestFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("digest file: %v", err)
	}
	var f ciDigestFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return f
}

// runXbuildStdin runs xbuild in the test's environment (plus env) with
// stdin, for `xbuild login --password-stdin`.
func runXbuildStdin(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	vars := envFor(t).baseEnv()
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, xbuildBin, args...)
	cmd.Dir = envFor(t).Home
	cmd.Env = envList(vars)
	cmd.Stdin = strings.NewReader(stdin)
	var outb, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	err := cmd.Run()
	t.Logf("xbuild %s  (exit %d)", strings.Join(args, " "), exitCode(err))
	if ctx.Err() != nil {
		t.Fatalf("xbuild %s: still running after 2m", strings.Join(args, " "))
	}
	return outb.String(), errb.String(), exitCode(err)
}

func TestCIRunnersBuildByDigestThenMerge(t *testing.T) {
	ref := uniqueRef(t, "ci")
	repo := ref[:strings.LastIndex(ref, ":")]
	digests := t.TempDir()
	files := map[string]string{
		"linux/amd64": filepath.Join(digests, "amd64", "linux-amd64.json"),
		"linux/arm64": filepath.Join(digests, "arm64", "linux-arm64.json"),
	}

	// the runners, at the same time, each with its own state and one native node
	t.Run("runners", func(t *testing.T) {
		for _, r := range []struct{ node, platform string }{{"amd64", "linux/amd64"}, {"arm64", "linux/arm64"}} {
			t.Run(r.node, func(t *testing.T) {
				t.Parallel()
				e := envFor(t)
				if r.node == "arm64" {
					// this runner starts with an EMPTY docker config: xbuild login
					// writes the credentials its push then uses
					e.DockerConfig = filepath.Join(t.TempDir(), "docker-empty")
					ciLogin(t, e.DockerConfig)
				}
				addFarmNodes(t, "xbuild", r.node)
				start := time.Now()
				stdout, stderr, code := runXbuild(t, nil,
					"build", appDir(t), "--no-lint", "--platform", r.platform, "-t", ref,
					"--push-by-digest", "--digest-file", files[r.platform], "--progress", "plain")
				if code != 0 {
					t.Fatalf("build by digest: exit %d\n%s", code, tail(stderr, 40))
				}
				t.Logf("%s built and pushed by digest in %s", r.platform, time.Since(start).Round(100*time.Millisecond))
				if !strings.Contains(stderr, "the tag in "+ref+" is ignored here (xbuild merge writes the tags)") {
					t.Errorf("the ignored tag is not said:\n%s", tail(stderr, 20))
				}
				f := readCIDigestFile(t, files[r.platform])
				if f.Schema != "xbuild/digests" || f.SchemaVersion != 1 || f.Repository != repo || len(f.Platforms) != 1 {
					t.Fatalf("digest file %+v", f)
				}
				p := f.Platforms[0]
				if p.Platform != r.platform || p.Node != farmNodeNames[r.node] || p.Verify.Result != "passed" || p.Verify.Checks < 5 || p.Size <= 0 {
					t.Errorf("entry %+v", p)
				}
				if got := strings.TrimSpace(stdout); got != repo+"@"+p.Digest {
					t.Errorf("stdout %q, want %s@%s", got, repo, p.Digest)
				}
				// pushed by digest only: in the registry, untagged
				if !tagExists(t, repo+"@"+p.Digest) {
					t.Errorf("%s@%s is not in the registry", repo, p.Digest)
				}
				if r.node == "arm64" {
					// the push used the login: logged out, the same build is refused
					if out, _, code := runXbuild(t, nil, "logout", farm.Registry.Push); code != 0 || out != "Removing login credentials for "+farm.Registry.Push+"\n" {
						t.Errorf("logout: exit %d, %q", code, out)
					}
					other := filepath.Join(t.TempDir(), "unauthorized.json")
					_, stderr, code := runXbuild(t, nil, "build", appDir(t), "--no-lint", "--platform", r.platform, "-t", ref,
						"--push-by-digest", "--digest-file", other, "--progress", "plain")
					if code != 1 || !strings.Contains(strings.ToLower(stderr), "401 unauthorized") {
						t.Errorf("build after logout: exit %d\n%s", code, tail(stderr, 20))
					}
					if _, err := os.Stat(other); !os.IsNotExist(err) {
						t.Errorf("a failed build wrote its digest file: %v", err)
					}
				}
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	if tagExists(t, ref) {
		t.Fatalf("%s exists before the merge", ref)
	}

	// the merge job, in an environment of its own
	t.Run("merge", func(t *testing.T) {
		// a platform missing: exit 1, no tag
		_, stderr, code := runXbuild(t, nil, "merge", "-t", ref, "--platform", "linux/amd64,linux/arm64", files["linux/amd64"])
		if code != 1 || !strings.Contains(stderr, "linux/arm64 is missing: no digest file has it (the files hold linux/amd64)") {
			t.Errorf("merge without arm64: exit %d\n%s", code, tail(stderr, 10))
		}
		if tagExists(t, ref) {
			t.Fatalf("a merge missing a platform wrote %s", ref)
		}

		// a digest the registry does not hold: exit 1, no tag
		arm := readCIDigestFile(t, files["linux/arm64"])
		bogus := randomDigest(t)
		raw, _ := os.ReadFile(files["linux/arm64"])
		gone := filepath.Join(t.TempDir(), "gone.json")
		if err := os.WriteFile(gone, bytes.ReplaceAll(raw, []byte(arm.Platforms[0].Digest), []byte(bogus)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code = runXbuild(t, nil, "merge", "-t", ref, "--platform", "linux/amd64,linux/arm64", files["linux/amd64"], gone)
		if code != 1 || !strings.Contains(stderr, "linux/arm64: "+repo+"@"+bogus+" (from "+gone+") is not in the registry") {
			t.Errorf("merge with a digest not in the registry: exit %d\n%s", code, tail(stderr, 10))
		}
		if tagExists(t, ref) {
			t.Fatalf("a merge with a missing digest wrote %s", ref)
		}

		// the real merge: the directory of both runners' files
		stdout, stderr, code := runXbuild(t, nil, "merge", "-t", ref, "--platform", "linux/amd64,linux/arm64", digests, "--report", "json")
		if code != 0 {
			t.Fatalf("merge: exit %d\n%s", code, tail(stderr, 30))
		}
		rep := decodeTx(t, stdout)
		if !rep.Published || rep.Verify == nil || !rep.Verify.OK || len(rep.Platforms) != 2 {
			t.Fatalf("report %+v", rep)
		}
		var steps []string
		for _, s := range decodeReport(t, stdout).Steps {
			steps = append(steps, s.Step)
		}
		if strings.Join(steps, " ") != "merge verify sign publish" {
			t.Errorf("steps %v: the tags must come after verify", steps)
		}
		// the index was pushed by digest, verified, and only then tagged
		iPushed, iTagged := strings.Index(stderr, "not tagged yet: verifying it first"), strings.Index(stderr, "• writing the tags")
		iVerify := strings.Index(stderr, "• verifying the pushed index")
		if iPushed < 0 || iVerify < iPushed || iTagged < iVerify {
			t.Errorf("order on stderr: pushed %d, verify %d, tags %d\n%s", iPushed, iVerify, iTagged, tail(stderr, 20))
		}

		// read back independently: one index, both platforms, the runners'
		// images, the right ELF machine in each
		digest, images := readIndex(t, ref)
		if digest != rep.Digest {
			t.Errorf("%s is %s, the report says %s", ref, digest, rep.Digest)
		}
		if len(images) != 2 {
			t.Fatalf("index platforms %v", keys(images))
		}
		want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
		for plat, path := range files {
			img := images[plat]
			if img == nil {
				t.Fatalf("no %s in the index", plat)
			}
			d, err := img.Image.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if f := readCIDigestFile(t, path); d.String() != f.Platforms[0].ImageDigest {
				t.Errorf("%s: the index holds %s, the runner pushed %s", plat, d, f.Platforms[0].ImageDigest)
			}
			if m := elfMachine(t, flatFiles(t, img.Image)["/app"]); m != want[plat] {
				t.Errorf("%s: /app is %v, want %v", plat, m, want[plat])
			}
		}
	})
}

// ciLogin logs in to the farm's push registry into the empty docker config
// dir: a wrong password first (refused, nothing written), then the farm's.
func ciLogin(t *testing.T, dir string) {
	t.Helper()
	env := map[string]string{"DOCKER_CONFIG": dir}
	password := registryPassword(t)
	_, stderr, code := runXbuildStdin(t, env, password+"-wrong\n", "login", farm.Registry.Push, "-u", farm.Registry.User, "--password-stdin")
	if code != 1 || !strings.Contains(stderr, "the registry refused the username or password; nothing was saved") {
		t.Errorf("login with a wrong password: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused login wrote config.json: %v", err)
	}
	stdout, stderr, code := runXbuildStdin(t, env, password+"\n", "login", farm.Registry.Push, "-u", farm.Registry.User, "--password-stdin")
	if code != 0 || stdout != "Login Succeeded\n" {
		t.Fatalf("login: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, password) {
		t.Errorf("login printed the password")
	}
	// exactly the docker config docker login writes: auths[host].auth = base64(user:password)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Auths) != 1 || cfg.Auths[farm.Registry.Push]["auth"] != base64.StdEncoding.EncodeToString([]byte(farm.Registry.User+":"+password)) {
		t.Errorf("config.json: %s", b)
	}
}

func randomDigest(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(b)
}

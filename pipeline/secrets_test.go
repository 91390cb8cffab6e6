package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
)

func TestSecretFileParts(t *testing.T) {
	tests := map[string][]string{
		"machine a.example login ci password pw-one\nmachine b.example\n  login x\n  password pw-two": {"pw-one", "pw-two"},
		"//registry.npmjs.org/:_authToken=npm_abc\nregistry=https://registry.npmjs.org/":              {"npm_abc"},
		"API_TOKEN=\"tok-1\"\nDEBUG=1\ndb_password: 'pw-3'":                                           {"tok-1", "pw-3"},
		"just one opaque token": nil,
	}
	for in, want := range tests {
		if got := secretFileParts(in); !slices.Equal(got, want) {
			t.Errorf("secretFileParts(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadBuildSecrets(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	key := filepath.Join(dir, "id_ed25519")
	for p, content := range map[string]string{netrc: "machine goproxy.corp login ci password s3cr3t-netrc\n", key: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey\n-----END OPENSSH PRIVATE KEY-----\n", filepath.Join(dir, "bare"): "bare-file-value"} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"NPM_TOKEN": "npm_token_value", "GH_TOKEN": "gh_token_value", "SSH_AUTH_SOCK": "/run/agent.sock"}
	getenv := func(k string) string { return env[k] }
	c := config.Config{
		Secrets: []string{"id=netrc,src=" + netrc, "id=npm,env=NPM_TOKEN", "id=GH_TOKEN", "id=" + filepath.Join(dir, "bare")[1:]},
		SSH:     []string{"default", "git=" + key},
	}
	// an ID alone names a variable when it is set, else a file: the last
	// entry's id is the file's path without its leading slash
	c.Secrets[3] = "id=bare,src=" + filepath.Join(dir, "bare")
	bs, err := readBuildSecrets(c, getenv, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	wantSecrets := []engine.Secret{{ID: "netrc", Src: netrc}, {ID: "npm", Env: "NPM_TOKEN"}, {ID: "GH_TOKEN", Env: "GH_TOKEN"}, {ID: "bare", Src: filepath.Join(dir, "bare")}}
	if !slices.Equal(bs.secrets, wantSecrets) {
		t.Errorf("secrets %+v\nwant    %+v", bs.secrets, wantSecrets)
	}
	if len(bs.ssh) != 2 || bs.ssh[0].ID != "default" || len(bs.ssh[0].Paths) != 0 || bs.ssh[1].ID != "git" || !slices.Equal(bs.ssh[1].Paths, []string{key}) {
		t.Errorf("ssh %+v", bs.ssh)
	}
	for _, want := range []string{"machine goproxy.corp login ci password s3cr3t-netrc\n", "machine goproxy.corp login ci password s3cr3t-netrc", "npm_token_value", "gh_token_value", "bare-file-value", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey\n-----END OPENSSH PRIVATE KEY-----\n"} {
		if !slices.Contains(bs.values, want) {
			t.Errorf("values lack %q: %q", want, bs.values)
		}
	}

	// an ID alone with no such variable is the file of that name
	bs, err = readBuildSecrets(config.Config{Secrets: []string{"id=does-not-exist-here"}}, getenv, func(p string) ([]byte, error) {
		if p != "does-not-exist-here" {
			t.Errorf("read %q", p)
		}
		return []byte("from-the-file"), nil
	})
	if err != nil || !slices.Equal(bs.secrets, []engine.Secret{{ID: "does-not-exist-here", Src: "does-not-exist-here"}}) {
		t.Errorf("id alone: %+v, %v", bs, err)
	}

	// every problem at once, each naming its entry
	_, err = readBuildSecrets(config.Config{
		Secrets: []string{"id=a,src=" + filepath.Join(dir, "missing"), "id=b,env=UNSET_VAR"},
		SSH:     []string{"default", "git=" + filepath.Join(dir, "nokey")},
	}, func(string) string { return "" }, os.ReadFile)
	for _, want := range []string{
		"secret a: open " + filepath.Join(dir, "missing") + ": no such file or directory (check src= of --secret or secrets: in xbuild.yaml)",
		"secret b: the variable UNSET_VAR is not set (or empty)",
		"ssh default: no agent to forward: SSH_AUTH_SOCK is not set",
		"ssh git: stat " + filepath.Join(dir, "nokey"),
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// A build with secrets passes them to every platform's build by file and
// variable name only; their values are masked in the build output and the
// plan, and verify looks for them in the pushed image: a value found in
// its history fails verify, and no tag is written.
func TestPipelineSecrets(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine goproxy.corp login ci password s3cr3t-netrc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := pushConfig()
	cfg.Secrets = []string{"id=netrc,src=" + netrc, "id=npm,env=NPM_TOKEN"}
	cfg.BuildArgs = map[string]string{"API_KEY": "apikey-value-1"}
	h := newHarness(t, cfg)
	env := map[string]string{"NPM_TOKEN": "npm_token_value"}
	h.state.Getenv = func(k string) string { return env[k] }
	reg := pushedRegistry("gzip")
	h.state.Registry = reg
	// the build prints the secrets (a RUN step that echoes them)
	h.eng.echo = "#5 RUN echo npm_token_value s3cr3t-netrc"
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatalf("Run: %v\n%s", err, h.err)
	}
	want := []engine.Secret{{ID: "netrc", Src: netrc}, {ID: "npm", Env: "NPM_TOKEN"}}
	for _, spec := range h.eng.builds {
		if !slices.Equal(spec.Secrets, want) {
			t.Errorf("%s: secrets %+v, want %+v", spec.Platforms, spec.Secrets, want)
		}
		for _, a := range engine.BuildArgs(spec) {
			if strings.Contains(a, "npm_token_value") || strings.Contains(a, "s3cr3t") {
				t.Errorf("a secret value is on the argument list: %q", a)
			}
		}
	}
	if out := h.err.String(); strings.Contains(out, "npm_token_value") || strings.Contains(out, "s3cr3t-netrc") || !strings.Contains(out, "linux/arm64: #5 RUN echo [REDACTED] [REDACTED]") {
		t.Errorf("build output not masked:\n%s", out)
	}
	var leakChecks []string
	for _, c := range h.state.Verify.Checks {
		if c.Name == "no-secret-leak" {
			leakChecks = append(leakChecks, c.Platform+" "+c.Detail)
		}
	}
	if len(leakChecks) != 3 || !strings.Contains(leakChecks[0], "linux/amd64 no value of the build's secrets in image config env, labels and history") {
		t.Errorf("no-secret-leak checks: %q", leakChecks)
	}

	// the secret lands in the arm64 image's history: verify fails, no tag
	reg = pushedRegistry("gzip")
	reg.images["sha256:arm64"].History = append(reg.images["sha256:arm64"].History, "RUN |1 NPM=npm_token_value /bin/sh -c make")
	h.state.Registry = reg
	err := h.rerun(t)
	if err == nil || !strings.Contains(err.Error(), "linux/arm64 no-secret-leak: a secret value") || strings.Contains(err.Error(), "npm_token_value") {
		t.Fatalf("Run: %v", err)
	}
	if len(reg.tags) != 0 {
		t.Errorf("tagged %v after a leak", reg.tags)
	}
	// a build argument named like a secret is looked for too
	reg = pushedRegistry("gzip")
	reg.blobs["sha256:prov"] = []byte(`{"predicate":{"args":{"build-arg:API_KEY":"apikey-value-1"}}}`)
	h.state.Registry = reg
	if err := h.rerun(t); err == nil || !strings.Contains(err.Error(), "attestation sha256:amd64 no-secret-leak") {
		t.Errorf("Run with a build argument in the provenance: %v", err)
	}
}

// The plan prints each secret's source, never its value; a secret that
// cannot be read stops the build before any step.
func TestPipelineSecretsDryRunAndMissing(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("password s3cr3t-netrc"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := pushConfig()
	cfg.Secrets = []string{"id=netrc,src=" + netrc}
	cfg.SSH = []string{"default"}
	h := newHarness(t, cfg)
	h.state.Getenv = func(k string) string { return map[string]string{"SSH_AUTH_SOCK": "/run/a.sock"}[k] }
	h.state.Options.DryRun = true
	h.state.Registry = pushedRegistry("gzip")
	if err := Run(context.Background(), h.state, Steps()); err != nil {
		t.Fatal(err)
	}
	if out := h.out.String(); !strings.Contains(out, "--secret id=netrc,src="+netrc+" --ssh default ") || strings.Contains(out, "s3cr3t") {
		t.Errorf("plan:\n%s", out)
	}

	cfg.Secrets = []string{"id=netrc,src=" + filepath.Join(dir, "gone")}
	h = newHarness(t, cfg)
	h.state.Registry = pushedRegistry("gzip")
	h.state.Getenv = func(k string) string { return map[string]string{"SSH_AUTH_SOCK": "/run/a.sock"}[k] }
	err := Run(context.Background(), h.state, Steps())
	if err == nil || !strings.Contains(err.Error(), "secret netrc: open "+filepath.Join(dir, "gone")) {
		t.Fatalf("Run: %v", err)
	}
	if h.linted != 0 || len(h.eng.builds) != 0 || h.err.Len() != 0 {
		t.Errorf("a step ran: linted %d, builds %d, stderr %q", h.linted, len(h.eng.builds), h.err)
	}
}

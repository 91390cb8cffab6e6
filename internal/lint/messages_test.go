package lint

import (
	"reflect"
	"strings"
	"testing"
)

// TestFindingDetails pins the full finding (severity, message, hint,
// source) for one case of every built-in rule.
func TestFindingDetails(t *testing.T) {
	hint := func(id string) string { return ruleByID(id).Hint }
	tests := []struct {
		fixture string
		env     Env
		index   int
		want    Finding
	}{
		{"rules/xb000_syntax.Dockerfile", Env{DockerignoreExists: true}, 1, Finding{
			Rule: "XB000", Severity: SeverityError, File: "Dockerfile", Line: 2, Source: "xbuild", Hint: hint("XB000"),
			Message: "BuildKit rejects this Dockerfile: unknown instruction: FORM (did you mean FROM?)",
		}},
		{"rules/xb001_proxy_env.Dockerfile", Env{DockerignoreExists: true}, 5, Finding{
			Rule: "XB001", Severity: SeverityError, File: "Dockerfile", Line: 5, Source: "xbuild", Hint: hint("XB001"),
			Message: "ENV sets FTP_PROXY: the proxy setting (value not shown) is baked into the image and into every container started from it",
		}},
		{"rules/xb002_secrets.Dockerfile", Env{DockerignoreExists: true}, 1, Finding{
			Rule: "XB002", Severity: SeverityError, File: "Dockerfile", Line: 3, Source: "xbuild", Hint: hint("XB002"),
			Message: "ARG NPM_TOKEN looks like a secret: build-arg values are recorded in the image history and in provenance attestations (default value redacted)",
			Also:    []string{"SecretsUsedInArgOrEnv"},
		}},
		{"rules/xb002_secrets.Dockerfile", Env{DockerignoreExists: true}, 6, Finding{
			Rule: "XB002", Severity: SeverityError, File: "Dockerfile", Line: 8, Source: "xbuild", Hint: hint("XB002"),
			Message: "ENV REPO_URL contains a URL with an embedded password (value redacted)",
		}},
		{"rules/xb003_platform_args.Dockerfile", Env{DockerignoreExists: true}, 2, Finding{
			Rule: "XB003", Severity: SeverityError, File: "Dockerfile", Line: 6, Source: "xbuild", Hint: hint("XB003"),
			Message: `ARG TARGETVARIANT has a default value (""): it replaces the value BuildKit sets for each platform, so every platform is built with the same one`,
		}},
		{"good/Dockerfile", Env{DockerignoreExists: true, BuildArgs: map[string]string{"TARGETARCH": "arm64"}}, 0, Finding{
			Rule: "XB003", Severity: SeverityError, File: "Dockerfile", Line: 1, Source: "xbuild", Hint: hint("XB003"),
			Message: "build arg TARGETARCH is passed explicitly (--build-arg TARGETARCH=...): it overrides the value BuildKit sets for each platform, for all platforms at once",
		}},
		{"rules/xb004_emulated.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB004", Severity: SeverityWarning, File: "Dockerfile", Line: 1, Source: "xbuild", Hint: hint("XB004"),
			Message: `stage "build" runs go build (line 4) but does not run on --platform=$BUILDPLATFORM: for every platform other than the builder's own, the Go compiler runs under emulation (5-20x slower)`,
		}},
		{"rules/xb004_no_goarch.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB004", Severity: SeverityWarning, File: "Dockerfile", Line: 5, Source: "xbuild", Hint: hint("XB004"),
			Message: `stage "build" compiles on the build platform ($BUILDPLATFORM) but never sets GOARCH or uses TARGETARCH: every platform's image gets a binary for the build machine's architecture`,
		}},
		{"rules/xb004_undeclared_arg.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB004", Severity: SeverityWarning, File: "Dockerfile", Line: 4, Source: "xbuild", Hint: hint("XB004"),
			Message: `RUN uses $TARGETARCH but stage "build" never declares ARG TARGETARCH: inside a stage it is empty, so go build targets the build machine`,
		}},
		{"rules/xb005_base_tags.Dockerfile", Env{DockerignoreExists: true}, 2, Finding{
			Rule: "XB005", Severity: SeverityWarning, File: "Dockerfile", Line: 6, Source: "xbuild", Hint: hint("XB005"),
			Message: "FROM localhost:5000/team/app has no tag: it means localhost:5000/team/app:latest, which changes whenever a new image is pushed",
		}},
		{"rules/xb005_base_tags.Dockerfile", Env{DockerignoreExists: true}, 1, Finding{
			Rule: "XB005", Severity: SeverityWarning, File: "Dockerfile", Line: 4, Source: "xbuild", Hint: hint("XB005"),
			Message: "FROM ubuntu:latest uses the latest tag, which changes whenever a new image is pushed",
		}},
		{"rules/xb006_scratch.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB006", Severity: SeverityWarning, File: "Dockerfile", Line: 3, Source: "xbuild", Hint: hint("XB006"),
			Message: "the final stage is FROM scratch and sets no USER: the container runs as uid 0 (root), since scratch defines no user",
		}},
		{"rules/xb006_root_user.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB006", Severity: SeverityWarning, File: "Dockerfile", Line: 4, Source: "xbuild", Hint: hint("XB006"),
			Message: "the final stage's last USER is root: the container runs as root",
		}},
		{"rules/xb006_stage_chain.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB006", Severity: SeverityWarning, File: "Dockerfile", Line: 3, Source: "xbuild", Hint: hint("XB006"),
			Message: `the final stage (built on stage "base") sets no USER, so it runs as the default user of alpine:3.22: root for most images (a USER set inside the base image is not visible in the Dockerfile)`,
		}},
		{"rules/xb007_add.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB007", Severity: SeverityWarning, File: "Dockerfile", Line: 7, Source: "xbuild", Hint: hint("XB007"),
			Message: `ADD copies local path "app.conf": COPY does the same without ADD's URL download and archive extraction`,
		}},
		{"good/Dockerfile", Env{}, 0, Finding{
			Rule: "XB008", Severity: SeverityInfo, File: "Dockerfile", Line: 1, Source: "xbuild", Hint: hint("XB008"),
			Message: "no .dockerignore for this build: the whole context directory, .git and any local secrets included, is sent to the builder",
		}},
		{"rules/xb009_cgo_distroless.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB009", Severity: SeverityError, File: "Dockerfile", Line: 5, Source: "xbuild", Hint: hint("XB009"),
			Message: `stage "build" runs go build without CGO_ENABLED=0 and the final stage copies from it (line 8), but the final stage is FROM gcr.io/distroless/static-debian12: a cgo-linked binary needs a C library there is none of, and will not start`,
		}},
		{"rules/xb010_proxy_arg.Dockerfile", Env{DockerignoreExists: true}, 0, Finding{
			Rule: "XB010", Severity: SeverityError, File: "Dockerfile", Line: 3, Source: "xbuild", Hint: hint("XB010"),
			Message: "ARG https_proxy declares a predefined proxy argument: RUN steps after it record its value (not shown) in the image history",
		}},
		{"rules/buildkit_checks.Dockerfile", Env{DockerignoreExists: true}, 3, Finding{
			Rule: "LegacyKeyValueFormat", Severity: SeverityWarning, File: "Dockerfile", Line: 3, Source: "buildkit",
			Hint:    "https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/",
			Message: `"ENV key=value" should be used instead of legacy "ENV key value" format`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.want.Rule, func(t *testing.T) {
			t.Parallel()
			got := Check("Dockerfile", readFixture(t, tt.fixture), tt.env)
			if tt.index >= len(got) {
				t.Fatalf("only %d findings: %q", len(got), summarize(got))
			}
			if !reflect.DeepEqual(got[tt.index], tt.want) {
				t.Errorf("finding %d:\n got %+v\nwant %+v", tt.index, got[tt.index], tt.want)
			}
		})
	}
}

// TestSecretsNeverPrinted checks that no finding or hint repeats a secret
// value from the fixture.
func TestSecretsNeverPrinted(t *testing.T) {
	secrets := []string{
		"npm-abc123", "hunter2", "key-k3y", "wJalrXUtnFEMI", "s3cr3tpass", "letmein",
		"AKIAIOSFODNN7EXAMPLE", "BEGIN OPENSSH", "rails-base", "proxy.corp.example",
	}
	for _, fixture := range []string{"rules/xb002_secrets.Dockerfile", "rules/xb001_proxy_env.Dockerfile"} {
		for _, f := range Check("Dockerfile", readFixture(t, fixture), Env{}) {
			for _, s := range secrets {
				if strings.Contains(f.Message, s) || strings.Contains(f.Hint, s) {
					t.Errorf("%s line %d %s prints secret %q: %s", fixture, f.Line, f.Rule, s, f.Message)
				}
			}
		}
	}
}

func TestSecretName(t *testing.T) {
	tests := map[string]bool{
		"PASSWORD": true, "SECRET": true, "TOKEN": true, "API_KEY": true, "APIKEY": true,
		"DB_PASSWORD": true, "db_password": true, "GITHUB_TOKEN": true, "AWS_SECRET_ACCESS_KEY": true,
		"SSH_KEY": true, "CLIENT_SECRET": true, "GPG_PRIVATE_KEY": true, "SECRET_KEY_BASE": true,
		"MYSQL_ROOT_PASSWD": true, "KEY_PASSPHRASE": true, "GOOGLE_CREDENTIALS": true, "npm-token": true,
		"GPG_KEY": false, "PGP_KEY": false, "PUBLIC_KEY": false, "SSH_PUBLIC_KEY": false, "PUB_KEY": false,
		"PUBLIC_KEY_PATH": false, "POSTGRES_PASSWORD_FILE": false, "PRIVATE_KEY_PATH": false,
		"AWS_ACCESS_KEY_ID": false, "TOKEN_URL": false, "KEYRING": false, "GPG_KEYS": false,
		"PATH": false, "HOME": false, "": false,
	}
	for name, want := range tests {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLiteralCredential(t *testing.T) {
	tests := map[string]string{
		"https://user:pa55@example.com/x":           "a URL with an embedded password",
		"git clone https://oauth2:ghp_x@github.com": "a URL with an embedded password",
		"https://user:$TOKEN@example.com":           "",
		"https://user:${TOKEN}@example.com":         "",
		"https://user@example.com":                  "",
		"http://proxy:3128":                         "",
		"key AKIAIOSFODNN7EXAMPLE":                  "an AWS access key id",
		"ASIAIOSFODNN7EXAMPLE":                      "an AWS access key id",
		"AKIAshort":                                 "",
		"-----BEGIN PRIVATE KEY-----":               "a private key",
		"-----BEGIN EC PRIVATE KEY-----":            "a private key",
		"-----BEGIN PUBLIC KEY-----":                "",
	}
	for in, want := range tests {
		if got := literalCredential(in); got != want {
			t.Errorf("literalCredential(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageTag(t *testing.T) {
	tests := []struct {
		ref, name, tag string
		digest         bool
	}{
		{"ubuntu", "ubuntu", "", false},
		{"ubuntu:24.04", "ubuntu", "24.04", false},
		{"localhost:5000/app", "localhost:5000/app", "", false},
		{"localhost:5000/app:1", "localhost:5000/app", "1", false},
		{"alpine@sha256:abc", "alpine", "", true},
		{"alpine:3@sha256:abc", "alpine:3", "", true},
	}
	for _, tt := range tests {
		name, tag, digest := imageTag(tt.ref)
		if name != tt.name || tag != tt.tag || digest != tt.digest {
			t.Errorf("imageTag(%q) = %q, %q, %v; want %q, %q, %v", tt.ref, name, tag, digest, tt.name, tt.tag, tt.digest)
		}
	}
}

func TestAddNeedsADD(t *testing.T) {
	tests := map[string]bool{
		"https://example.com/x": true, "git@github.com:a/b.git": true, "https://github.com/a/b.git#main": true,
		"vendor.tar": true, "vendor.tar.gz": true, "v.TGZ": true, "v.tar.xz": true, "v.tar.bz2": true, "v.tar.zst": true,
		"$SRC": true, "app.conf": false, "./bin/": false, ".": false, "archive.zip": false, "file.gz": false,
	}
	for src, want := range tests {
		if got := addNeedsADD(src); got != want {
			t.Errorf("addNeedsADD(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestRulesCatalogue(t *testing.T) {
	rules := Rules()
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
		if r.Title == "" || r.Hint == "" {
			t.Errorf("%s has no title or hint", r.ID)
		}
	}
	want := []string{"XB000", "XB001", "XB002", "XB003", "XB004", "XB005", "XB006", "XB007", "XB008", "XB009", "XB010"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("rule IDs = %v, want %v", ids, want)
	}
	rules[0].ID = "changed"
	if Rules()[0].ID != "XB000" {
		t.Error("Rules returned the catalogue itself, not a copy")
	}
}

func TestGoBuildDetection(t *testing.T) {
	tests := []struct {
		run             string
		matches, builds bool
	}{
		{"go build -o /app .", true, true},
		{"CGO_ENABLED=0 go build ./...", true, true},
		{"cd src && go build .", true, true},
		{"/usr/local/go/bin/go build .", true, true},
		{"go install ./cmd/app", true, true},
		{"go install golang.org/x/tools/cmd/stringer@v0.30.0", true, false},
		{"go install -v honnef.co/go/tools/cmd/staticcheck@latest", true, false},
		{"go install tool@v1 && go build .", true, true},
		{"go mod download", false, false},
		{"cargo build --release", false, false},
		{"xx-go build -o /app .", false, false},
		{"echo go builder", false, false},
	}
	for _, tt := range tests {
		if got := goBuild.MatchString(tt.run); got != tt.matches {
			t.Errorf("goBuild(%q) = %v, want %v", tt.run, got, tt.matches)
		}
		if got := compilesGo(tt.run); got != tt.builds {
			t.Errorf("compilesGo(%q) = %v, want %v", tt.run, got, tt.builds)
		}
	}
	got := Check("Dockerfile", []byte("FROM golang:1.26\nRUN go install ./cmd/app\nUSER 1\n"), Env{DockerignoreExists: true})
	want := `stage #0 runs go install (line 2) but does not run on --platform=$BUILDPLATFORM: for every platform other than the builder's own, the Go compiler runs under emulation (5-20x slower)`
	if len(got) != 1 || got[0].Message != want {
		t.Errorf("go install stage: %+v", got)
	}
}

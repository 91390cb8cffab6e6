package redact

import "testing"

func TestLooksSecret(t *testing.T) {
	tests := map[string]bool{
		// the names already masked before
		"NPM_TOKEN": true, "DB_PASSWORD": true, "passwd": true, "AWS_SECRET_ACCESS_KEY": true,
		"API_KEY": true, "apikey": true, "SSH_PRIVATE_KEY": true, "AWS_ACCESS_KEY_ID": true, "GCP_CREDENTIALS": true,
		// widened
		"DB_PASS": true, "db-pass": true, "MYSQL_PWD": true, "BASIC_AUTH": true, "AUTH": true, "OAUTH_CLIENT": true,
		"GIT_CREDS": true, "NETRC": true, "SENTRY_DSN": true, "SESSION_COOKIE": true, "GITHUB_PAT": true,
		"SSH_KEY": true, "signing.key": true, "KEY": true, "GPG_PASSPHRASE": true, "AUTHORIZATION": true,
		// innocent
		"VERSION": false, "PWD": false, "BYPASS_CACHE": false, "AUTHOR": false, "KEYRING_DIR": false,
		"PATH": false, "HTTP_PROXY": false, "NO_PROXY": false, "COMPASS": false, "MONKEY": false, "": false,
	}
	for name, want := range tests {
		if got := LooksSecret(name); got != want {
			t.Errorf("LooksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAddBuildArgs(t *testing.T) {
	r := New()
	r.AddBuildArgs(map[string]string{
		"HTTP_PROXY": "http://bob:p#ss/w0rd@proxy.corp:3128",
		"NO_PROXY":   "localhost,.corp",
		"DB_PASS":    "hunter22",
		"LICENSE":    "ABCD-EFGH",
		"VERSION":    "1.2.3",
		"BASE":       "docker.io/library/alpine:3.19.1@sha256:0123abcd",
	}, "license")
	in := "HTTP_PROXY=http://bob:p#ss/w0rd@proxy.corp:3128 NO_PROXY=localhost,.corp DB_PASS=hunter22 LICENSE=ABCD-EFGH VERSION=1.2.3 BASE=docker.io/library/alpine:3.19.1@sha256:0123abcd p#ss/w0rd"
	want := "HTTP_PROXY=http://[REDACTED]@proxy.corp:3128 NO_PROXY=localhost,.corp DB_PASS=[REDACTED] LICENSE=[REDACTED] VERSION=1.2.3 BASE=docker.io/library/alpine:3.19.1@sha256:0123abcd [REDACTED]"
	if got := r.String(in); got != want {
		t.Errorf("String =\n %q\nwant\n %q", got, want)
	}
}

func TestAddCache(t *testing.T) {
	tests := []struct {
		spec, in, want string
	}{
		{
			spec: "type=s3,region=eu-west-1,bucket=cache,access_key_id=AKIAEXAMPLE,secret_access_key=wJalr/XUtnFEMI,session_token=FwoGZX",
			in:   "--cache-to type=s3,region=eu-west-1,bucket=cache,access_key_id=AKIAEXAMPLE,secret_access_key=wJalr/XUtnFEMI,session_token=FwoGZX",
			want: "--cache-to type=s3,region=eu-west-1,bucket=cache,access_key_id=[REDACTED],secret_access_key=[REDACTED],session_token=[REDACTED]",
		},
		{
			spec: "type=registry,ref=ci:tok3n@registry.example.com/app:cache,mode=max",
			in:   "--cache-from type=registry,ref=ci:tok3n@registry.example.com/app:cache,mode=max",
			want: "--cache-from type=registry,ref=[REDACTED]@registry.example.com/app:cache,mode=max",
		},
		{
			spec: "ci:tok3n@registry.example.com/app:cache",
			in:   "--cache-from ci:tok3n@registry.example.com/app:cache tok3n",
			want: "--cache-from [REDACTED]@registry.example.com/app:cache [REDACTED]",
		},
		{
			spec: `type=gha,"token=ab,""cd""",url=https://cache.example.com`,
			in:   `--cache-to 'type=gha,"token=ab,""cd""",url=https://cache.example.com' ab,"cd"`,
			want: `--cache-to 'type=gha,"token=[REDACTED]",url=https://cache.example.com' [REDACTED]`,
		},
		{
			spec: `type=gha,token="unterminated,url=x`,
			in:   `token="unterminated url=x`,
			want: `token=[REDACTED] url=x`,
		},
	}
	for _, tc := range tests {
		r := New()
		r.AddCache(tc.spec)
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("AddCache(%q):\n got %q\nwant %q", tc.spec, got, tc.want)
		}
	}
}

func TestMaskValue(t *testing.T) {
	for in, want := range map[string]string{
		"TOKEN=abc,def": "TOKEN=[REDACTED]",
		"TOKEN=":        "TOKEN=[REDACTED]",
		"def":           "[REDACTED]",
		"":              "[REDACTED]",
	} {
		if got := MaskValue(in); got != want {
			t.Errorf("MaskValue(%q) = %q, want %q", in, got, want)
		}
	}
}

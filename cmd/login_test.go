package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
)

// authRegistry is a registry:2 with htpasswd: /v2/ answers 200 to
// ci:s3cret-pw, 401 with a Basic challenge otherwise.
func authRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret-pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// runWithStdin runs the command tree with stdin and DOCKER_CONFIG=dir.
func runWithStdin(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	io, out, errOut := iostreams.Test()
	io.In = strings.NewReader(stdin)
	env := map[string]string{"DOCKER_CONFIG": dir, "HOME": t.TempDir()}
	f := NewFactory(io, func(k string) string { return env[k] })
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	ctx := context.Background()
	code := handleError(io, root.ExecuteContext(ctx), ctx)
	return code, out.String(), errOut.String()
}

// auths returns config.json's auths as host -> user:password.
func auths(t *testing.T, dir string) map[string]string {
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
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range cfg.Auths {
		raw, _ := base64.StdEncoding.DecodeString(v.Auth)
		out[k] = string(raw)
	}
	return out
}

// Login checks the credentials against the registry before it saves them
// in an empty docker config; the password never reaches the output; a
// refused password saves nothing; logout takes the entry out again and
// leaves the others.
func TestLoginLogout(t *testing.T) {
	host := authRegistry(t)
	dir := filepath.Join(t.TempDir(), "docker")

	code, out, errOut := runWithStdin(t, dir, "wrong-pw\n", "login", host, "-u", "ci", "--password-stdin")
	if code != ExitFailure || errOut != "Error: logging in to "+host+" as ci: the registry refused the username or password; nothing was saved\n" || out != "" {
		t.Fatalf("wrong password: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a refused login wrote %s: %v", dir, err)
	}

	code, out, errOut = runWithStdin(t, dir, "s3cret-pw\n", "login", host, "-u", "ci", "--password-stdin")
	if code != ExitOK || out != "Login Succeeded\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if want := "WARNING: the password for " + host + " is stored unencrypted (base64) in " + filepath.Join(dir, "config.json") +
		"; configure a credential helper (credsStore) to avoid it\n"; errOut != want {
		t.Errorf("stderr %q\nwant   %q", errOut, want)
	}
	if got := auths(t, dir); !reflect.DeepEqual(got, map[string]string{host: "ci:s3cret-pw"}) {
		t.Errorf("auths = %v", got)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v", st.Mode())
	}

	// a second registry's entry stays when the first logs out
	other := authRegistry(t)
	if code, _, errOut := runWithStdin(t, dir, "", "login", "http://"+other+"/v2/", "-u", "ci", "-p", "s3cret-pw"); code != ExitOK ||
		!strings.Contains(errOut, "WARNING: using --password on the command line is insecure") || strings.Contains(errOut, "s3cret-pw") {
		t.Fatalf("login -p: exit %d\n%s", code, errOut)
	}
	code, out, _ = runWithStdin(t, dir, "", "logout", host)
	if code != ExitOK || out != "Removing login credentials for "+host+"\n" {
		t.Fatalf("logout: exit %d, %q", code, out)
	}
	if got := auths(t, dir); !reflect.DeepEqual(got, map[string]string{other: "ci:s3cret-pw"}) {
		t.Errorf("auths after logout = %v", got)
	}
	if code, out, _ = runWithStdin(t, dir, "", "logout", host); code != ExitOK || out != "Not logged in to "+host+": no credentials were stored for it\n" {
		t.Errorf("second logout: exit %d, %q", code, out)
	}
}

// Flag mistakes are usage errors, as in docker login; none saves anything
// or contacts the registry.
func TestLoginUsageErrors(t *testing.T) {
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"r.example", "-u", "ci"}, "", `no password: pass it on stdin with --password-stdin (echo "$TOKEN" | xbuild login REGISTRY -u USER --password-stdin)`},
		{[]string{"r.example", "--password-stdin"}, "pw", "no username: pass -u USER (xbuild does not prompt)"},
		{[]string{"r.example", "-u", "", "--password-stdin"}, "pw", "--username is empty"},
		{[]string{"r.example", "-u", "ci", "-p", "pw", "--password-stdin"}, "pw", "--password and --password-stdin do not go together"},
		{[]string{"r.example", "-u", "ci", "--password-stdin"}, "\n", "--password-stdin: the password on stdin is empty"},
		{[]string{"r.example", "-u", "ci", "-p", ""}, "", "--password is empty"},
		{[]string{"a b", "-u", "ci", "-p", "pw"}, "", `"a b" is not a registry (HOST[:PORT], e.g. registry.example.com:5000)`},
		{[]string{"r.example", "other.example", "-u", "ci", "-p", "pw"}, "", `"xbuild login" takes at most one REGISTRY (got 2 argument(s))`},
	}
	for _, tc := range tests {
		dir := filepath.Join(t.TempDir(), "docker")
		code, out, errOut := runWithStdin(t, dir, tc.stdin, append([]string{"login"}, tc.args...)...)
		if code != ExitUsage || !strings.HasPrefix(errOut, "Error: "+tc.want+"\n") || out != "" {
			t.Errorf("login %q: exit %d\nstderr %q\nwant   %q", tc.args, code, errOut, tc.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("login %q wrote the docker config", tc.args)
		}
	}
}

// Only one line end is taken off the password read from stdin.
func TestLoginPasswordFromStdin(t *testing.T) {
	for stdin, want := range map[string]string{"pw\n": "pw", "pw\r\n": "pw", "pw": "pw", "pw \n\n": "pw \n", " pw\r": " pw"} {
		got, err := loginPassword(&loginOptions{username: "u", passwordStdin: true}, strings.NewReader(stdin), nil)
		if err != nil || got != want {
			t.Errorf("stdin %q: %q, %v; want %q", stdin, got, err, want)
		}
	}
	// -p - reads stdin too
	got, err := loginPassword(&loginOptions{username: "u", password: "-", passwordSet: true}, strings.NewReader("pw\n"), nil)
	if err != nil || got != "pw" {
		t.Errorf("-p -: %q, %v", got, err)
	}
}

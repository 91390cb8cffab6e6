package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoginServer(t *testing.T) {
	tests := []struct{ arg, key, host, err string }{
		{"", DockerHubServer, "index.docker.io", ""},
		{"docker.io", DockerHubServer, "index.docker.io", ""},
		{"index.docker.io", DockerHubServer, "index.docker.io", ""},
		{"registry.example.com:5000", "registry.example.com:5000", "registry.example.com:5000", ""},
		{"https://registry.example.com/v2/", "registry.example.com", "registry.example.com", ""},
		{"ghcr.io/team/app", "ghcr.io", "ghcr.io", ""},
		{"a b", "", "", `"a b" is not a registry (HOST[:PORT], e.g. registry.example.com:5000)`},
	}
	for _, tc := range tests {
		key, host, err := LoginServer(tc.arg)
		if key != tc.key || host != tc.host || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("LoginServer(%q) = %q, %q, %v; want %q, %q, %q", tc.arg, key, host, err, tc.key, tc.host, tc.err)
		}
	}
}

func TestDockerConfigDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := DockerConfigDir(env(map[string]string{"DOCKER_CONFIG": "/d", "HOME": "/h"})); got != "/d" {
		t.Errorf("got %s", got)
	}
	if got := DockerConfigDir(env(map[string]string{"HOME": "/h"})); got != "/h/.docker" {
		t.Errorf("got %s", got)
	}
}

// readConfig decodes DIR/config.json as a generic map.
func readConfig(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("config.json: %v\n%s", err, b)
	}
	return m
}

// Save writes auths the way docker login does (base64 user:password under
// the host), keeps every other entry and the file's mode, and Remove
// takes the entry out again, including the forms older dockers wrote.
func TestDockerLoginFileStore(t *testing.T) {
	dir := t.TempDir()
	before := `{"auths":{"other.example.com":{"auth":"b3RoZXI6cHc="},"https://registry.example.com":{"auth":"b2xkOm9sZA=="}},` +
		`"credHelpers":{"gcr.io":"gcloud"},"currentContext":"farm","proxies":{"default":{"httpProxy":"http://proxy:3128"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(before), 0o640); err != nil {
		t.Fatal(err)
	}
	saved, err := DockerLogin{Dir: dir}.Save("registry.example.com", "ci", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if saved != (Saved{File: filepath.Join(dir, "config.json")}) {
		t.Errorf("saved = %+v", saved)
	}
	got := readConfig(t, dir)
	want := map[string]any{
		"auths": map[string]any{
			"other.example.com":            map[string]any{"auth": "b3RoZXI6cHc="},
			"https://registry.example.com": map[string]any{"auth": "b2xkOm9sZA=="},
			"registry.example.com":         map[string]any{"auth": "Y2k6czNjcmV0"}, // ci:s3cret
		},
		"credHelpers":    map[string]any{"gcr.io": "gcloud"},
		"currentContext": "farm",
		"proxies":        map[string]any{"default": map[string]any{"httpProxy": "http://proxy:3128"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.json =\n%v\nwant\n%v", got, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v", st.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}

	removed, helpers, err := DockerLogin{Dir: dir}.Remove("registry.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []string{"registry.example.com", "https://registry.example.com"}) || helpers != nil {
		t.Errorf("removed %v, helpers %v", removed, helpers)
	}
	delete(want["auths"].(map[string]any), "registry.example.com")
	delete(want["auths"].(map[string]any), "https://registry.example.com")
	if got := readConfig(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("after Remove:\n%v\nwant\n%v", got, want)
	}
	// nothing left to remove: no error, nothing listed
	if removed, _, err := (DockerLogin{Dir: dir}).Remove("registry.example.com"); err != nil || removed != nil {
		t.Errorf("second Remove: %v, %v", removed, err)
	}
}

// An empty directory gets a config.json of its own, 0600.
func TestDockerLoginEmptyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	if _, err := (DockerLogin{Dir: dir}).Save(DockerHubServer, "me", "pw"); err != nil {
		t.Fatal(err)
	}
	got := readConfig(t, dir)
	if want := map[string]any{"auths": map[string]any{DockerHubServer: map[string]any{"auth": "bWU6cHc="}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("config.json = %v", got)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", st.Mode())
	}
}

// A config.json that does not parse is left alone.
func TestDockerLoginRefusesBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(`{"auths": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := DockerLogin{Dir: dir}.Save("r.example", "u", "pw")
	if err == nil || !strings.Contains(err.Error(), "parsing config file ("+p+")") || !strings.HasSuffix(err.Error(), "fix or move it first; it was not changed") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != `{"auths": {` {
		t.Errorf("config.json changed: %s", b)
	}
}

// With a credential helper configured (credHelpers for the registry, or
// credsStore), the password goes to docker-credential-NAME, never into
// config.json; logout asks the helper to erase it.
func TestDockerLoginCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	script := "#!/bin/sh\nprintf '%s ' \"$(basename $0) $1\" >> " + log + "\ncat >> " + log + "\necho >> " + log + "\n"
	for _, name := range []string{"docker-credential-xtest", "docker-credential-xdefault"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"xdefault","credHelpers":{"registry.example.com":"xtest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	saved, err := DockerLogin{Dir: dir}.Save("registry.example.com", "ci", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Helper != "xtest" {
		t.Errorf("helper = %q", saved.Helper)
	}
	if _, err := (DockerLogin{Dir: dir}).Save("other.example.com", "ci2", "pw2"); err != nil {
		t.Fatal(err)
	}
	// config.json keeps empty entries, as docker's helper store leaves them
	got := readConfig(t, dir)
	want0 := map[string]any{"auths": map[string]any{"registry.example.com": map[string]any{}, "other.example.com": map[string]any{}},
		"credsStore": "xdefault", "credHelpers": map[string]any{"registry.example.com": "xtest"}}
	if !reflect.DeepEqual(got, want0) {
		t.Errorf("config.json = %v\nwant %v", got, want0)
	}
	if _, _, err := (DockerLogin{Dir: dir}).Remove("registry.example.com"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(log)
	calls := strings.ReplaceAll(string(raw), "\n\n", "\n")
	want := `docker-credential-xtest store {"ServerURL":"registry.example.com","Username":"ci","Secret":"s3cret"}` + "\n" +
		`docker-credential-xdefault store {"ServerURL":"other.example.com","Username":"ci2","Secret":"pw2"}` + "\n" +
		"docker-credential-xtest erase registry.example.com\n" +
		"docker-credential-xdefault erase http://registry.example.com\n" +
		"docker-credential-xdefault erase https://registry.example.com\n"
	if calls != want {
		t.Errorf("helper calls:\n%s\nwant\n%s", calls, want)
	}
}

package buildstate

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestContextDigest(t *testing.T) {
	base := func(t *testing.T) string {
		dir := t.TempDir()
		write(t, dir, "main.go", "package main")
		write(t, dir, "go.mod", "module x")
		write(t, dir, "Dockerfile", "FROM scratch")
		write(t, dir, ".dockerignore", "*.log\nnode_modules\n")
		write(t, dir, "build.log", "noise")
		write(t, dir, "node_modules/a/index.js", "x")
		return dir
	}
	digest := func(t *testing.T, dir string) string {
		d, err := ContextDigest(dir, filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ref := digest(t, base(t))
	if !strings.HasPrefix(ref, "sha256:") || len(ref) != 71 {
		t.Fatalf("digest %q", ref)
	}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		same   bool
	}{
		{"another checkout of the same files", func(*testing.T, string) {}, true},
		{"an ignored file changed", func(t *testing.T, d string) { write(t, d, "build.log", "other noise") }, true},
		{"a file in an ignored dir added", func(t *testing.T, d string) { write(t, d, "node_modules/b.js", "y") }, true},
		{"mtime changed", func(t *testing.T, d string) {
			_ = os.Chtimes(filepath.Join(d, "main.go"), time.Unix(1, 0), time.Unix(1, 0))
		}, true},
		{"a source line changed", func(t *testing.T, d string) { write(t, d, "main.go", "package main // v2") }, false},
		{"a file added", func(t *testing.T, d string) { write(t, d, "extra.txt", "") }, false},
		{"a file made executable", func(t *testing.T, d string) { _ = os.Chmod(filepath.Join(d, "main.go"), 0o755) }, false},
		{"a file renamed", func(t *testing.T, d string) {
			_ = os.Rename(filepath.Join(d, "main.go"), filepath.Join(d, "app.go"))
		}, false},
		{"the Dockerfile's own ignore file wins", func(t *testing.T, d string) {
			write(t, d, "Dockerfile.dockerignore", "*.go\n")
			write(t, d, "main.go", "changed but ignored now")
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := base(t)
			tc.change(t, dir)
			if got := digest(t, dir); (got == ref) != tc.same {
				t.Errorf("digest %s vs %s: same=%v, want %v", got, ref, got == ref, tc.same)
			}
		})
	}
	if _, err := ContextDigest(filepath.Join(t.TempDir(), "missing"), ""); err == nil || !strings.Contains(err.Error(), "reading the build context") {
		t.Errorf("missing context: %v", err)
	}
}

func TestKey(t *testing.T) {
	k := Key("sha256:c", []byte("FROM scratch"), map[string]string{"build-arg:V": "1", "compression": "zstd"})
	if !keyOK(k) {
		t.Fatalf("key %q", k)
	}
	for name, other := range map[string]string{
		"context":    Key("sha256:d", []byte("FROM scratch"), map[string]string{"build-arg:V": "1", "compression": "zstd"}),
		"dockerfile": Key("sha256:c", []byte("FROM busybox"), map[string]string{"build-arg:V": "1", "compression": "zstd"}),
		"arg value":  Key("sha256:c", []byte("FROM scratch"), map[string]string{"build-arg:V": "2", "compression": "zstd"}),
		"setting":    Key("sha256:c", []byte("FROM scratch"), map[string]string{"build-arg:V": "1", "compression": "gzip"}),
		"name/value": Key("sha256:c", []byte("FROM scratch"), map[string]string{"build-arg:V": "1", "compressio": "nzstd"}),
	} {
		if other == k {
			t.Errorf("a changed %s keeps the key", name)
		}
	}
	if Key("sha256:c", []byte("FROM scratch"), map[string]string{"compression": "zstd", "build-arg:V": "1"}) != k {
		t.Error("the key depends on map order")
	}
}

func TestStoreRecordLoadForget(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := &Store{Dir: t.TempDir(), Now: func() time.Time { return now }}
	key := Key("sha256:c", nil, map[string]string{"build-arg:TOKEN": "s3cret-value"})
	st, err := s.Load(key)
	if err != nil || len(st.Platforms) != 0 {
		t.Fatalf("fresh Load = %+v, %v", st, err)
	}
	var wg sync.WaitGroup
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/riscv64"} {
		wg.Go(func() {
			if err := s.Record(key, "r.example/app", p, Platform{Digest: "sha256:" + p, Node: "n", Result: "built"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st, err = s.Load(key)
	if err != nil || len(st.Platforms) != 3 || st.Platforms["linux/arm64"].Digest != "sha256:linux/arm64" || st.Repository != "r.example/app" {
		t.Fatalf("after three concurrent records: %+v, %v", st, err)
	}
	b, _ := os.ReadFile(s.file(key))
	if strings.Contains(string(b), "s3cret") {
		t.Error("a build-arg value reached the state file")
	}
	if fi, _ := os.Stat(s.file(key)); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", fi.Mode())
	}

	// too old: not trusted
	now = now.Add(MaxAge + time.Hour)
	if st, _ := s.Load(key); len(st.Platforms) != 0 {
		t.Errorf("a week-old state was trusted: %+v", st)
	}
	now = now.Add(-MaxAge - time.Hour)

	if err := s.Forget(key); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.file(key)); !os.IsNotExist(err) {
		t.Errorf("state file still there: %v", err)
	}
}

func TestStoreDistrustsBadFiles(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	key := Key("sha256:c", nil, nil)
	write(t, s.dir(), key+".json", "{not json")
	st, err := s.Load(key)
	if err == nil || !strings.Contains(err.Error(), "is not one this xbuild wrote") || len(st.Platforms) != 0 {
		t.Errorf("corrupt: %+v, %v", st, err)
	}
	other := Key("sha256:d", nil, nil)
	write(t, s.dir(), key+".json", `{"schemaVersion":1,"key":"`+other+`","platforms":{"linux/amd64":{"digest":"sha256:x"}}}`)
	if st, err := s.Load(key); err == nil || len(st.Platforms) != 0 {
		t.Errorf("a state filed under another key was trusted: %+v, %v", st, err)
	}
	if _, err := s.Load("../../etc/passwd"); err == nil {
		t.Error("a path was accepted as a key")
	}
	// Record replaces an unreadable file
	if err := s.Record(key, "r/app", "linux/amd64", Platform{Digest: "sha256:y"}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(key); err != nil || st.Platforms["linux/amd64"].Digest != "sha256:y" {
		t.Errorf("after Record: %+v, %v", st, err)
	}
}

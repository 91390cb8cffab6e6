package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReferenceUpToDate fails when docs/reference no longer matches the
// command tree: run `make docs` and commit the result.
func TestReferenceUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "docs", "reference")
	want, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(want) == 0 {
		t.Fatalf("nothing generated: %v", err)
	}
	have, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	if len(have) != len(want) {
		t.Errorf("docs/reference has %d files, the command tree makes %d: run make docs", len(have), len(want))
	}
	for _, p := range want {
		got, _ := os.ReadFile(p)
		old, err := os.ReadFile(filepath.Join(committed, filepath.Base(p)))
		if err != nil || !bytes.Equal(got, old) {
			t.Errorf("docs/reference/%s is out of date: run make docs", filepath.Base(p))
		}
	}
}

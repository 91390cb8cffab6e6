package registry

import (
	"strings"
	"testing"
)

func TestRepository(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct{ ref, want, err string }{
		{"registry.example.com/team/app:1.0", "registry.example.com/team/app", ""},
		{"registry.example.com:5000/app@" + digest, "registry.example.com:5000/app", ""},
		{"alpine", "index.docker.io/library/alpine", ""},
		{"UPPER/Case::bad", "", `"UPPER/Case::bad" is not an image reference (REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:...)`},
	} {
		got, err := Repository(tc.ref)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("Repository(%q) = %q, %v; want %q, %q", tc.ref, got, err, tc.want, tc.err)
		}
	}
}

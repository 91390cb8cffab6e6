package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Repository returns the repository of an image reference, a tag
// (registry.example.com/app:1.0) or a digest (registry.example.com/app@sha256:...),
// or an error saying why ref is not one.
func Repository(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not an image reference (REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:...): %w", ref, err)
	}
	return r.Context().Name(), nil
}

package nodes

import "github.com/xbuild-dev/xbuild/internal/engine"

// DockerContexts keeps the docker CLI contexts through which buildx's
// docker-container driver reaches docker nodes. Production code uses
// engine.DockerContextStore (the docker config directory); tests use a
// fake, so no test writes to a real ~/.docker.
type DockerContexts interface {
	// Ensure creates or updates a context.
	Ensure(c engine.DockerContext) error
	// Remove deletes a context; a missing one is not an error.
	Remove(name string) error
}

var _ DockerContexts = engine.DockerContextStore{}

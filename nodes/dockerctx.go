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
	// Snapshot captures a context exactly as stored (or that there is
	// none), so that Restore can undo a change that has to be rolled back.
	Snapshot(name string) (engine.DockerContextSnapshot, error)
	// Restore puts a context back as Snapshot found it.
	Restore(s engine.DockerContextSnapshot) error
}

var _ DockerContexts = engine.DockerContextStore{}

// dockerContextFor is the docker context of a docker node, carrying the
// TLS material that was read and checked for it (nil for a node without TLS).
func dockerContextFor(n Node, mat *TLSMaterial) engine.DockerContext {
	dc := engine.DockerContext{Name: DockerContextName(n.Name), Host: n.Endpoint, Description: "xbuild node " + n.Name}
	if mat != nil {
		dc.CA, dc.Cert, dc.Key = mat.CA, mat.Cert, mat.Key
	}
	return dc
}

package nodes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrInvalidRequest is matched (errors.Is) by the errors of a request that
// is wrong in itself (a bad node name, platforms missing where the node is
// not contacted): nothing was contacted or written, and the caller should
// ask differently.
var ErrInvalidRequest = errors.New("invalid request")

func invalidf(format string, a ...any) error {
	return &registryError{ErrInvalidRequest, fmt.Sprintf(format, a...)}
}

// Registrar adds nodes to the registry and removes them, keeping the
// buildx builders and the docker contexts of docker nodes in step. Each
// operation is planned, then applied: everything is validated and the
// node contacted before the first write, and a failure afterwards is
// rolled back so the registry and the docker contexts are as they were.
type Registrar struct {
	// Store is the node registry.
	Store *Store
	// Buildx runs the buildx commands that sync builders.
	Buildx Buildxer
	// Prober asks a new node's daemon for its version and platforms.
	Prober Prober
	// Dial opens connections to new nodes; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Contexts keeps the docker contexts of docker nodes.
	Contexts DockerContexts
	// BinfmtDir is where binfmt_misc is mounted ("" means BinfmtDir), for
	// emulated nodes on this machine.
	BinfmtDir string
	// Now is the clock for certificate validity and Added; nil means
	// time.Now.
	Now func() time.Time
	// Warn receives warnings as they arise (an expiring certificate, an
	// insecure node, a context that could not be removed); nil drops them.
	Warn func(msg string)
}

func (r *Registrar) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Registrar) warn(format string, a ...any) {
	if r.Warn != nil {
		r.Warn(fmt.Sprintf(format, a...))
	}
}

// undoStack holds the steps that undo what an operation has applied so
// far; run undoes them, last first.
type undoStack []func() error

func (u *undoStack) push(f func() error) { *u = append(*u, f) }

func (u undoStack) run() error {
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// undone reports a failed operation after its rollback: err alone when the
// rollback worked, else err with what could not be undone.
func undone(err, undoErr error) error {
	if undoErr == nil {
		return err
	}
	return fmt.Errorf("%w\n  undoing the change failed too, so check xbuild nodes ls and docker context ls: %v", err, undoErr)
}

package nodes

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// rollbackTimeout bounds the buildx calls of a rollback, which run even
// when the operation's context was cancelled (an interrupted add must
// still be undone).
const rollbackTimeout = time.Minute

// applyAdd writes a planned add: the docker context of a docker node, the
// node's file, the builder sync. A failing step undoes the ones before it.
func (r *Registrar) applyAdd(ctx context.Context, p *addPlan) (*SyncResult, error) {
	n := p.node
	var undo undoStack
	if p.context != nil {
		snap, err := r.Contexts.Snapshot(p.context.Name)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w; nothing was registered", n.Name, err)
		}
		restore := func() error { return r.Contexts.Restore(snap) }
		if err := r.Contexts.Ensure(*p.context); err != nil {
			if rerr := restore(); rerr != nil {
				return nil, undone(fmt.Errorf("node %s: %w", n.Name, err), rerr)
			}
			return nil, fmt.Errorf("node %s: %w; nothing was registered", n.Name, err)
		}
		undo.push(restore)
	}
	synced, err := r.Store.SyncState(n.Builder)
	if err != nil {
		return nil, undone(err, undo.run())
	}
	if err := r.Store.Add(n); err != nil {
		if undoErr := undo.run(); undoErr != nil {
			return nil, undone(err, undoErr)
		}
		return nil, fmt.Errorf("%w; nothing was registered", err) // a full disk, say
	}
	undo.push(func() error { return r.unregister(ctx, n, synced) })
	res, err := SyncBuilder(ctx, r.Buildx, r.Store, n.Builder)
	if err != nil {
		undoErr := undo.run()
		return nil, undone(syncFailure(n, p.ep, err, undoErr == nil), undoErr)
	}
	// the node's own builder, which xbuild builds on: made now, so buildx
	// has accepted the node before it is registered
	own := NodeBuilderName(n.Name)
	undo.push(func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_, err := ApplyBuilder(ctx, r.Buildx, r.Store, own, nil)
		return err
	})
	if _, err := ApplyBuilder(ctx, r.Buildx, r.Store, own, NodeBuilder(n.Name, []Node{n})); err != nil {
		undoErr := undo.run()
		return nil, undone(syncFailure(n, p.ep, err, undoErr == nil), undoErr)
	}
	return res, nil
}

// unregister takes a node out of the registry again after its builder
// sync failed. When that sync changed the builder part way (another node
// updated before this one failed), the builder is synced back to the
// registry without the node, which brings its sync record back to synced.
func (r *Registrar) unregister(ctx context.Context, n Node, synced map[string]string) error {
	if err := r.Store.Remove(n.Name); err != nil {
		return err
	}
	now, err := r.Store.SyncState(n.Builder)
	if err != nil {
		return err
	}
	if maps.Equal(now, synced) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := SyncBuilder(ctx, r.Buildx, r.Store, n.Builder); err != nil {
		return fmt.Errorf("re-syncing builder %s without node %s: %w", n.Builder, n.Name, err)
	}
	return nil
}

// syncFailure explains a failed builder sync of a new node; undone says
// whether the rollback left nothing behind.
func syncFailure(n Node, ep Endpoint, err error, undone bool) error {
	tail := ""
	if undone {
		tail = "; nothing was registered"
	}
	if n.Kind == KindKubernetes {
		return fmt.Errorf("%w\n  kubernetes nodes use this machine's kubeconfig (KUBECONFIG or ~/.kube/config): check that `kubectl -n %s get pods` works%s", err, ep.Namespace, tail)
	}
	if undone {
		return fmt.Errorf("%w\n  nothing was registered", err)
	}
	return err
}

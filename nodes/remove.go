package nodes

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// RemoveRequest names the nodes to remove.
type RemoveRequest struct {
	Names []string
}

// RemoveResult is what Remove did.
type RemoveResult struct {
	// Removed are the nodes taken out of the registry, in request order.
	Removed []Node
	// Builders are the builders synced afterwards, by name.
	Builders []*SyncResult
}

// Remove takes nodes out of the registry, all or none: every name must be
// registered, or nothing is changed. Each builder that loses a node is
// then synced, and the docker contexts of docker nodes are removed last
// (buildx needs them to take the nodes out of the builder). The registry
// change is not undone when a sync fails: the next sync of that builder
// retries it, and a dead node must stay removable. Then Remove returns the
// result so far with the error.
func (r *Registrar) Remove(ctx context.Context, req RemoveRequest) (*RemoveResult, error) {
	if len(req.Names) == 0 {
		return nil, invalidf("no node names given: xbuild nodes rm NAME [NAME...]")
	}
	var gone []Node
	var names, builders []string
	for _, name := range req.Names {
		if slices.Contains(names, name) {
			continue
		}
		n, err := r.Store.Get(name)
		var in []string
		switch {
		case err == nil:
			in = []string{n.Builder}
		case errors.Is(err, ErrNotFound):
			return nil, err
		default:
			// its file cannot be read: it is removed all the same, from
			// the builders its last syncs put it in
			r.warn("node %s: %v; removing it anyway", name, err)
			n = Node{Name: name}
			if in, err = r.Store.buildersWith(name); err != nil {
				return nil, err
			}
		}
		gone, names = append(gone, n), append(names, name)
		for _, b := range in {
			if !slices.Contains(builders, b) {
				builders = append(builders, b)
			}
		}
	}
	slices.Sort(builders)

	if err := r.Store.Remove(names...); err != nil {
		return nil, err
	}
	res := &RemoveResult{Removed: gone}
	var syncErr error
	for _, b := range builders {
		sr, err := SyncBuilder(ctx, r.Buildx, r.Store, b)
		if err != nil {
			syncErr = fmt.Errorf("the nodes were removed from the registry, but %w (the next xbuild nodes add or nodes rm on that builder retries it)", err)
			break
		}
		res.Builders = append(res.Builders, sr)
	}
	for _, n := range gone {
		if _, err := ApplyBuilder(ctx, r.Buildx, r.Store, NodeBuilderName(n.Name), nil); err != nil {
			r.warn("removing buildx builder %s: %v", NodeBuilderName(n.Name), err)
		}
		if n.Kind != KindDocker {
			continue
		}
		if err := r.Contexts.Remove(DockerContextName(n.Name)); err != nil {
			r.warn("removing docker context %s: %v", DockerContextName(n.Name), err)
		}
	}
	return res, syncErr
}

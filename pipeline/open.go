package pipeline

import (
	"errors"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// Opener opens what the steps need from outside the process, each on
// first use: lint runs before the node registry or the engine is touched,
// a step that needs none of them opens none, and --dry-run opens nothing
// that writes (cmd gives it a read-only node list and no Store). A nil
// func leaves the matching State field as it was set (tests set them).
type Opener struct {
	// Nodes lists the registered nodes.
	Nodes func() ([]nodes.Node, error)
	// Store opens the node registry, where the build step records the
	// builder it applies.
	Store func() (*nodes.Store, error)
	// Engine builds the buildx engine.
	Engine func() (engine.Engine, error)
	// Checker returns the health checker, probing through e.
	Checker func(e engine.Engine) *nodes.Checker
	// Registry returns the registry reader verify uses.
	Registry func() (Registry, error)
}

// nodeList returns the registered nodes, listing them on first use.
func (s *State) nodeList() ([]nodes.Node, error) {
	if !s.nodesListed && s.Open.Nodes != nil {
		all, err := s.Open.Nodes()
		if err != nil {
			return nil, err
		}
		s.Nodes = all
	}
	s.nodesListed = true
	return s.Nodes, nil
}

// engine returns the engine, building it on first use.
func (s *State) engine() (engine.Engine, error) {
	if s.Engine == nil && s.Open.Engine != nil {
		e, err := s.Open.Engine()
		if err != nil {
			return nil, err
		}
		s.Engine = e
	}
	if s.Engine == nil {
		return nil, errors.New("internal error: no engine")
	}
	return s.Engine, nil
}

// checker returns the health checker, making it (and the engine it probes
// through) on first use.
func (s *State) checker() (*nodes.Checker, error) {
	if s.Checker == nil && s.Open.Checker != nil {
		e, err := s.engine()
		if err != nil {
			return nil, err
		}
		s.Checker = s.Open.Checker(e)
	}
	if s.Checker == nil {
		return nil, errors.New("internal error: no health checker")
	}
	return s.Checker, nil
}

// store returns the node registry, opening it on first use.
func (s *State) store() (*nodes.Store, error) {
	if s.Store == nil && s.Open.Store != nil {
		st, err := s.Open.Store()
		if err != nil {
			return nil, err
		}
		s.Store = st
	}
	if s.Store == nil {
		return nil, errors.New("internal error: no node registry")
	}
	return s.Store, nil
}

// registry returns the registry reader, making it on first use.
func (s *State) registry() (Registry, error) {
	if s.Registry == nil && s.Open.Registry != nil {
		r, err := s.Open.Registry()
		if err != nil {
			return nil, err
		}
		s.Registry = r
	}
	if s.Registry == nil {
		return nil, errors.New("internal error: no registry client")
	}
	return s.Registry, nil
}

// stateDir is where --dry-run reads the recorded builder state.
func (s *State) stateDir() string {
	if s.StateDir == "" && s.Store != nil {
		return s.Store.Dir()
	}
	return s.StateDir
}

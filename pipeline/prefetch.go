package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/xbuild-dev/xbuild/nodes"
)

// healthPrefetch checks the builder's nodes while the Dockerfile is
// linted: the two do not depend on each other, and the plan step then
// routes on health it does not wait for again. Nothing is built before
// lint has passed; a failed lint cancels the checks and waits for them.
type healthPrefetch struct {
	cancel context.CancelFunc
	done   chan struct{}

	// valid once done is closed
	candidates []nodes.Node
	health     []nodes.Health
	took       time.Duration
}

// startPrefetch starts the node health checks of the plan step in the
// background. It is a no-op when there is nothing to check (no registered
// node for these platforms, no checker) or when checks already started.
func (s *State) startPrefetch(ctx context.Context) {
	if s.prefetch != nil || (s.Open.Checker == nil && s.Checker == nil) {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &healthPrefetch{cancel: cancel, done: make(chan struct{})}
	s.prefetch = p
	go func() {
		defer close(p.done)
		all, err := s.nodeList()
		if err != nil {
			return // the plan step lists them again and reports the error
		}
		candidates := nodesFor(all, s.Config.Builder, s.Config.Platforms)
		if len(candidates) == 0 {
			return
		}
		checker, err := s.checker()
		if err != nil {
			return
		}
		start := s.now()
		health := checker.Check(pctx, candidates)
		if pctx.Err() != nil {
			return // cancelled checks say nothing about the nodes
		}
		p.candidates, p.health, p.took = candidates, health, s.now().Sub(start)
	}()
}

// takePrefetch waits for the background checks and returns their health
// when they checked exactly candidates; ok is false when there are none
// to use (the caller checks the nodes itself).
func (s *State) takePrefetch(candidates []nodes.Node) (health []nodes.Health, took time.Duration, ok bool) {
	p := s.prefetch
	if p == nil {
		return nil, 0, false
	}
	<-p.done
	p.cancel()
	s.prefetch = nil
	same := slices.EqualFunc(p.candidates, candidates, func(a, b nodes.Node) bool { return a.Name == b.Name && a.Endpoint == b.Endpoint })
	if p.health == nil || !same {
		return nil, 0, false
	}
	return p.health, p.took, true
}

// stopPrefetch cancels background checks still running and waits for
// them, so that nothing touches the state once the pipeline returns.
func (s *State) stopPrefetch() {
	if p := s.prefetch; p != nil {
		p.cancel()
		<-p.done
		s.prefetch = nil
	}
}

// waitPrefetch waits for background checks without using them (the
// state's nodes, engine and checker are then safe to read).
func (s *State) waitPrefetch() {
	if p := s.prefetch; p != nil {
		<-p.done
	}
}

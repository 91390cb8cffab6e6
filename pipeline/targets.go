package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// TargetsOptions are the choices of a build of several images.
type TargetsOptions struct {
	// AllOrNothing tags no image unless every one was built and verified.
	AllOrNothing bool
	// Report is table or json; MetadataFile, when set, receives every
	// successful image's buildx metadata keyed by image name, as `docker
	// buildx bake --metadata-file` writes it.
	Report       string
	MetadataFile string
	// Out and Err are stdout and stderr.
	Out, Err io.Writer
}

// TargetsReport is the JSON report of several images.
type TargetsReport struct {
	Images []*Report `json:"images"`
}

// RunTargets builds several images at once, one State each (its
// Options.Target naming it), every one through the whole pipeline: linted,
// planned, built, verified and tagged on its own, so one failure tags none
// of the others' images unless AllOrNothing. The reports are printed
// together once all have finished, and the error names every image that
// failed.
func RunTargets(ctx context.Context, states []*State, o TargetsOptions) error {
	var gate *publishGate
	if o.AllOrNothing {
		gate = newPublishGate(len(states))
	}
	errs := make([]error, len(states))
	if states[0].Options.DryRun || states[0].calls() {
		// one plan (or --call result) after the other: each prints to stdout
		for i, s := range states {
			fmt.Fprintf(s.Out, "== image %s\n", s.Options.Target)
			errs[i] = Run(ctx, s, Steps())
		}
		return joinTargetErrors(states, errs)
	}
	var wg sync.WaitGroup
	for i, s := range states {
		steps := Steps()
		if gate != nil {
			for j, st := range steps {
				if _, ok := st.(PublishStep); ok {
					steps[j] = gatedPublish{gate: gate}
				}
			}
		}
		wg.Go(func() {
			// an image that stops before the publish step still counts:
			// the others must not wait for it
			defer func() { gate.arrive(s.Options.Target, errs[i] == nil) }()
			errs[i] = Run(ctx, s, steps)
		})
	}
	wg.Wait()

	if err := printTargets(states, o); err != nil {
		return err
	}
	return joinTargetErrors(states, errs)
}

// joinTargetErrors names each image that failed in one error.
func joinTargetErrors(states []*State, errs []error) error {
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("image %s: %w", states[i].Options.Target, err))
		}
	}
	return errors.Join(failed...)
}

// printTargets prints every image's report (tables on Err, each under
// its name, or one JSON document on Out) and writes the metadata file of
// the images that succeeded.
func printTargets(states []*State, o TargetsOptions) error {
	var reports []*Report
	md := map[string]any{}
	for _, s := range states {
		rep := s.Report
		if rep == nil {
			rep = buildReport(s)
		}
		rep.Name = s.Options.Target
		reports = append(reports, rep)
		if s.Metadata != nil {
			md[s.Options.Target] = s.Metadata
		}
	}
	if o.Report == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(TargetsReport{Images: reports}); err != nil {
			return err
		}
	} else {
		for _, rep := range reports {
			fmt.Fprintf(o.Err, "\n== image %s\n", rep.Name)
			if rep.Error != "" && len(rep.Platforms) == 0 {
				fmt.Fprintf(o.Err, "not built: %s\n", firstLine(rep.Error))
				continue
			}
			if err := printReport(o.Out, o.Err, "table", rep); err != nil {
				return err
			}
		}
	}
	if o.MetadataFile != "" && len(md) > 0 {
		if err := writeJSONFile(o.MetadataFile, md); err != nil {
			return fmt.Errorf("--metadata-file: %w", err)
		}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// publishGate holds every image's tags back until all images have been
// verified or have failed (--all-or-nothing).
type publishGate struct {
	mu      sync.Mutex
	pending int
	arrived map[string]bool
	failed  []string
	all     chan struct{}
}

func newPublishGate(n int) *publishGate {
	return &publishGate{pending: n, arrived: map[string]bool{}, all: make(chan struct{})}
}

// arrive records an image as verified (ok) or failed; once per image.
func (g *publishGate) arrive(name string, ok bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.arrived[name] {
		return
	}
	g.arrived[name] = true
	if !ok {
		g.failed = append(g.failed, name)
	}
	if g.pending--; g.pending == 0 {
		close(g.all)
	}
}

// wait returns the images that failed, once every image has arrived.
func (g *publishGate) wait(ctx context.Context) ([]string, error) {
	select {
	case <-g.all:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.failed...), nil
}

// gatedPublish is the publish step of an image built with
// --all-or-nothing: verified, it waits for the other images, and writes
// its tags only when none failed.
type gatedPublish struct {
	PublishStep
	gate *publishGate
}

// Run implements Step.
func (g gatedPublish) Run(ctx context.Context, s *State) error {
	g.gate.arrive(s.Options.Target, true)
	s.Log.Info("verified; waiting for the other images before writing any tag (--all-or-nothing)")
	failed, err := g.gate.wait(ctx)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("not tagged: image %s failed, and --all-or-nothing tags no image unless every one is verified (this one is pushed by digest: a re-run reuses it)", strings.Join(failed, ", "))
	}
	return g.PublishStep.Run(ctx, s)
}

// SharedOpener opens each dependency once for every State that uses it:
// several images share one engine (the in-process buildx runs one command
// at a time), one node list, one node registry and one registry client.
func SharedOpener(o Opener) Opener {
	var mu sync.Mutex
	var (
		nodeList []nodes.Node
		listed   bool
		store    *nodes.Store
		eng      engine.Engine
		checker  *nodes.Checker
		reg      Registry
	)
	out := Opener{}
	if o.Nodes != nil {
		out.Nodes = func() ([]nodes.Node, error) {
			mu.Lock()
			defer mu.Unlock()
			if !listed {
				all, err := o.Nodes()
				if err != nil {
					return nil, err
				}
				nodeList, listed = all, true
			}
			return nodeList, nil
		}
	}
	if o.Store != nil {
		out.Store = func() (*nodes.Store, error) {
			mu.Lock()
			defer mu.Unlock()
			if store == nil {
				st, err := o.Store()
				if err != nil {
					return nil, err
				}
				store = st
			}
			return store, nil
		}
	}
	if o.Engine != nil {
		out.Engine = func() (engine.Engine, error) {
			mu.Lock()
			defer mu.Unlock()
			if eng == nil {
				e, err := o.Engine()
				if err != nil {
					return nil, err
				}
				eng = e
			}
			return eng, nil
		}
	}
	if o.Checker != nil {
		out.Checker = func(e engine.Engine) *nodes.Checker {
			mu.Lock()
			defer mu.Unlock()
			if checker == nil {
				checker = o.Checker(e)
			}
			return checker
		}
	}
	if o.Registry != nil {
		out.Registry = func() (Registry, error) {
			mu.Lock()
			defer mu.Unlock()
			if reg == nil {
				r, err := o.Registry()
				if err != nil {
					return nil, err
				}
				reg = r
			}
			return reg, nil
		}
	}
	return out
}

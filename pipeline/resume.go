package pipeline

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/buildstate"
	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Resume is what an earlier, failed run of the same build left: the
// platforms it pushed by digest, checked against the registry. The build
// step takes them instead of building them again, and records each
// platform it finishes. Its methods do nothing on a nil Resume (a build
// that does not push, or --no-cache).
type Resume struct {
	store *buildstate.Store
	key   string
	repo  string
	// reuse are the recorded platforms whose push is still in the registry.
	reuse map[string]buildstate.Platform
	// warn reports a state that could not be written.
	warn func(format string, a ...any)
	mu   sync.Mutex
}

// prepareResume keys the build (context content, Dockerfile, settings),
// loads what an earlier run recorded and keeps each platform whose digest
// the registry still has. Reading only: a dry run may call it.
func prepareResume(ctx context.Context, s *State) (*Resume, error) {
	if !s.Config.Push || s.Options.NoCache || s.StateDir == "" {
		return nil, nil
	}
	ctxDigest, err := buildstate.ContextDigest(s.Config.Context, s.Config.Dockerfile)
	if err != nil {
		return nil, err
	}
	dockerfile, err := os.ReadFile(s.Config.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	settings := resumeSettings(s)
	if err := addContextDigests(settings, s.Options.Run.BuildContexts); err != nil {
		return nil, err
	}
	r := &Resume{
		store: &buildstate.Store{Dir: s.StateDir, Now: s.Now},
		key:   buildstate.Key(ctxDigest, dockerfile, settings),
		repo:  s.repo,
		reuse: map[string]buildstate.Platform{},
		warn:  s.Log.Warn,
	}
	st, err := r.store.Load(r.key)
	if err != nil {
		s.Log.Warn("%v", err)
	}
	if len(st.Platforms) == 0 || st.Repository != s.repo {
		return r, nil
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	for _, p := range s.Config.Platforms {
		prev, ok := st.Platforms[p]
		if !ok {
			continue
		}
		found, err := reg.Exists(ctx, s.repo+"@"+prev.Digest)
		switch {
		case err != nil:
			s.Log.Warn("%s: cannot check the earlier run's push %s (%v); building it again", p, short(prev.Digest), err)
		case !found:
			s.Log.Info("%s: the earlier run's push %s is no longer in the registry; building it again", p, short(prev.Digest))
		default:
			r.reuse[p] = prev
		}
	}
	return r, nil
}

// resumeSettings are the settings that decide a platform's image, besides
// the context and the Dockerfile: values are hashed into the key, never
// stored.
func resumeSettings(s *State) map[string]string {
	c := s.Config
	out := map[string]string{
		"repository":        s.repo,
		"dockerfile":        c.Dockerfile,
		"target":            c.Target,
		"compression":       c.Compression,
		"compression-level": strconv.Itoa(c.CompressionLevel),
		"provenance":        s.Spec.Provenance,
		"pull":              strconv.FormatBool(s.Options.Pull),
	}
	for k, v := range runSettings(s.Options.Run) {
		out[k] = v
	}
	names := make([]string, 0, len(s.BuildArgs))
	for k := range s.BuildArgs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out["build-arg:"+k] = s.BuildArgs[k]
	}
	supplySettings(s.Spec, out)
	return out
}

// reusable returns the earlier run's push of platform p, if it is reused.
func (r *Resume) reusable(p string) (buildstate.Platform, bool) {
	if r == nil {
		return buildstate.Platform{}, false
	}
	prev, ok := r.reuse[p]
	return prev, ok
}

// record notes a platform pushed by digest.
func (r *Resume) record(p string, res *PlatformResult) {
	if r == nil || res.Pushed == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.store.Record(r.key, r.repo, p, buildstate.Platform{Digest: res.Pushed, Node: res.Node, Result: res.Result})
	if err != nil {
		r.warn("%s: cannot record the finished platform for a re-run (%v): a re-run would build it again", p, err)
	}
}

// forget drops the state once the build is published.
func (r *Resume) forget() {
	if r == nil {
		return
	}
	if err := r.store.Forget(r.key); err != nil {
		r.warn("cannot remove the finished build's state: %v", err)
	}
}

// describe lists the reused platforms, for --dry-run.
func (r *Resume) describe() []string {
	if r == nil {
		return nil
	}
	var out []string
	for p, prev := range r.reuse {
		out = append(out, fmt.Sprintf("%s: reuse %s (pushed by node %s in an earlier run)", p, short(prev.Digest), prev.Node))
	}
	sort.Strings(out)
	return out
}

// runSettings are the run flags that change a platform's image, for the
// resume key.
func runSettings(o engine.RunOptions) map[string]string {
	all := map[string]string{
		"build-contexts":  strings.Join(o.BuildContexts, "\n"),
		"network":         o.Network,
		"add-hosts":       strings.Join(o.AddHosts, "\n"),
		"no-cache-filter": strings.Join(o.NoCacheFilter, "\n"),
		"shm-size":        o.ShmSize,
		"ulimits":         strings.Join(o.Ulimits, "\n"),
	}
	out := map[string]string{}
	for k, v := range all {
		if v != "" { // unset flags leave the key of an earlier version's run as it was
			out[k] = v
		}
	}
	return out
}

// addContextDigests hashes the content of every named context that is a
// local directory into the settings: a re-run after its files changed
// rebuilds every platform instead of reusing one built from the old files.
func addContextDigests(settings map[string]string, contexts []string) error {
	for _, c := range contexts {
		name, dir, _ := strings.Cut(c, "=")
		if strings.Contains(dir, "://") || strings.HasPrefix(dir, "target:") {
			continue // an image, a URL or a stage: named by the value itself
		}
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			continue // buildx says what is wrong with it
		}
		d, err := buildstate.ContextDigest(dir, "")
		if err != nil {
			return fmt.Errorf("--build-context %s: %w", name, err)
		}
		settings["build-context:"+name] = d
	}
	return nil
}

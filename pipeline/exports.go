package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/ocilayout"
)

// DockerLoader is the Docker engine a --load goes to (engine.DockerEngine
// in production).
type DockerLoader interface {
	Info(ctx context.Context) (*engine.DockerInfo, error)
	Load(ctx context.Context, archive io.Reader) error
}

// exportPlaceholder stands for the export directory in --dry-run output.
const exportPlaceholder = "$XBUILD_EXPORTS"

// merged reports an output of several platforms that xbuild assembles
// from each platform's own export.
func (s *State) merged(o Output) bool {
	return len(s.Config.Platforms) > 1 && o.NeedsAllPlatforms()
}

// prepareExports checks the outputs before anything is built and makes
// the directory each platform's build exports to, for the outputs xbuild
// merges. A docker tarball holds one platform (docker load's format), and
// a multi-platform load needs an engine that keeps multi-platform images:
// both are refused here, saying what to do. The returned func removes the
// directory.
func prepareExports(ctx context.Context, s *State) (func(), error) {
	need := false
	for _, o := range outputsOf(s.Spec.Outputs) {
		if !s.merged(o) {
			continue
		}
		need = true
		plats := strings.Join(s.Config.Platforms, ", ")
		switch {
		case o.Type == "docker" && !o.Loads():
			return nil, fmt.Errorf("-o type=docker,dest=%s holds one platform (the format of docker load), not %s: build one platform (--platform %s), or write every platform as an OCI tarball (-o type=oci,dest=%s)",
				o.Get("dest"), plats, s.Config.Platforms[0], o.Get("dest"))
		case o.Loads():
			if s.Loader == nil {
				return nil, fmt.Errorf("internal error: no Docker engine to load into")
			}
			info, err := s.Loader.Info(ctx)
			if err != nil {
				return nil, fmt.Errorf("--load of %s: %w", plats, err)
			}
			if !info.ContainerdStore {
				return nil, fmt.Errorf("--load of %s: the Docker engine at %s (%s) stores one platform per image (it does not use the containerd image store), so it cannot load a multi-platform image: "+
					"load one platform (--platform %s --load), write an OCI tarball (-o type=oci,dest=image.tar), push it (--push), "+
					"or turn on the containerd image store in the engine (daemon.json: \"features\": {\"containerd-snapshotter\": true}, Docker Engine 24 or later); nothing was built",
					plats, info.Host, info.Version, s.Config.Platforms[0])
			}
		}
	}
	if !need {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "xbuild-exports-")
	if err != nil {
		return nil, err
	}
	s.exportDir = dir
	return func() { os.RemoveAll(dir); s.exportDir = "" }, nil
}

// platformDir names a platform's directory as buildx does (linux_arm64).
func platformDir(p string) string { return strings.ReplaceAll(p, "/", "_") }

// exportPath is where platform p's build exports output i for xbuild to
// merge.
func (s *State) exportPath(i int, p string) string {
	dir := s.exportDir
	if dir == "" {
		dir = exportPlaceholder
	}
	return filepath.Join(dir, fmt.Sprintf("output%d", i), platformDir(p))
}

// platformOutputs are the outputs of platform p's own build: an output
// xbuild merges is exported to the platform's directory (an OCI layout,
// or the filesystem for a tar), the others as forPlatform says.
func (s *State) platformOutputs(spec []string, p string) []string {
	var out []string
	for i, o := range outputsOf(spec) {
		if !s.merged(o) {
			out = append(out, o.forPlatform(p, len(s.Config.Platforms) > 1).String())
			continue
		}
		dest := s.exportPath(i, p)
		switch o.Type {
		case "tar":
			out = append(out, Output{Type: "local", Attrs: []OutputAttr{{"dest", dest}}}.String())
		default: // oci, or a load (docker): an OCI layout directory
			e := Output{Type: "oci"}
			for _, a := range o.Attrs {
				if o.Type == "oci" && a.Key != "dest" && a.Key != "tar" {
					e.Attrs = append(e.Attrs, a)
				}
			}
			e.Attrs = append(e.Attrs, OutputAttr{"tar", "false"}, OutputAttr{"dest", dest})
			out = append(out, e.String())
		}
	}
	return out
}

// mergeExports assembles each merged output from the platforms' exports:
// one OCI layout whose index lists every platform (written as a tar, or a
// directory with tar=false, or loaded into the Docker engine), or one tar
// with a directory per platform, as `buildx build` writes them from a
// single-node build.
func mergeExports(ctx context.Context, s *State) error {
	for i, o := range outputsOf(s.Spec.Outputs) {
		if !s.merged(o) {
			continue
		}
		var err error
		switch o.Type {
		case "tar":
			var trees []ocilayout.Tree
			for _, p := range s.Config.Platforms {
				trees = append(trees, ocilayout.Tree{Prefix: platformDir(p), Dir: s.exportPath(i, p)})
			}
			err = s.writeTo(o.Get("dest"), func(w io.Writer) error { return ocilayout.WriteTar(w, trees) })
		default:
			err = s.mergeOCI(ctx, i, o)
		}
		if err != nil {
			return fmt.Errorf("output type=%s: %w", o.Type, err)
		}
	}
	return nil
}

func (s *State) mergeOCI(ctx context.Context, i int, o Output) error {
	var srcs []ocilayout.Source
	for _, p := range s.Config.Platforms {
		srcs = append(srcs, ocilayout.Source{Dir: s.exportPath(i, p), Platform: p})
	}
	layout := filepath.Join(s.exportDir, fmt.Sprintf("merged%d", i))
	desc, err := ocilayout.Merge(layout, srcs, s.Spec.Tags, s.supply.indexAnnotations, s.supply.descAnnotations)
	if err != nil {
		return err
	}
	s.exported = &pushedIndex{Digest: desc.Digest, MediaType: desc.MediaType, Size: desc.Size}
	archive := func(w io.Writer) error { return ocilayout.WriteTar(w, []ocilayout.Tree{{Dir: layout}}) }
	switch {
	case o.Loads():
		r, w := io.Pipe()
		go func() { w.CloseWithError(archive(w)) }()
		err := s.Loader.Load(ctx, r)
		_ = r.CloseWithError(err)
		return err
	case o.Get("tar") == "false":
		dest := o.Get("dest")
		if err := os.RemoveAll(dest); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(dest)), 0o755); err != nil {
			return err
		}
		if err := os.Rename(layout, dest); err == nil {
			return nil
		}
		return ocilayout.CopyTree(layout, dest) // another file system (dest was removed: every file is copied)
	default:
		return s.writeTo(o.Get("dest"), archive)
	}
}

// writeTo writes through write to the file dest (atomically), or to
// standard output for "-".
func (s *State) writeTo(dest string, write func(io.Writer) error) error {
	if dest == "-" {
		return write(s.Out)
	}
	if dest == "" {
		return fmt.Errorf("no dest= to write to")
	}
	if dir := filepath.Dir(dest); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// mergedTarget says where a merged output goes, for the dry run.
func mergedTarget(o Output) string {
	switch {
	case o.Loads():
		return "one OCI archive loaded into the Docker engine"
	case o.Type == "tar":
		return "one tar at " + o.Get("dest") + ", a directory per platform"
	case o.Get("tar") == "false":
		return "one OCI layout directory at " + o.Get("dest")
	}
	return "one OCI tarball at " + o.Get("dest")
}

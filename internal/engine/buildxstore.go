package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/store"
	cliconfig "github.com/docker/cli/cli/config"
)

// StoredBuilder is a buildx builder as buildx's store records it: its
// nodes and the platforms pinned on each.
type StoredBuilder struct {
	Name   string
	Driver string
	Nodes  []StoredNode
}

// StoredNode is one node of a StoredBuilder.
type StoredNode struct {
	// Name is the node name as buildx keeps it (lower-cased).
	Name     string
	Endpoint string
	// Platforms are the pinned platforms, formatted (linux/arm64).
	Platforms []string
}

// BuildxConfigDir is buildx's state directory as buildx itself resolves
// it: $BUILDX_CONFIG, else buildx/ in the docker config directory
// ($DOCKER_CONFIG, else ~/.docker). Both the embedded buildx and an
// external `docker buildx` keep their builders there.
func BuildxConfigDir() string {
	if d := os.Getenv("BUILDX_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(cliconfig.Dir(), "buildx")
}

// ReadBuilder reads builder name from buildx's store, contacting no node
// and writing nothing; it returns nil when buildx has no such builder.
// It reads the store's file directly: buildx's store API creates its
// directories when opened, and `buildx inspect` or `buildx ls` load every
// node of the builder, dialling each daemon (a dead one costs buildx's
// whole timeout), which is too much for a check made before every build.
func ReadBuilder(name string) (*StoredBuilder, error) {
	return readBuilder(BuildxConfigDir(), name)
}

func readBuilder(dir, name string) (*StoredBuilder, error) {
	key, err := store.ValidateName(name)
	if err != nil {
		return nil, fmt.Errorf("buildx builder name %q: %w", name, err)
	}
	path := filepath.Join(dir, "instances", key)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading buildx builder %s: %w", name, err)
	}
	var ng store.NodeGroup
	if err := json.Unmarshal(b, &ng); err != nil {
		return nil, fmt.Errorf("buildx builder file %s is not valid JSON (%v): remove the builder (docker buildx rm %s, or delete the file); the next xbuild run creates it again", path, err, name)
	}
	out := &StoredBuilder{Name: ng.Name, Driver: ng.Driver, Nodes: make([]StoredNode, 0, len(ng.Nodes))}
	for _, n := range ng.Nodes {
		sn := StoredNode{Name: n.Name, Endpoint: n.Endpoint}
		for _, p := range n.Platforms {
			sn.Platforms = append(sn.Platforms, platforms.Format(p))
		}
		out.Nodes = append(out.Nodes, sn)
	}
	return out, nil
}

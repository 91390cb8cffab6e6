package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/nodes"
)

// LocalCandidates lists the build daemons this machine may already run, in
// the order xbuild tries them when no node is registered: $BUILDKIT_HOST,
// the rootful and rootless buildkitd sockets, then the Docker engine
// ($DOCKER_HOST or /var/run/docker.sock). Sockets that do not exist are
// left out; exists is os.Stat-like (tests pass a fake).
func LocalCandidates(getenv func(string) string, exists func(string) bool) []nodes.Node {
	var out []nodes.Node
	add := func(kind nodes.Kind, endpoint string) {
		if path, ok := strings.CutPrefix(endpoint, "unix://"); ok && !exists(path) {
			return
		}
		for _, n := range out {
			if n.Endpoint == endpoint {
				return
			}
		}
		out = append(out, nodes.Node{Name: "local", Kind: kind, Endpoint: endpoint})
	}
	if h := getenv("BUILDKIT_HOST"); strings.HasPrefix(h, "unix://") {
		add(nodes.KindLocal, h)
	}
	add(nodes.KindLocal, "unix:///run/buildkit/buildkitd.sock")
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		add(nodes.KindLocal, "unix://"+filepath.Join(d, "buildkit", "buildkitd.sock"))
	}
	if h := getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		add(nodes.KindDocker, h)
	} else if h == "" {
		add(nodes.KindDocker, "unix:///var/run/docker.sock")
	}
	return out
}

// FileExists is the production exists function for LocalCandidates.
func FileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// planLocal routes the platforms to the first local daemon that answers,
// through nodes.Route like registered nodes: the daemon stands in for up
// to two nodes (localNodes), native for its own platform and emulated for
// the platforms it runs through QEMU (buildkitd lists what binfmt_misc
// gives it; for a Docker engine, this machine's binfmt_misc says). It says
// so in one line. Nothing is written here: the docker context a Docker
// engine needs goes to s.Contexts, for the build step to write.
func planLocal(ctx context.Context, s *State) (*nodes.Plan, []nodes.Node, error) {
	checker, err := s.checker()
	if err != nil {
		return nil, nil, err
	}
	var tried []string
	for _, cand := range s.LocalNodes {
		h := checker.Check(ctx, []nodes.Node{cand})[0]
		if !h.Healthy() {
			tried = append(tried, fmt.Sprintf("%s: %s", cand.Endpoint, h.Status))
			continue
		}
		reported := h.Platforms
		if cand.Kind == nodes.KindDocker {
			// a Docker engine reports only its own architecture; QEMU comes
			// from this machine's binfmt_misc
			reported = append(slices.Clone(reported), emulatedHere(s.Config.Platforms, h.Platforms, s.BinfmtDir)...)
		}
		var missing []string
		for _, p := range s.Config.Platforms {
			if !slices.Contains(reported, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return nil, nil, fmt.Errorf("no build nodes are registered, and this machine's %s at %s cannot build %s (it reports %s): install QEMU (apt-get install qemu-user-static binfmt-support), or register a native node: xbuild nodes add NAME --endpoint URL --platform %s",
				daemonName(cand.Kind), cand.Endpoint, strings.Join(missing, ", "), strings.Join(h.Platforms, ", "), missing[0])
		}
		local, err := localNodes(cand, reported, s.Config.Platforms, s.Config.Builder)
		if err != nil {
			return nil, nil, err
		}
		// QEMU is what this machine has, so it is used without --allow-emulation
		plan, err := nodes.Route(s.Config.Platforms, local, map[string]nodes.Health{cand.Name: h}, true)
		if err != nil {
			return nil, nil, err
		}
		var natives, emulated []string
		for i, a := range plan.Assignments {
			if a.Emulated {
				emulated = append(emulated, a.Platform)
				plan.Assignments[i].Reason = "this machine, through QEMU"
			} else {
				natives = append(natives, a.Platform)
				plan.Assignments[i].Reason = "this machine"
			}
		}
		// one warning about this machine instead of Route's per platform
		plan.Warnings = nil
		line := fmt.Sprintf("No build nodes are registered: building on this machine's %s at %s (%s native", daemonName(cand.Kind), cand.Endpoint, orDash(natives))
		if len(emulated) > 0 {
			line += fmt.Sprintf(", %s through QEMU", strings.Join(emulated, ", "))
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s built through QEMU on this machine (RUN steps run emulated, 5-20x slower for compiling unless the Dockerfile cross-compiles on $BUILDPLATFORM): register native nodes with xbuild nodes add", strings.Join(emulated, ", ")))
		}
		if cand.Kind == nodes.KindDocker {
			// buildx's docker-container driver reaches the engine through a context
			s.Contexts = append(s.Contexts, engine.DockerContext{Name: nodes.DockerContextName(cand.Name), Host: cand.Endpoint, Description: "xbuild: this machine's Docker engine"})
		}
		s.Log.Warn("%s).", line)
		return plan, local, nil
	}
	msg := "no build nodes are registered and this machine runs no BuildKit or Docker engine xbuild can use"
	if len(tried) > 0 {
		msg = fmt.Sprintf("no build nodes are registered, and this machine's daemons do not answer (%s)", strings.Join(tried, "; "))
	}
	return nil, nil, errors.New(msg + ". Next: register your build machines, one per architecture:\n" +
		"  xbuild nodes certs --out ./certs/NODE --host NODE_HOST     (prints the buildkitd flags to start it with)\n" +
		"  xbuild nodes add NODE --endpoint tcp://NODE_HOST:1234 --tls-ca ./certs/NODE/client/ca.pem --tls-cert ./certs/NODE/client/cert.pem --tls-key ./certs/NODE/client/key.pem\n" +
		"or start BuildKit here: buildkitd --addr unix:///run/buildkit/buildkitd.sock")
}

// localNodes turns a local daemon that reports platforms (native first)
// into the nodes Route chooses from, limited to the requested platforms: a
// native node for its first platform and an emulated node for the others.
// Both are the one daemon, so they share its name (and so its health, and
// one buildx node with the platforms routed to either).
func localNodes(daemon nodes.Node, reported, requested []string, builder string) ([]nodes.Node, error) {
	if len(reported) == 0 {
		return nil, nil
	}
	var native, emulated []string
	for _, p := range requested {
		switch {
		case p == reported[0]:
			native = append(native, p)
		case slices.Contains(reported[1:], p):
			emulated = append(emulated, p)
		}
	}
	var out []nodes.Node
	for _, part := range []struct {
		platforms []string
		emulated  bool
	}{{native, false}, {emulated, true}} {
		if len(part.platforms) == 0 {
			continue
		}
		n := daemon
		n.Platforms, n.Emulated, n.Builder = part.platforms, part.emulated, builder
		norm, err := n.Normalized()
		if err != nil {
			return nil, err
		}
		out = append(out, norm)
	}
	return out, nil
}

// emulatedHere lists the requested foreign platforms this machine's
// binfmt_misc (mounted at binfmtDir; "" is the real one) can run.
func emulatedHere(requested, native []string, binfmtDir string) []string {
	var foreign []string
	for _, p := range requested {
		if !slices.Contains(native, p) {
			foreign = append(foreign, p)
		}
	}
	missing, err := nodes.CheckEmulation(foreign, binfmtDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range foreign {
		if !slices.Contains(missing, p) {
			out = append(out, p)
		}
	}
	return out
}

// daemonName names a local daemon for messages: "BuildKit", "Docker engine".
func daemonName(k nodes.Kind) string {
	if k == nodes.KindDocker {
		return "Docker engine"
	}
	return "BuildKit"
}

func orDash(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	return strings.Join(list, ", ")
}

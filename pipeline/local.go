package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// planLocal routes every platform to the first local daemon that answers:
// its native platform natively, others through the QEMU emulation it
// reports (buildkitd lists what binfmt gives it). It says so in one line.
func planLocal(ctx context.Context, s *State) (*nodes.Plan, []nodes.Node, error) {
	var tried []string
	for _, cand := range s.LocalNodes {
		h := s.Checker.Check(ctx, []nodes.Node{cand})[0]
		if !h.Healthy() {
			tried = append(tried, fmt.Sprintf("%s: %s", cand.Endpoint, h.Status))
			continue
		}
		reported := h.Platforms
		if cand.Kind == nodes.KindDocker {
			// a Docker engine reports only its own architecture; QEMU comes
			// from this machine's binfmt_misc
			reported = append(reported, emulatedHere(s.Config.Platforms, h.Platforms)...)
		}
		plan := &nodes.Plan{}
		var natives, emulated, missing []string
		for _, p := range s.Config.Platforms {
			switch {
			case len(reported) > 0 && reported[0] == p:
				natives = append(natives, p)
				plan.Assignments = append(plan.Assignments, nodes.Assignment{Platform: p, Node: cand.Name, Reason: "this machine"})
			case containsString(reported, p):
				emulated = append(emulated, p)
				plan.Assignments = append(plan.Assignments, nodes.Assignment{Platform: p, Node: cand.Name, Emulated: true, Reason: "this machine, through QEMU"})
			default:
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return nil, nil, fmt.Errorf("no build nodes are registered, and this machine's %s at %s cannot build %s (it reports %s): install QEMU (apt-get install qemu-user-static binfmt-support), or register a native node: xbuild nodes add NAME --endpoint URL --platform %s",
				cand.Kind, cand.Endpoint, strings.Join(missing, ", "), strings.Join(h.Platforms, ", "), missing[0])
		}
		if cand.Kind == nodes.KindDocker {
			// buildx's docker-container driver reaches the engine through a context
			if err := s.DockerContexts.Ensure(engine.DockerContext{Name: nodes.DockerContextName(cand.Name), Host: cand.Endpoint, Description: "xbuild: this machine's Docker engine"}); err != nil {
				return nil, nil, err
			}
		}
		node := cand
		node.Platforms = s.Config.Platforms
		node.Builder = s.Config.Builder
		node, err := node.Normalized()
		if err != nil {
			return nil, nil, err
		}
		line := fmt.Sprintf("No build nodes are registered: building on this machine's %s at %s (%s native", cand.Kind, cand.Endpoint, orDash(natives))
		if len(emulated) > 0 {
			line += fmt.Sprintf(", %s through QEMU", strings.Join(emulated, ", "))
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s built through QEMU on this machine (RUN steps run emulated, 5-20x slower for compiling unless the Dockerfile cross-compiles on $BUILDPLATFORM): register native nodes with xbuild nodes add", strings.Join(emulated, ", ")))
		}
		s.Log.Warn("%s).", line)
		return plan, []nodes.Node{node}, nil
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

// emulatedHere lists the requested foreign platforms this machine's
// binfmt_misc can run.
func emulatedHere(requested, native []string) []string {
	var foreign []string
	for _, p := range requested {
		if !containsString(native, p) {
			foreign = append(foreign, p)
		}
	}
	missing, err := nodes.CheckEmulation(foreign, "")
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range foreign {
		if !containsString(missing, p) {
			out = append(out, p)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orDash(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	return strings.Join(list, ", ")
}

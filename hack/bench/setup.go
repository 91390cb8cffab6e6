package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// exec runs c, records its command line and logs failures.
func (h *harness) exec(rec *recorder, c cmd, note string) result {
	if rec != nil {
		rec.add(c, note)
	}
	return run(h.ctx, c)
}

// must runs c and turns a failure into an error.
func (h *harness) must(rec *recorder, c cmd, note string) (result, error) {
	r := h.exec(rec, c, note)
	if !r.ok() {
		return r, fmt.Errorf("%s: exit %d: %s", rec.clean(quote(c.Prog, c.Args)), r.Code, rec.clean(r.tail()))
	}
	return r, nil
}

// dockerConfig makes a private docker config directory holding the farm's
// registry credentials.
func (h *harness) dockerConfig(name string) (string, error) {
	dir := filepath.Join(h.tmp, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(h.farm.DockerConfigDir, "config.json"))
	if err != nil {
		return "", fmt.Errorf("farm docker config: %w", err)
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// xbuildEnv is the environment xbuild runs in: a private node registry and
// docker config, the farm CA, and hadolint pinned to the farm's binary (so
// a hadolint elsewhere on PATH, e.g. a slow pyenv shim, does not decide the
// lint time).
func (h *harness) xbuildEnv(configDir, dockerCfg string) []string {
	return environment(map[string]string{
		"XBUILD_CONFIG_DIR":    configDir,
		"DOCKER_CONFIG":        dockerCfg,
		"SSL_CERT_FILE":        h.farm.CABundle,
		"XBUILD_LINT_HADOLINT": h.farm.Hadolint,
	})
}

// buildxEnv is the environment the standalone buildx runs in.
func (h *harness) buildxEnv(dockerCfg string) []string {
	return environment(map[string]string{"DOCKER_CONFIG": dockerCfg, "SSL_CERT_FILE": h.farm.CABundle})
}

type nodeReg struct {
	name, role string
	builder    string
	emulated   bool
	platforms  []string
}

// benchNodes are the farm's three nodes as xbuild's README registers them.
func (h *harness) benchNodes(builder string) []nodeReg {
	return []nodeReg{
		{name: "amd1", role: "amd64", builder: builder, platforms: []string{"linux/amd64"}},
		{name: "arm1", role: "arm64", builder: builder, platforms: []string{"linux/arm64"}},
		{name: "qemu", role: "qemu", builder: builder, emulated: true, platforms: []string{"linux/amd64", "linux/arm64"}},
	}
}

// newXB registers nodes in a fresh xbuild configuration.
func (h *harness) newXB(rec *recorder, name string, regs []nodeReg) (*xbEnv, error) {
	cfg := filepath.Join(h.tmp, name+"-config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return nil, err
	}
	dc, err := h.dockerConfig(name + "-docker")
	if err != nil {
		return nil, err
	}
	x := &xbEnv{ConfigDir: cfg, DockerCfg: dc, Env: h.xbuildEnv(cfg, dc)}
	for _, n := range regs {
		node, ok := h.farm.Nodes[n.role]
		if !ok {
			return nil, fmt.Errorf("farm.json has no %s node", n.role)
		}
		args := []string{"nodes", "add", n.name, "--builder", n.builder, "--endpoint", node.Endpoint,
			"--platform", strings.Join(n.platforms, ","),
			"--tls-ca", h.farm.Certs.ClientCA, "--tls-cert", h.farm.Certs.ClientCert, "--tls-key", h.farm.Certs.ClientKey,
			"--tls-servername", h.farm.Certs.ServerName}
		if n.emulated {
			args = append(args, "--emulated")
		}
		if _, err := h.must(rec, cmd{Prog: h.xbuild, Args: args, Env: x.Env, Timeout: time.Minute}, "setup"); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// benchXB is the shared xbuild configuration: amd1, arm1 and qemu in
// builder "bench".
func (h *harness) benchXB(rec *recorder) (*xbEnv, error) {
	if h.xb != nil {
		for _, n := range h.benchNodes("bench") {
			rec.add(cmd{Prog: h.xbuild, Args: []string{"nodes", "add", n.name, "--builder", "bench", "..."}}, "setup (done once, shared)")
		}
		return h.xb, nil
	}
	x, err := h.newXB(rec, "xb", h.benchNodes("bench"))
	if err != nil {
		return nil, err
	}
	h.xb = x
	return x, nil
}

// remoteCreateArgs is `buildx create` for one farm node, built by the same
// function xbuild uses (remote driver, mutual TLS, 2 s status timeout).
func (h *harness) remoteCreateArgs(builder string, n nodeReg, appendNode bool) []string {
	return engine.CreateArgs(engine.BuilderNode{
		Builder: builder, Node: n.name, Driver: "remote", Endpoint: h.farm.Nodes[n.role].Endpoint,
		Platforms: n.platforms, StatusTimeout: 2 * time.Second,
		DriverOpts: map[string]string{
			"cacert": h.farm.Certs.ClientCA, "cert": h.farm.Certs.ClientCert,
			"key": h.farm.Certs.ClientKey, "servername": h.farm.Certs.ServerName,
		},
	}, appendNode)
}

// ---- xbuild output ------------------------------------------------------

// report is the part of `xbuild build --report json` the harness reads.
type report struct {
	Digest    string `json:"digest"`
	Platforms []struct {
		Platform       string `json:"platform"`
		Node           string `json:"node"`
		Emulated       bool   `json:"emulated"`
		Digest         string `json:"digest"`
		CompressedSize int64  `json:"compressedSize"`
		Layers         int    `json:"layers"`
	} `json:"platforms"`
	Steps []struct {
		Step    string  `json:"step"`
		Seconds float64 `json:"seconds"`
		Skipped string  `json:"skipped"`
	} `json:"steps"`
	Verify *struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	} `json:"verify"`
	SizeBudget int64 `json:"sizeBudget"`
}

func parseReport(stdout []byte) (*report, error) {
	var r report
	s := strings.TrimSpace(string(stdout))
	if i := strings.Index(s, "{"); i > 0 {
		s = s[i:]
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("xbuild --report json: %w", err)
	}
	return &r, nil
}

func (r *report) step(name string) (float64, bool) {
	for _, s := range r.Steps {
		if s.Step == name && s.Skipped == "" {
			return s.Seconds, true
		}
	}
	return 0, false
}

// debugTrace is what `xbuild build --debug` printed: the buildx commands
// and how long each took, and the node probes.
type debugTrace struct {
	Creates [][]string
	Build   []string
	Probes  []time.Duration
	CreateT []time.Duration
	BuildT  time.Duration
}

var (
	debugCmdRE   = regexp.MustCompile(`^debug: buildx ((?:create|build) .*) \((embedded buildx [^)]*|docker [^)]*)\)$`)
	debugTimeRE  = regexp.MustCompile(`^debug: buildx (create|build): ok in (\S+)$`)
	debugProbeRE = regexp.MustCompile(`^debug: probe \S+ \([^)]*\): ok in (\S+)$`)
)

func parseDebug(stderr []byte) (*debugTrace, error) {
	t := &debugTrace{}
	for _, line := range strings.Split(string(stderr), "\n") {
		line = strings.TrimRight(line, "\r")
		if m := debugCmdRE.FindStringSubmatch(line); m != nil {
			args, err := splitQuoted(m[1])
			if err != nil {
				return nil, err
			}
			if args[0] == "create" {
				t.Creates = append(t.Creates, args)
			} else {
				t.Build = args
			}
			continue
		}
		if m := debugTimeRE.FindStringSubmatch(line); m != nil {
			d, err := time.ParseDuration(m[2])
			if err != nil {
				return nil, err
			}
			if m[1] == "create" {
				t.CreateT = append(t.CreateT, d)
			} else {
				t.BuildT = d
			}
			continue
		}
		if m := debugProbeRE.FindStringSubmatch(line); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				t.Probes = append(t.Probes, d)
			}
		}
	}
	if len(t.Build) == 0 {
		return nil, fmt.Errorf("xbuild --debug printed no buildx build command")
	}
	return t, nil
}

// ---- the arm64 node's network ------------------------------------------

// netns cuts the arm64 node off (mode cut or drop) and returns the restore
// function, which must run. A marker file tells bench.sh to restore the
// node if this program dies before it does.
func (h *harness) netns(rec *recorder, mode string) (func() error, error) {
	marker := filepath.Join(h.stateDir, "netns-cut")
	if h.stateDir == "" {
		marker = filepath.Join(h.tmp, "netns-cut")
	}
	if err := os.WriteFile(marker, []byte(mode+"\n"), 0o644); err != nil {
		return nil, err
	}
	restore := func() error {
		c := cmd{Prog: "bash", Args: []string{"hack/farm/netns.sh", "restore"}, Dir: h.repo, Env: environment(nil), Timeout: 90 * time.Second}
		rec.add(c, "always, after every cut or drop")
		r := run(context.Background(), c)
		if !r.ok() {
			return fmt.Errorf("netns.sh restore: %s (run it by hand: bash hack/farm/netns.sh restore)", r.tail())
		}
		return os.Remove(marker)
	}
	c := cmd{Prog: "bash", Args: []string{"hack/farm/netns.sh", mode}, Dir: h.repo, Env: environment(nil), Timeout: time.Minute}
	rec.add(c, "")
	if r := run(h.ctx, c); !r.ok() {
		err := fmt.Errorf("netns.sh %s: %s", mode, r.tail())
		if rerr := restore(); rerr != nil {
			err = fmt.Errorf("%w; %v", err, rerr)
		}
		return nil, err
	}
	return restore, nil
}

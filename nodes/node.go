package nodes

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/platform"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// Kind says what kind of daemon a node is and so which buildx driver
// reaches it.
type Kind string

// The node kinds (see ARCHITECTURE.md, "Nodes").
const (
	// KindBuildKit is a buildkitd reached over tcp:// (buildx remote driver).
	KindBuildKit Kind = "buildkit"
	// KindDocker is a Docker engine (buildx docker-container driver).
	KindDocker Kind = "docker"
	// KindKubernetes is BuildKit pods managed by the buildx kubernetes driver.
	KindKubernetes Kind = "kubernetes"
	// KindLocal is a buildkitd on this machine, reached over a unix socket.
	KindLocal Kind = "local"
)

// Kinds lists the valid kinds, for help texts and errors.
var Kinds = []Kind{KindBuildKit, KindDocker, KindKubernetes, KindLocal}

// SchemaVersion is the version of the node file format this xbuild writes.
const SchemaVersion = 1

// DefaultBuilder is the buildx builder nodes join unless told otherwise.
const DefaultBuilder = "xbuild"

// TLS is a node's client TLS material: absolute paths to PEM files, and an
// optional server name to verify instead of the endpoint's host.
type TLS struct {
	CA         string `json:"ca"`
	Cert       string `json:"cert"`
	Key        string `json:"key"`
	ServerName string `json:"serverName,omitempty"`
}

// Node is one build machine in the registry, stored as one JSON file.
type Node struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Endpoint is the canonical endpoint string (see Endpoint).
	Endpoint string `json:"endpoint"`
	// Platforms are the normalized platforms this node builds, sorted.
	Platforms []string `json:"platforms"`
	// Emulated marks a node that builds its platforms through QEMU: it is
	// used only when no native node for a platform is healthy.
	Emulated bool `json:"emulated"`
	TLS      *TLS `json:"tls,omitempty"`
	// Insecure allows a tcp:// endpoint without TLS; the user asked for it
	// with --insecure, and every command warns about it.
	Insecure bool `json:"insecure,omitempty"`
	// DriverOpts are extra buildx --driver-opt values (docker: image=,
	// network=; kubernetes: replicas=, nodeselector=, ...).
	DriverOpts map[string]string `json:"driverOpts,omitempty"`
	// BuildkitdConfig is a buildkitd.toml for kinds where buildx starts
	// BuildKit itself (docker, kubernetes): registry mirrors, CAs.
	BuildkitdConfig string `json:"buildkitdConfig,omitempty"`
	// Builder is the buildx builder this node belongs to.
	Builder       string    `json:"builder"`
	Added         time.Time `json:"added"`
	SchemaVersion int       `json:"schemaVersion"`
}

// reservedDriverOpts are set by xbuild from the node's TLS material and
// endpoint; a --driver-opt with the same key would fight them.
var reservedDriverOpts = map[string]string{
	"cacert":     "--tls-ca",
	"cert":       "--tls-cert",
	"key":        "--tls-key",
	"servername": "--tls-servername",
}

// ValidateName checks a node (or builder) name: it becomes a file name and
// a buildx node name, so it is kept to a portable alphabet.
func ValidateName(name string) error {
	const allowed = "use 1 to 63 letters, digits, '-', '_' or '.', not starting with '-' or '.'"
	if name == "" {
		return fmt.Errorf("name is empty: %s", allowed)
	}
	if len(name) > 63 {
		return fmt.Errorf("name %q is %d characters long: %s", name, len(name), allowed)
	}
	if name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("name %q starts with %q: %s", name, name[:1], allowed)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("name %q contains %q: %s", name, r, allowed)
		}
	}
	return nil
}

// ParseKind checks a kind given on the command line.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("kind %q is not known: use %s", s, kindList())
}

// InferKind returns the node kind: the explicit one when given (checked
// against the endpoint), else tcp:// means buildkit, unix:// means local and
// kubernetes:// means kubernetes. A docker engine must be asked for with
// --kind docker: its TCP port looks like any other.
func InferKind(ep Endpoint, explicit string) (Kind, error) {
	if explicit == "" {
		switch ep.Scheme {
		case "tcp":
			return KindBuildKit, nil
		case "unix":
			return KindLocal, nil
		case "kubernetes":
			return KindKubernetes, nil
		}
		return "", fmt.Errorf("cannot tell the node kind of endpoint %q: %s", ep.String(), endpointExamples)
	}
	k, err := ParseKind(explicit)
	if err != nil {
		return "", err
	}
	ok := map[Kind][]string{
		KindBuildKit:   {"tcp", "unix"},
		KindDocker:     {"tcp", "unix"},
		KindLocal:      {"unix"},
		KindKubernetes: {"kubernetes"},
	}[k]
	for _, s := range ok {
		if s == ep.Scheme {
			return k, nil
		}
	}
	return "", fmt.Errorf("a %s node needs a %s:// endpoint, not %s", k, strings.Join(ok, ":// or "), ep.String())
}

// Normalized validates n and returns it in canonical form: endpoint
// rewritten canonically, kind inferred when empty, platforms normalized
// and sorted, builder defaulted, schema version set. It does no I/O: the
// TLS files are checked by LoadTLS, the daemon by Checker.
func (n Node) Normalized() (Node, error) { return n.normalize(true) }

// normalize is Normalized; without needPlatforms it accepts a node whose
// platforms are not known yet (the Registrar asks the daemon for them
// after it has validated everything else).
func (n Node) normalize(needPlatforms bool) (Node, error) {
	if err := ValidateName(n.Name); err != nil {
		return Node{}, fmt.Errorf("node %w", err)
	}
	wrap := func(err error) error { return fmt.Errorf("node %s: %w", n.Name, err) }
	ep, err := ParseEndpoint(n.Endpoint)
	if err != nil {
		return Node{}, wrap(err)
	}
	kind, err := InferKind(ep, string(n.Kind))
	if err != nil {
		return Node{}, wrap(err)
	}
	var plats []string
	switch {
	case len(n.Platforms) > 0:
		if plats, err = platform.Set(n.Platforms); err != nil {
			return Node{}, wrap(err)
		}
	case needPlatforms:
		return Node{}, wrap(fmt.Errorf("no platforms: pass --platform with the platforms the node builds, e.g. --platform linux/arm64"))
	}
	builder := n.Builder
	if builder == "" {
		builder = DefaultBuilder
	}
	if err := ValidateName(builder); err != nil {
		return Node{}, wrap(fmt.Errorf("builder %w", err))
	}
	var t *TLS
	if n.TLS != nil && *n.TLS != (TLS{}) {
		c := *n.TLS
		t = &c
	}
	if err := CheckTransport(ep, t, n.Insecure); err != nil {
		return Node{}, wrap(err)
	}
	opts, err := checkDriverOpts(kind, ep, n.DriverOpts)
	if err != nil {
		return Node{}, wrap(err)
	}
	if n.BuildkitdConfig != "" && kind != KindDocker && kind != KindKubernetes {
		return Node{}, wrap(fmt.Errorf("a buildkitd config is only used for docker and kubernetes nodes, where buildx starts BuildKit; a %s node's buildkitd reads its own config", kind))
	}
	switch {
	case n.SchemaVersion > SchemaVersion:
		return Node{}, wrap(fmt.Errorf("schema version %d was written by a newer xbuild (this one reads up to %d): upgrade xbuild", n.SchemaVersion, SchemaVersion))
	case n.SchemaVersion < 0:
		return Node{}, wrap(fmt.Errorf("schema version %d is invalid", n.SchemaVersion))
	}
	n.Kind, n.Endpoint, n.Platforms, n.Builder, n.TLS, n.DriverOpts = kind, ep.String(), plats, builder, t, opts
	n.SchemaVersion = SchemaVersion
	if !n.Added.IsZero() {
		n.Added = n.Added.UTC().Round(0)
	}
	return n, nil
}

func checkDriverOpts(kind Kind, ep Endpoint, in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(in))
	for _, k := range keys {
		v := in[k]
		if k == "" || strings.ContainsAny(k, "=,\" \t\r\n") {
			return nil, fmt.Errorf("driver option key %q is not a word: use --driver-opt key=value", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("driver option %s has a line break in its value", k)
		}
		if flag, ok := reservedDriverOpts[k]; ok {
			return nil, fmt.Errorf("driver option %s is set by xbuild from %s: pass that flag instead of --driver-opt %s=...", k, flag, k)
		}
		if k == "namespace" && kind == KindKubernetes && v != ep.Namespace {
			return nil, fmt.Errorf("driver option namespace=%s contradicts the endpoint's namespace %s: the namespace comes from kubernetes://NAMESPACE", v, ep.Namespace)
		}
		out[k] = v
	}
	return out, nil
}

// clientTLS is the node's TLS files with the server name to verify: the
// one given, else the endpoint's host. The zero TLS for a node without TLS.
func (n Node) clientTLS() TLS {
	if n.TLS == nil {
		return TLS{}
	}
	t := *n.TLS
	if t.ServerName == "" {
		if ep, err := ParseEndpoint(n.Endpoint); err == nil {
			t.ServerName = ep.Host
		}
	}
	return t
}

// probeTarget is the node as the engine's health probe sees it: the TLS
// configuration comes from mat, already read and checked (nil for a node
// without TLS), with now as the clock for certificate validity.
func (n Node) probeTarget(mat *TLSMaterial, now func() time.Time) engine.ProbeTarget {
	t := engine.ProbeTarget{Kind: string(n.Kind), Endpoint: n.Endpoint}
	if mat != nil {
		t.TLS = mat.ClientConfig(n.clientTLS().ServerName, now)
	}
	return t
}

// DaemonReportsPlatforms reports whether the node's daemon lists every
// platform the node builds, so its report can be checked against the
// node's platforms. A docker engine reports only its native platform, so an
// emulated docker node builds more than its daemon says.
func (n Node) DaemonReportsPlatforms() bool { return !(n.Kind == KindDocker && n.Emulated) }

// builds reports whether p is among n's platforms (both sides normalized).
func (n Node) builds(p string) bool { return platform.Contains(n.Platforms, p) }

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

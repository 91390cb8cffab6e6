package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BuilderNode is one node of a buildx builder, as `buildx create` takes it.
type BuilderNode struct {
	// Builder is the buildx builder (node group) name.
	Builder string
	// Node is the node name inside the builder.
	Node string
	// Driver is the buildx driver: remote, docker-container or kubernetes.
	Driver string
	// Endpoint is what buildx dials: tcp://host:port, unix://..., or a
	// docker context name for docker-container nodes.
	Endpoint string
	// Platforms pins the platforms buildx sends to this node.
	Platforms []string
	// DriverOpts are buildx --driver-opt key/values (cacert, cert, key,
	// servername for remote; image, network for docker-container; ...).
	DriverOpts map[string]string
	// BuildkitdConfig is a buildkitd.toml for drivers that start BuildKit.
	BuildkitdConfig string
	// StatusTimeout bounds how long `buildx create` waits for the builder's
	// nodes to answer after writing it (buildx's default is 20s, which a
	// silently unreachable node always costs); 0 leaves buildx's default.
	StatusTimeout time.Duration
}

// CreateArgs returns `buildx create` arguments that create the builder with
// this node (first) or add/update the node in an existing builder (appendNode).
// Both forms are idempotent: buildx updates a node that already exists.
func CreateArgs(n BuilderNode, appendNode bool) []string {
	args := []string{"create", "--name", n.Builder, "--node", n.Node, "--driver", n.Driver}
	if appendNode {
		args = append(args, "--append")
	}
	if len(n.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(n.Platforms, ","))
	}
	for _, k := range sortedKeys(n.DriverOpts) {
		args = append(args, "--driver-opt", csvField(k+"="+n.DriverOpts[k]))
	}
	if n.BuildkitdConfig != "" {
		args = append(args, "--buildkitd-config", n.BuildkitdConfig)
	}
	if n.StatusTimeout > 0 {
		args = append(args, "--timeout", n.StatusTimeout.String())
	}
	if n.Endpoint != "" {
		args = append(args, n.Endpoint)
	}
	return args
}

// LeaveArgs returns `buildx create --leave` arguments that take a node out
// of a builder.
func LeaveArgs(builder, node string) []string {
	return []string{"create", "--name", builder, "--leave", "--node", node}
}

// RemoveArgs returns `buildx rm` arguments. BuildKit state (the cache) is
// kept: the same daemons serve other builders.
func RemoveArgs(builder string) []string {
	return []string{"rm", "--keep-state", builder}
}

// LsArgs returns `buildx ls` arguments with machine-readable output.
func LsArgs() []string { return []string{"ls", "--format", "json"} }

// InspectRawArgs returns `buildx imagetools inspect --raw` arguments.
func InspectRawArgs(ref string) []string {
	return []string{"imagetools", "inspect", "--raw", ref}
}

// ImageOutput describes the image exporter of a build.
type ImageOutput struct {
	// Push pushes the merged manifest list to the registry.
	Push bool
	// Compression is gzip, zstd, uncompressed, or "" for BuildKit's default.
	Compression string
	// CompressionLevel is the compressor level; 0 keeps the default.
	CompressionLevel int
	// Name, with PushByDigest, pushes the image to the repository Name
	// without a tag (merged into a list later by imagetools create).
	Name         string
	PushByDigest bool
	// RewriteTimestamp clamps every file time in the new layers to
	// SOURCE_DATE_EPOCH (reproducible layers; BuildKit v0.13+).
	RewriteTimestamp bool
}

// String renders the exporter as a --output value. Layers are recompressed
// even when a base layer already exists with another compression
// (force-compression), and OCI media types are used: zstd layers are only
// portable under OCI media types.
func (o ImageOutput) String() string {
	parts := []string{"type=image"}
	if o.Name != "" {
		parts = append(parts, "name="+o.Name)
	}
	if o.PushByDigest {
		parts = append(parts, "push-by-digest=true", "name-canonical=true")
	}
	parts = append(parts, "push="+strconv.FormatBool(o.Push))
	if o.Compression != "" {
		parts = append(parts, "compression="+o.Compression)
		if o.CompressionLevel > 0 {
			parts = append(parts, "compression-level="+strconv.Itoa(o.CompressionLevel))
		}
		parts = append(parts, "force-compression=true")
	}
	parts = append(parts, "oci-mediatypes=true")
	if o.RewriteTimestamp {
		parts = append(parts, "rewrite-timestamp=true")
	}
	return strings.Join(parts, ",")
}

// BuildSpec is everything one `buildx build` needs.
type BuildSpec struct {
	Builder    string
	ContextDir string
	Dockerfile string
	Platforms  []string
	Tags       []string
	// BuildArgs are passed sorted by name, so the argument list is stable.
	BuildArgs map[string]string
	Target    string
	// Image is the image exporter; nil means no image output (the result
	// stays in the nodes' build cache) unless Outputs are given.
	Image *ImageOutput
	// Outputs are extra --output values (type=oci,dest=..., type=local,...).
	Outputs   []string
	CacheFrom []string
	CacheTo   []string
	// Labels are image config labels (--label K=V), passed sorted by name.
	Labels map[string]string
	// Annotations are buildx --annotation values ([TYPE[PLATFORM],...:]K=V),
	// in order.
	Annotations []string
	// Secrets are the build secrets (--secret); buildx reads each value
	// from its file or variable, so no value is on the argument list.
	Secrets []Secret
	// SSH are the SSH agent sockets or keys exposed to the build (--ssh).
	SSH []SSH
	// Provenance is the --provenance value ("mode=min", "false"); "" leaves
	// buildx's default.
	Provenance string
	// SBOM is the --sbom value: "true" (BuildKit's default generator) or
	// "generator=IMAGE"; "" asks for none.
	SBOM         string
	NoCache      bool
	Pull         bool
	MetadataFile string
	// Progress is the --progress value.
	Progress string
	// Run is how the build's RUN steps and inputs are set up (named
	// contexts, network, hosts, limits) and what the build is asked to
	// do (--call).
	Run RunOptions
}

// RunOptions are the `buildx build` flags that shape the build itself
// rather than its outputs, passed through as buildx spells them.
type RunOptions struct {
	// BuildContexts are --build-context NAME=VALUE entries, in order.
	BuildContexts []string
	// Network is the --network mode of RUN steps ("default", "none",
	// "host"); "" leaves buildx's default.
	Network string
	// AddHosts are --add-host HOST:IP entries.
	AddHosts []string
	// NoCacheFilter are the stages --no-cache-filter rebuilds.
	NoCacheFilter []string
	// ShmSize is the --shm-size of RUN containers (e.g. 128m).
	ShmSize string
	// Ulimits are --ulimit TYPE=SOFT[:HARD] entries.
	Ulimits []string
	// Call is the --call method (check, outline, targets); "" and "build"
	// build.
	Call string
}

// runArgs renders the run options as buildx flags.
func runArgs(o RunOptions) []string {
	var args []string
	for _, c := range o.BuildContexts {
		args = append(args, "--build-context", c)
	}
	if o.Network != "" {
		args = append(args, "--network", o.Network)
	}
	for _, h := range o.AddHosts {
		args = append(args, "--add-host", h)
	}
	for _, f := range o.NoCacheFilter {
		args = append(args, "--no-cache-filter", f)
	}
	if o.ShmSize != "" {
		args = append(args, "--shm-size", o.ShmSize)
	}
	for _, u := range o.Ulimits {
		args = append(args, "--ulimit", u)
	}
	if o.Call != "" && o.Call != "build" {
		args = append(args, "--call", o.Call)
	}
	return args
}

// BuildArgs returns the `buildx build` argument list for spec.
func BuildArgs(s BuildSpec) []string {
	args := []string{"build"}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	add("--builder", s.Builder)
	add("--file", s.Dockerfile)
	if len(s.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(s.Platforms, ","))
	}
	for _, t := range s.Tags {
		args = append(args, "--tag", t)
	}
	for _, k := range sortedKeys(s.BuildArgs) {
		args = append(args, "--build-arg", k+"="+s.BuildArgs[k])
	}
	for _, k := range sortedKeys(s.Labels) {
		args = append(args, "--label", k+"="+s.Labels[k])
	}
	for _, a := range s.Annotations {
		args = append(args, "--annotation", a)
	}
	for _, sec := range s.Secrets {
		args = append(args, "--secret", sec.String())
	}
	for _, ssh := range s.SSH {
		args = append(args, "--ssh", ssh.String())
	}
	add("--target", s.Target)
	args = append(args, runArgs(s.Run)...)
	if s.Image != nil {
		args = append(args, "--output", s.Image.String())
	}
	for _, o := range s.Outputs {
		args = append(args, "--output", o)
	}
	add("--provenance", s.Provenance)
	add("--sbom", s.SBOM)
	for _, c := range s.CacheFrom {
		args = append(args, "--cache-from", c)
	}
	for _, c := range s.CacheTo {
		args = append(args, "--cache-to", c)
	}
	if s.NoCache {
		args = append(args, "--no-cache")
	}
	if s.Pull {
		args = append(args, "--pull")
	}
	add("--metadata-file", s.MetadataFile)
	add("--progress", s.Progress)
	ctx := s.ContextDir
	if ctx == "" {
		ctx = "."
	}
	return append(args, ctx)
}

// Secret is one build secret as buildx --secret takes it: an ID the
// Dockerfile mounts (RUN --mount=type=secret,id=ID), and where buildx reads
// the value: the file Src or the environment variable Env (exactly one).
type Secret struct {
	ID, Src, Env string
}

// String renders the --secret value: id=ID,src=FILE or id=ID,env=VAR
// (each field CSV-quoted when it needs to be: buildx reads a CSV record).
func (s Secret) String() string {
	parts := []string{csvField("id=" + s.ID)}
	if s.Src != "" {
		parts = append(parts, csvField("src="+s.Src))
	}
	if s.Env != "" {
		parts = append(parts, csvField("env="+s.Env))
	}
	return strings.Join(parts, ",")
}

// SSH is one --ssh entry: ID "default" (or another ID the Dockerfile
// names with RUN --mount=type=ssh,id=ID) and the agent socket or key files
// buildx forwards for it; no Paths means $SSH_AUTH_SOCK.
type SSH struct {
	ID    string
	Paths []string
}

// String renders the --ssh value: ID or ID=PATH[,PATH].
func (s SSH) String() string {
	if len(s.Paths) == 0 {
		return s.ID
	}
	return s.ID + "=" + strings.Join(s.Paths, ",")
}

// Quote renders an argument list as a shell-pasteable command line, for
// --dry-run and --debug output.
func Quote(prog string, args []string) string {
	parts := []string{prog}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// csvField quotes a --driver-opt value that buildx would otherwise split:
// buildx parses each --driver-opt as a CSV record.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\n") {
		return s
	}
	return fmt.Sprintf(`"%s"`, strings.ReplaceAll(s, `"`, `""`))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

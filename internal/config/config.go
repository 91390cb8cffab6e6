// Package config holds the schema of xbuild.yaml, its defaults, its
// validation and its loader. Load layers flags > XBUILD_* env > file >
// defaults from plain Sources (the cmd package maps its flags to them) and
// remembers where each value came from, so Validate can name it. No flag or
// config-library type appears in this package's API.
package config

import "time"

// FileName is the project file xbuild looks for in the working directory.
const FileName = "xbuild.yaml"

// Config is the merged project configuration. The mapstructure/yaml tags are
// the key names users write in xbuild.yaml; the same names, upper-cased with
// dashes and dots turned into underscores and prefixed by XBUILD_, are the
// environment variables (platforms -> XBUILD_PLATFORMS,
// lint.failure-threshold -> XBUILD_LINT_FAILURE_THRESHOLD).
type Config struct {
	// Image is the repository the tags are appended to (registry/team/app).
	Image string `mapstructure:"image" yaml:"image"`
	// Tags are appended to Image; a tag that already holds a full reference
	// (contains '/' or '@' or ':' after the last '/') is used as is.
	Tags []string `mapstructure:"tags" yaml:"tags"`
	// Platforms are the target platforms (os/arch[/variant]).
	Platforms []string `mapstructure:"platforms" yaml:"platforms"`
	// Dockerfile is the path of the Dockerfile, relative to the working directory.
	Dockerfile string `mapstructure:"dockerfile" yaml:"dockerfile"`
	// Context is the build context directory.
	Context string `mapstructure:"context" yaml:"context"`
	// Target is the Dockerfile stage to build.
	Target string `mapstructure:"target" yaml:"target"`
	// BuildArgs are passed as --build-arg K=V. TARGET* and BUILD* platform
	// arguments are refused: BuildKit sets them per platform.
	BuildArgs map[string]string `mapstructure:"build-args" yaml:"build-args"`
	// Builder is the name of the buildx builder xbuild keeps in sync with the
	// registered nodes.
	Builder string `mapstructure:"builder" yaml:"builder"`
	// Engine selects how buildx runs: "embedded" (in process) or "docker-cli"
	// (an external `docker buildx`).
	Engine string `mapstructure:"engine" yaml:"engine"`
	// Push pushes the merged multi-platform manifest.
	Push bool `mapstructure:"push" yaml:"push"`
	// Compression is the layer compression: gzip, zstd or uncompressed.
	Compression string `mapstructure:"compression" yaml:"compression"`
	// CompressionLevel is the compression level; 0 keeps the compressor's default.
	CompressionLevel int `mapstructure:"compression-level" yaml:"compression-level"`
	// Proxy holds the proxy settings passed as build arguments.
	Proxy Proxy `mapstructure:"proxy" yaml:"proxy"`
	// Lint configures the lint gate that runs before every build.
	Lint Lint `mapstructure:"lint" yaml:"lint"`
	// Verify reads a pushed image back from the registry and checks it.
	Verify bool `mapstructure:"verify" yaml:"verify"`
	// SizeBudget fails a build whose largest platform image is bigger
	// (compressed), e.g. "50MB". Empty means no budget.
	SizeBudget string `mapstructure:"size-budget" yaml:"size-budget"`
	// AllowEmulation lets a platform with no healthy native node fall back to
	// an emulated (QEMU) node.
	AllowEmulation bool `mapstructure:"allow-emulation" yaml:"allow-emulation"`
	// Nodes pin platforms to registered nodes instead of letting the
	// routing pick: "PLATFORM=NODE" pins one platform, a bare "NODE" every
	// requested platform that node builds (see ParseNodePin). A pinned node
	// that is down fails the build: a pinned platform is never re-routed.
	Nodes []string `mapstructure:"nodes" yaml:"nodes"`
	// Progress is the progress display: auto, plain, tty or quiet.
	Progress string `mapstructure:"progress" yaml:"progress"`
	// StallTimeout fails a build that reports no progress for this long.
	StallTimeout time.Duration `mapstructure:"stall-timeout" yaml:"stall-timeout"`
	// HealthTimeout bounds each node's health check.
	HealthTimeout time.Duration `mapstructure:"health-timeout" yaml:"health-timeout"`
	// CacheFrom and CacheTo are passed to buildx as --cache-from / --cache-to.
	CacheFrom []string `mapstructure:"cache-from" yaml:"cache-from"`
	CacheTo   []string `mapstructure:"cache-to" yaml:"cache-to"`
	// MetadataFile receives what buildx's --metadata-file would hold for
	// the build (containerimage.digest, ...), once it succeeded.
	MetadataFile string `mapstructure:"metadata-file" yaml:"metadata-file"`
	// Report is the report format: table or json.
	Report string `mapstructure:"report" yaml:"report"`
	// PushByDigest pushes each platform by digest and verifies it, but
	// assembles no index and writes no tag: a CI runner's half of a build
	// that `xbuild merge` finishes. It implies Push.
	PushByDigest bool `mapstructure:"push-by-digest" yaml:"push-by-digest"`
	// DigestFile receives, with PushByDigest, what each platform pushed
	// (the input of `xbuild merge`).
	DigestFile string `mapstructure:"digest-file" yaml:"digest-file"`
	// Images are several images one `xbuild build` makes (a repository
	// that ships more than one): each entry overrides a few keys of this
	// file for its image (see Loaded.Images). Set in the file only.
	Images []ImageEntry `mapstructure:"images" yaml:"images"`
	// Secrets are build secrets in buildx's --secret form,
	// id=ID[,src=FILE|,env=VAR]: mounted into RUN steps that ask for them
	// (RUN --mount=type=secret,id=ID), never stored in the image.
	Secrets []string `mapstructure:"secrets" yaml:"secrets"`
	// SSH are SSH agent sockets or keys in buildx's --ssh form,
	// default|ID[=SOCKET|KEY[,KEY]], for RUN --mount=type=ssh.
	SSH []string `mapstructure:"ssh" yaml:"ssh"`
	// Labels are image labels, K=V each; in a git checkout xbuild adds the
	// org.opencontainers.image.* source, revision, version and created
	// labels itself, which these override.
	Labels []string `mapstructure:"labels" yaml:"labels"`
	// Annotations are OCI annotations in buildx's --annotation form,
	// [TYPE[PLATFORM],...:]K=V with TYPE manifest (the default), index,
	// manifest-descriptor or index-descriptor.
	Annotations []string `mapstructure:"annotations" yaml:"annotations"`
	// Provenance is the provenance attestation: min (no build-argument
	// values), max (everything, build-argument values included) or false.
	Provenance string `mapstructure:"provenance" yaml:"provenance"`
	// SBOM attaches an SPDX SBOM attestation to every platform image.
	SBOM bool `mapstructure:"sbom" yaml:"sbom"`
	// SBOMGenerator is the BuildKit SBOM generator image; empty means
	// BuildKit's default (docker/buildkit-syft-scanner).
	SBOMGenerator string `mapstructure:"sbom-generator" yaml:"sbom-generator"`
	// Reproducible builds the same image from the same commit: file times
	// and the image's dates come from the last commit (SOURCE_DATE_EPOCH and
	// the exporter's rewrite-timestamp).
	Reproducible bool `mapstructure:"reproducible" yaml:"reproducible"`
	// Sign signs the verified index and every platform image before the
	// tags are written.
	Sign Sign `mapstructure:"sign" yaml:"sign"`
}

// ImageEntry is one image of the images list: its name, and the keys it
// sets for its own build; every other key comes from the rest of the
// file. Paths are relative to the file, as everywhere in it.
type ImageEntry struct {
	// Name names the image in reports, --only and --metadata-file.
	Name       string            `mapstructure:"name" yaml:"name"`
	Image      string            `mapstructure:"image" yaml:"image"`
	Tags       []string          `mapstructure:"tags" yaml:"tags"`
	Platforms  []string          `mapstructure:"platforms" yaml:"platforms"`
	Dockerfile string            `mapstructure:"dockerfile" yaml:"dockerfile"`
	Context    string            `mapstructure:"context" yaml:"context"`
	Target     string            `mapstructure:"target" yaml:"target"`
	BuildArgs  map[string]string `mapstructure:"build-args" yaml:"build-args"`
	SizeBudget string            `mapstructure:"size-budget" yaml:"size-budget"`
}

// Sign configures image signing (cosign's signature format, in the
// registry next to the image).
type Sign struct {
	// Key is a cosign private key file (cosign generate-key-pair); its
	// password comes from COSIGN_PASSWORD. Empty: no signing.
	Key string `mapstructure:"key" yaml:"key"`
}

// Provenance modes accepted by the provenance key.
const (
	ProvenanceMin   = "min"
	ProvenanceMax   = "max"
	ProvenanceFalse = "false"
)

// Proxy is the proxy policy. Values given here win over the environment.
type Proxy struct {
	// FromEnv copies HTTP_PROXY, HTTPS_PROXY, NO_PROXY, FTP_PROXY and
	// ALL_PROXY (either case) from xbuild's environment into build args.
	FromEnv bool   `mapstructure:"from-env" yaml:"from-env"`
	HTTP    string `mapstructure:"http" yaml:"http"`
	HTTPS   string `mapstructure:"https" yaml:"https"`
	NoProxy string `mapstructure:"no-proxy" yaml:"no-proxy"`
	FTP     string `mapstructure:"ftp" yaml:"ftp"`
	All     string `mapstructure:"all" yaml:"all"`
}

// Lint configures the lint gate.
type Lint struct {
	// Enabled runs the lint step before every build.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Hadolint is the hadolint binary; empty means look it up on PATH.
	Hadolint string `mapstructure:"hadolint" yaml:"hadolint"`
	// RequireHadolint makes a missing hadolint an error instead of a notice.
	RequireHadolint bool `mapstructure:"require-hadolint" yaml:"require-hadolint"`
	// FailureThreshold is the lowest severity that fails: error, warning,
	// info, style or none.
	FailureThreshold string `mapstructure:"failure-threshold" yaml:"failure-threshold"`
	// Ignore lists rule IDs (XB001, DL3008, ...) to drop everywhere.
	Ignore []string `mapstructure:"ignore" yaml:"ignore"`
}

// Defaults returns the built-in configuration, the lowest layer of precedence.
func Defaults() Config {
	return Config{
		Platforms:     []string{"linux/amd64", "linux/arm64"},
		Dockerfile:    "Dockerfile",
		Context:       ".",
		BuildArgs:     map[string]string{},
		Builder:       "xbuild",
		Engine:        EngineEmbedded,
		Compression:   "gzip",
		Proxy:         Proxy{FromEnv: true},
		Lint:          Lint{Enabled: true, FailureThreshold: "error"},
		Verify:        true,
		Progress:      "auto",
		StallTimeout:  10 * time.Minute,
		HealthTimeout: 2500 * time.Millisecond,
		Report:        "table",
		Provenance:    ProvenanceMin,
	}
}

// Engine names accepted by the engine key.
const (
	EngineEmbedded  = "embedded"
	EngineDockerCLI = "docker-cli"
)

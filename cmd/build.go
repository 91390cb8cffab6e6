package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/nodes"
	"github.com/xbuild-dev/xbuild/pipeline"
)

type buildOptions struct {
	// f gives the command its dependencies; cmd and args are the command
	// as invoked (config loading reads which flags were set).
	f    *Factory
	cmd  *cobra.Command
	args []string

	buildArgs []string
	noLint    bool
	dryRun    bool
	outputs   []string
	noCache   bool
	pull      bool
	// sbom is --sbom as buildx takes it: true, false or generator=IMAGE.
	sbom string
}

// buildBindings ties build flags to config keys (flags > XBUILD_* > file).
var buildBindings = []flagBinding{
	{Key: "dockerfile", Flag: "file"},
	{Key: "platforms", Flag: "platform"},
	{Key: "tags", Flag: "tag"},
	{Key: "push", Flag: "push"},
	{Key: "target", Flag: "target"},
	{Key: "compression", Flag: "compression"},
	{Key: "compression-level", Flag: "compression-level"},
	{Key: "allow-emulation", Flag: "allow-emulation"},
	{Key: "progress", Flag: "progress"},
	{Key: "metadata-file", Flag: "metadata-file"},
	{Key: "report", Flag: "report"},
	{Key: "cache-from", Flag: "cache-from"},
	{Key: "cache-to", Flag: "cache-to"},
	{Key: "builder", Flag: "builder"},
	{Key: "size-budget", Flag: "size-budget"},
	{Key: "stall-timeout", Flag: "stall-timeout"},
	{Key: "health-timeout", Flag: "health-timeout"},
	{Key: "verify", Flag: "verify"},
	{Key: "secrets", Flag: "secret"},
	{Key: "ssh", Flag: "ssh"},
	{Key: "labels", Flag: "label"},
	{Key: "annotations", Flag: "annotation"},
	{Key: "provenance", Flag: "provenance"},
	{Key: "sbom-generator", Flag: "sbom-generator"},
	{Key: "reproducible", Flag: "reproducible"},
	{Key: "sign.key", Flag: "sign-key"},
}

// NewBuildCmd builds `xbuild build`.
func NewBuildCmd(f *Factory) *cobra.Command { return newBuildCmd(f, runBuild) }

// newBuildCmd builds `xbuild build` run by runF (tests pass their own to
// see the parsed options).
func newBuildCmd(f *Factory, runF func(context.Context, *buildOptions) error) *cobra.Command {
	opts := &buildOptions{f: f}
	c := &cobra.Command{
		Use:   "build [CONTEXT] [flags]",
		Short: "Lint, build every platform on a native node, push one manifest and verify it",
		Long: `Build a multi-platform image:

  1. lint    hadolint + built-in rules; errors stop here, before any node is contacted
  2. plan    check the nodes (in parallel, bounded) and route each platform to a
             healthy native node; with --allow-emulation, to an emulated node when
             no native one is healthy
  3. build   one buildx build across the nodes: proxy settings as build args
             (never ENV), the chosen layer compression, TARGETARCH left to BuildKit,
             --push of one merged manifest list, a watchdog for stalled builds
  4. verify  read the pushed index back by digest: exactly the requested
             platforms, each config's os/arch, every binary's architecture, layer
             media types, no proxy or secret value in the image, the SBOM and
             provenance attestations asked for
  5. sign    with --sign-key, sign the verified index and every platform image
             in cosign's format (REPO:sha256-HEX.sig), no transparency log
  6. publish only now write the tags
  7. report  digest, per-platform size and node, step times (--report json for machines)

Release settings: --secret/--ssh reach RUN --mount=type=secret|ssh steps and are
never printed or stored; in a git checkout the org.opencontainers.image.source,
revision, version and created labels come from git; --reproducible takes every
date from the last commit; --sbom attaches an SPDX SBOM per platform.

Settings come from flags, XBUILD_* variables, xbuild.yaml and defaults, in that order.`,
		Example: `  # build both architectures and push one manifest list
  xbuild build --platform linux/amd64,linux/arm64 -t registry.example.com/app:1.2.3 --push

  # zstd layers, a size budget, a JSON report for CI
  xbuild build -t registry.example.com/app:1.2.3 --push --compression zstd --size-budget 50MB --report json

  # a release: private modules through a secret, an SBOM, signed, reproducible
  COSIGN_PASSWORD=... xbuild build -t registry.example.com/app:1.2.3 --push \
      --secret id=netrc,src=$HOME/.netrc --sbom --sign-key cosign.key --reproducible

  # see the routing and the exact buildx commands, build nothing
  xbuild build --dry-run

  # build an example project without pushing
  xbuild build examples/go-service`,
		GroupID: "main",
		Args:    rangeArgs(0, 1, "at most one CONTEXT directory"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.cmd, opts.args = c, args
			return runF(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringP("file", "f", "", `Dockerfile (default "CONTEXT/Dockerfile")`)
	fl.StringArray("platform", nil, "target platforms, comma-separated or repeated (default from config: linux/amd64,linux/arm64)")
	fl.StringArrayP("tag", "t", nil, "image reference REGISTRY/REPO:TAG, repeatable (default from config image + tags)")
	fl.Bool("push", false, "push the merged multi-platform manifest list")
	fl.StringArrayVar(&opts.buildArgs, "build-arg", nil, "build argument NAME=VALUE (or NAME to take it from the environment), repeatable")
	fl.String("target", "", "Dockerfile stage to build")
	fl.String("compression", "", "layer compression: gzip, zstd or uncompressed (default gzip)")
	fl.Int("compression-level", 0, "compression level (gzip 1-9, zstd 1-22; 0 keeps the default)")
	fl.BoolVar(&opts.noLint, "no-lint", false, "skip the lint step")
	fl.Bool("allow-emulation", false, "build a platform on an emulated (QEMU) node when no native node for it is healthy")
	fl.BoolVar(&opts.dryRun, "dry-run", false, "print the routing and the exact buildx commands, then stop")
	fl.String("progress", "", "progress output: auto, plain, tty or quiet (default auto)")
	fl.String("metadata-file", "", "write the build report as JSON to this file")
	fl.String("report", "", "report format: table (stderr) or json (stdout) (default table)")
	fl.StringArray("cache-from", nil, "external cache source, as buildx --cache-from (repeatable)")
	fl.StringArray("cache-to", nil, "cache export destination, as buildx --cache-to (repeatable)")
	fl.String("builder", "", `builder (node group) to build with (default "xbuild")`)
	fl.String("size-budget", "", "fail when the largest platform image exceeds this compressed size, e.g. 50MB")
	fl.Duration("stall-timeout", 0, "fail a build that reports no progress for this long (default 10m)")
	fl.Duration("health-timeout", 0, "per-node health-check timeout (default 2.5s)")
	fl.Bool("verify", true, "after --push, read the image back from the registry and check it")
	fl.StringArrayVarP(&opts.outputs, "output", "o", nil, "extra buildx output without --push, e.g. type=oci,dest=image.tar")
	fl.BoolVar(&opts.noCache, "no-cache", false, "do not use the build cache")
	fl.BoolVar(&opts.pull, "pull", false, "always pull base images")
	fl.StringArray("secret", nil, `build secret id=ID[,src=FILE|,env=VAR] for RUN --mount=type=secret,id=ID (repeatable); its value is never printed nor stored in the image`)
	fl.StringArray("ssh", nil, "SSH agent socket or keys default|ID[=SOCKET|KEY[,KEY]] for RUN --mount=type=ssh (repeatable)")
	fl.StringArray("label", nil, "image label KEY=VALUE (repeatable); wins over the org.opencontainers.image.* labels xbuild sets from git")
	fl.StringArray("annotation", nil, "OCI annotation [TYPE[PLATFORM],...:]KEY=VALUE, TYPE manifest (default), index or manifest-descriptor (repeatable)")
	fl.String("provenance", "", "provenance attestation: min, max (records build-argument values) or false (default min)")
	fl.StringVar(&opts.sbom, "sbom", "", "attach an SPDX SBOM to every platform image: --sbom, --sbom=false or --sbom=generator=IMAGE")
	fl.Lookup("sbom").NoOptDefVal = "true"
	fl.String("sbom-generator", "", "BuildKit SBOM generator image (default: BuildKit's, docker/buildkit-syft-scanner)")
	fl.Bool("reproducible", false, "same commit, same digests: SOURCE_DATE_EPOCH from the last commit and rewritten layer times")
	fl.String("sign-key", "", "cosign private key: sign the verified index and every platform image before tagging (password from COSIGN_PASSWORD)")
	return c
}

// withSBOMFlag maps --sbom (buildx's form: true, false, generator=IMAGE)
// to the sbom and sbom-generator keys.
func withSBOMFlag(value string, set bool) (loadOption, error) {
	if !set {
		return func(*config.Sources) {}, nil
	}
	var flags []config.Flag
	switch gen, isGen := strings.CutPrefix(value, "generator="); {
	case isGen && gen != "":
		flags = []config.Flag{{Key: "sbom", Name: "sbom", Values: []string{"true"}}, {Key: "sbom-generator", Name: "sbom", Values: []string{gen}}}
	case value == "true" || value == "false":
		flags = []config.Flag{{Key: "sbom", Name: "sbom", Values: []string{value}}}
	default:
		return nil, usageErrorf("--sbom=%s: use --sbom, --sbom=false or --sbom=generator=IMAGE", value)
	}
	return func(s *config.Sources) { s.Flags = append(s.Flags, flags...) }, nil
}

// runBuild runs the whole pipeline as one call; lint comes first, and
// the node registry, the engine and the registry client are opened when a
// step first needs them (buildOpener).
func runBuild(ctx context.Context, opts *buildOptions) error {
	c, f, args := opts.cmd, opts.f, opts.args
	sbom, err := withSBOMFlag(opts.sbom, c.Flags().Changed("sbom"))
	if err != nil {
		return err
	}
	lc, err := f.loadConfig(c.Flags(), buildBindings, withContextArg(args), withBuildArgs(opts.buildArgs), withNoLint(opts.noLint), sbom)
	if err != nil {
		return err
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	if len(opts.outputs) > 0 && lc.Push {
		return usageErrorf("--output and --push do not go together: --push already exports the image to the registry")
	}
	st := &pipeline.State{
		Config:  lc.Config,
		Options: pipeline.Options{DryRun: opts.dryRun, Outputs: opts.outputs, NoCache: opts.noCache, Pull: opts.pull},
		Getenv:  f.Getenv,
		Now:     f.Now,
		Out:     f.IO.Out,
		Err:     f.IO.ErrOut,
		Log:     &pipeline.TextLogger{W: f.IO.ErrOut, Quiet: lc.Progress == "quiet"},
		Secrets: redact.New(),
		Lint:    f.Linter,

		BinfmtDir:      f.BinfmtDir,
		LocalNodes:     pipeline.LocalCandidates(f.Getenv, f.fileExists),
		DockerContexts: f.DockerContexts,
	}
	if dir, err := f.StateDir(); err == nil {
		st.StateDir = dir // without one, listing the nodes says what to set
	}
	st.Open = buildOpener(f, lc.Config, opts.dryRun, st.Secrets)
	return pipeline.Run(ctx, st, pipeline.Steps())
}

// buildOpener opens the build's dependencies on first use. A dry run
// lists the nodes without writing (nodes.ListReadOnly) and never opens the
// node registry, which creates its directories and lock files.
func buildOpener(f *Factory, c config.Config, dryRun bool, secrets *redact.Redactor) pipeline.Opener {
	var store *nodes.Store
	openStore := func() (*nodes.Store, error) {
		if store != nil {
			return store, nil
		}
		if dryRun {
			return nil, errors.New("internal error: a dry run opened the node registry")
		}
		st, err := f.NodeStore()
		if err != nil {
			return nil, err
		}
		store = st
		return st, nil
	}
	return pipeline.Opener{
		Nodes: func() ([]nodes.Node, error) {
			var all []nodes.Node
			var corrupt []error
			if dryRun {
				dir, err := f.StateDir()
				if err != nil {
					return nil, err
				}
				all, corrupt = nodes.ListReadOnly(dir)
			} else {
				st, err := openStore()
				if err != nil {
					return nil, err
				}
				all, corrupt = st.List()
			}
			for _, e := range corrupt {
				f.IO.Warnf("%v", e)
			}
			for _, n := range all {
				if n.Insecure && n.Builder == c.Builder {
					f.IO.Warnf("node %s is reached without TLS (--insecure)", n.Name)
				}
			}
			return all, nil
		},
		Store: openStore,
		Engine: func() (engine.Engine, error) {
			eng, err := f.NewEngine(c.Engine)
			if err != nil {
				return nil, err
			}
			return f.traced(eng, secrets), nil
		},
		Checker:  func(e engine.Engine) *nodes.Checker { return f.Checker(e, c.HealthTimeout) },
		Registry: func() (pipeline.Registry, error) { return f.registry(), nil },
	}
}

// registry returns the registry client the build and verify use
// (docker-config credentials, system CAs plus $SSL_CERT_FILE).
func (f *Factory) registry() pipeline.Registry {
	if f.Registry != nil {
		return f.Registry
	}
	// transient failures are retried; each retry is said on stderr
	return &registry.Client{Notify: func(msg string) { f.IO.Warnf("%s", msg) }}
}

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

	// buildx build's flags, passed through (see pipeline.CheckRunOptions)
	run          engine.RunOptions
	check        bool
	load         bool
	iidFile      string
	allOrNothing bool
	only         []string
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
	{Key: "nodes", Flag: "node"},
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
	{Key: "push-by-digest", Flag: "push-by-digest"},
	{Key: "digest-file", Flag: "digest-file"},
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

  1. lint    hadolint + built-in rules, while the nodes are health-checked; errors
             stop here, before anything is built
  2. plan    check the nodes (in parallel, bounded) and route each platform to the
             healthy native node with the fewest running builds (then the lowest
             latency); with --allow-emulation, to an emulated node when no native
             one is healthy. --node pins a platform to a node: a pinned node that
             is down fails the build, it is never replaced by another node
  3. build   one buildx build per platform on its node, all at once: proxy
             settings as build args (never ENV), the chosen layer compression,
             TARGETARCH left to BuildKit, each platform pushed by digest and
             merged into one index, a watchdog for stalled builds
  4. verify  read the pushed index back by digest: exactly the requested
             platforms, each config's os/arch, every binary's architecture,
             layer media types, no proxy or secret value in the image, the size
             budget, the SBOM and provenance attestations asked for
  5. sign    with --sign-key, sign the verified index and every platform image
             in cosign's format (REPO:sha256-HEX.sig), no transparency log
  6. publish only now write the tags
  7. report  digest, per-platform size and node, step times (--report json for machines)

It takes docker buildx build's flags under their names (docs/buildx-compat.md):
-o type=registry is --push through the verified path; every other output is
built per platform on its node, and an OCI tarball, a tar or a --load of
several platforms is merged by xbuild; anything not pushed is not verified,
and says so. --metadata-file writes what buildx writes
(containerimage.digest, ...); --report json is xbuild's own, richer report.

An images list in xbuild.yaml builds several images at once, each verified and
tagged on its own (--all-or-nothing: none unless all are verified).

With --push-by-digest (CI runners, one platform each): every platform is pushed
by digest and verified by that digest; no index is assembled and no tag is
written (a tag given with -t is ignored: only its repository is used).
--digest-file writes what was pushed as JSON; ` + "`xbuild merge`" + ` in a last job
assembles the runners' files into one index, verifies it and only then tags it.

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

  # build amd64 on node amd2, whatever the load; arm64 where xbuild routes it
  xbuild build --node linux/amd64=amd2 -t registry.example.com/app:1.2.3 --push

  # build an example project without pushing
  xbuild build examples/go-service

  # on a CI runner: push this platform by digest and verify it; the merge job tags
  xbuild build --platform linux/arm64 -t registry.example.com/app --push-by-digest --digest-file digests/linux-arm64.json

  # a Makefile written for buildx: only the command name changed
  xbuild build --platform linux/amd64,linux/arm64 -t registry.example.com/app:1.2.3 --push --metadata-file meta.json .
  jq -r '."containerimage.digest"' meta.json

  # an OCI tarball of both platforms; one platform into the local Docker engine
  xbuild build -o type=oci,dest=app.tar .
  xbuild build --platform linux/amd64 --load -t app:dev .

  # BuildKit's Dockerfile checks, nothing built
  xbuild build --check .

  # the images list of xbuild.yaml, tagged only if every image is verified
  xbuild build -t 1.2.3 --push --all-or-nothing`,
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
	fl.StringArray("node", nil, "pin a platform to a node: PLATFORM=NODE, or NODE for every platform it builds (repeatable); a pinned node that is down fails the build")
	fl.BoolVar(&opts.dryRun, "dry-run", false, "print the routing and the exact buildx commands, then stop")
	fl.String("progress", "", "progress output: auto, plain, tty or quiet (default auto)")
	fl.String("metadata-file", "", "write buildx's build metadata (containerimage.digest, containerimage.descriptor, image.name, ...) as JSON to this file")
	fl.String("report", "", "report format: table (stderr) or json (stdout) (default table)")
	fl.StringArray("cache-from", nil, "external cache source, as buildx --cache-from (repeatable)")
	fl.StringArray("cache-to", nil, "cache export destination, as buildx --cache-to (repeatable)")
	fl.String("builder", "", `builder (node group) to build with (default "xbuild")`)
	fl.String("size-budget", "", "fail when the largest platform image exceeds this compressed size, e.g. 50MB")
	fl.Duration("stall-timeout", 0, "fail a build that reports no progress for this long (default 10m)")
	fl.Duration("health-timeout", 0, "per-node health-check timeout (default 2.5s)")
	fl.Bool("verify", true, "after --push, read the image back from the registry and check it")
	fl.Bool("push-by-digest", false, "push each platform by digest and verify it, with no index and no tag (CI runners; xbuild merge tags); implies --push")
	fl.String("digest-file", "", "with --push-by-digest, write what was pushed as JSON to this file (the input of xbuild merge)")
	fl.StringArrayVarP(&opts.outputs, "output", "o", nil, "output as buildx takes it: type=registry (= --push, verified), image, oci, docker, tar, local, cacheonly; dest=PATH (repeatable)")
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
	addBuildxFlags(c, opts)
	return c
}

// addBuildxFlags adds the `docker buildx build` flags xbuild passes
// through, under buildx's names (docs/buildx-compat.md).
func addBuildxFlags(c *cobra.Command, opts *buildOptions) {
	fl := c.Flags()
	fl.StringArrayVar(&opts.run.BuildContexts, "build-context", nil, "additional build context NAME=VALUE: a directory, a URL, docker-image://REF, oci-layout://DIR or target:STAGE (repeatable)")
	fl.StringVar(&opts.run.Network, "network", "", `network mode of RUN steps: default, none or host (host needs the daemon to allow network.host)`)
	fl.StringSliceVar(&opts.run.AddHosts, "add-host", nil, `add a host-to-IP mapping to RUN steps, "HOST:IP" (repeatable)`)
	fl.StringArrayVar(&opts.run.NoCacheFilter, "no-cache-filter", nil, "do not use the build cache for this stage (repeatable)")
	fl.StringVar(&opts.run.ShmSize, "shm-size", "", "size of /dev/shm in RUN containers, e.g. 128m")
	fl.StringArrayVar(&opts.run.Ulimits, "ulimit", nil, "ulimit of RUN containers, TYPE=SOFT[:HARD], e.g. nofile=1024:2048 (repeatable)")
	fl.StringVar(&opts.run.Call, "call", "build", "build, or evaluate the Dockerfile without building: check, outline or targets")
	fl.BoolVar(&opts.check, "check", false, `shorthand for "--call=check"`)
	fl.BoolVar(&opts.load, "load", false, `load the image into the Docker engine (shorthand for "--output=type=docker"); several platforms need the containerd image store`)
	fl.StringVar(&opts.iidFile, "iidfile", "", "write the image ID to this file: after a push, the published index's digest")
	fl.BoolVar(&opts.allOrNothing, "all-or-nothing", false, "with several images (images: in xbuild.yaml), tag none unless every one is built and verified")
	fl.StringSliceVar(&opts.only, "only", nil, "with several images (images: in xbuild.yaml), build only these, by name (repeatable)")
}

// applyBuildxFlags checks the passed-through flags and folds the outputs
// into the config: a registry output is the verified push path (--push),
// the rest are buildx outputs. It returns what to say about the outputs.
func applyBuildxFlags(opts *buildOptions, lc *config.Loaded) ([]string, error) {
	if opts.check {
		if opts.cmd != nil && opts.cmd.Flags().Changed("call") && opts.run.Call != "check" {
			return nil, usageErrorf("--check is --call=check: it does not go with --call %s", opts.run.Call)
		}
		opts.run.Call = "check"
	}
	if err := pipeline.CheckRunOptions(opts.run); err != nil {
		return nil, usageErrorf("%v", err)
	}
	op, err := pipeline.PlanOutputs(opts.outputs, opts.load)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if opts.run.Call != "" && opts.run.Call != "build" {
		if len(opts.outputs) > 0 || opts.load || (opts.cmd != nil && opts.cmd.Flags().Changed("push") && lc.Push) || opts.iidFile != "" {
			return nil, usageErrorf("--call %s evaluates the Dockerfile and builds nothing: it does not go with --push, --output, --load or --iidfile", opts.run.Call)
		}
		lc.Push = false // the file's push: true is for builds
		return nil, nil
	}
	if op.Push {
		lc.Push = true
		if len(op.Names) > 0 {
			lc.Tags = op.Names // buildx: an output's name= wins over -t
		}
		if op.Compression != "" {
			lc.Compression, lc.CompressionLevel = op.Compression, op.CompressionLevel
		}
	}
	if len(op.Outputs) > 0 && lc.Push {
		return nil, usageErrorf("--push (or an -o type=registry output) does not go with --output %s or --load: xbuild pushes, verifies and tags in one build; export the other output in a second build (it hits the cache)", op.Outputs[0])
	}
	opts.outputs = nil // passed to buildx normalized (type= first)
	for _, o := range op.Outputs {
		opts.outputs = append(opts.outputs, o.String())
	}
	return op.Notes, nil
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
	if len(lc.Images) > 0 || len(opts.only) > 0 || opts.allOrNothing {
		return runImages(ctx, opts, lc)
	}
	notes, err := applyBuildxFlags(opts, lc)
	if err != nil {
		return err
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	secrets := redact.New()
	st := newBuildState(f, lc.Config, opts, secrets)
	st.Open = buildOpener(f, lc.Config, opts.dryRun, secrets)
	for _, n := range notes {
		st.Log.Info("%s", n)
	}
	return pipeline.Run(ctx, st, pipeline.Steps())
}

// newBuildState is the pipeline state of one image's build.
func newBuildState(f *Factory, cfg config.Config, opts *buildOptions, secrets *redact.Redactor) *pipeline.State {
	st := &pipeline.State{
		Config: cfg,
		Options: pipeline.Options{DryRun: opts.dryRun, Outputs: opts.outputs, NoCache: opts.noCache, Pull: opts.pull,
			Run: opts.run, IIDFile: opts.iidFile},
		Getenv:  f.Getenv,
		Now:     f.Now,
		Out:     f.IO.Out,
		Err:     f.IO.ErrOut,
		Log:     &pipeline.TextLogger{W: f.IO.ErrOut, Quiet: cfg.Progress == "quiet"},
		Secrets: secrets,
		Lint:    f.Linter,

		BinfmtDir:      f.BinfmtDir,
		LocalNodes:     pipeline.LocalCandidates(f.Getenv, f.fileExists),
		DockerContexts: f.DockerContexts,
		Loader:         engine.DockerEngine{},
	}
	if dir, err := f.StateDir(); err == nil {
		st.StateDir = dir // without one, listing the nodes says what to set
	}
	return st
}

// runImages builds the images list of xbuild.yaml (or those --only
// names): every image its own pipeline, all at once, sharing the engine,
// the nodes and the registry client (pipeline.RunTargets).
func runImages(ctx context.Context, opts *buildOptions, lc *config.Loaded) error {
	f := opts.f
	if len(lc.Images) == 0 {
		if len(opts.only) == 0 {
			return usageErrorf("--all-or-nothing needs several images: an images list in xbuild.yaml")
		}
		_, err := lc.ImageConfigs(opts.only)
		return err
	}
	switch {
	case len(opts.args) > 0:
		return usageErrorf("a CONTEXT argument does not go with the images list of %s: each image names its context (context: in its entry)", lc.File)
	case len(opts.outputs) > 0 || opts.load || opts.iidFile != "":
		return usageErrorf("--output, --load and --iidfile write one image's result: with the images list of %s, build one image with --only NAME", lc.File)
	}
	notes, err := applyBuildxFlags(opts, lc)
	if err != nil {
		return err
	}
	images, err := lc.ImageConfigs(opts.only)
	if err != nil {
		return err
	}
	secrets := redact.New()
	open := pipeline.SharedOpener(buildOpener(f, lc.Config, opts.dryRun, secrets))
	var states []*pipeline.State
	for _, img := range images {
		cfg := img.Config
		if len(images) > 1 && (cfg.Progress == "auto" || cfg.Progress == "tty") {
			cfg.Progress = "plain" // one terminal display per image would overwrite the others
		}
		st := newBuildState(f, cfg, opts, secrets)
		st.Options.Target = img.Name
		st.Log = &pipeline.TextLogger{W: f.IO.ErrOut, Quiet: cfg.Progress == "quiet", Prefix: "[" + img.Name + "] "}
		st.Open = open
		for _, n := range notes {
			st.Log.Info("%s", n)
		}
		states = append(states, st)
	}
	return pipeline.RunTargets(ctx, states, pipeline.TargetsOptions{AllOrNothing: opts.allOrNothing, Report: lc.Report,
		MetadataFile: lc.MetadataFile, Out: f.IO.Out, Err: f.IO.ErrOut})
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
			dir, err := f.StateDir()
			if err != nil {
				return nil, err
			}
			// read-only first: a dry run writes nothing, and a machine with
			// no registry gets none made (the nodes are listed while lint
			// runs, and a failed lint leaves the config dir as it was)
			all, corrupt := nodes.ListReadOnly(dir)
			if !dryRun && (len(all) > 0 || len(corrupt) > 0) {
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

package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/pipeline"
)

// mergeBindings ties merge flags to config keys: the platforms to expect,
// the tags to write, and what verify holds the index to.
var mergeBindings = []flagBinding{
	{Key: "platforms", Flag: "platform"},
	{Key: "tags", Flag: "tag"},
	{Key: "compression", Flag: "compression"},
	{Key: "size-budget", Flag: "size-budget"},
	{Key: "verify", Flag: "verify"},
	{Key: "progress", Flag: "progress"},
	{Key: "metadata-file", Flag: "metadata-file"},
	{Key: "report", Flag: "report"},
}

type mergeOptions struct {
	f     *Factory
	cmd   *cobra.Command
	files []string
}

// NewMergeCmd builds `xbuild merge`.
func NewMergeCmd(f *Factory) *cobra.Command { return newMergeCmd(f, runMerge) }

// newMergeCmd builds `xbuild merge` run by runF (tests see the options).
func newMergeCmd(f *Factory, runF func(context.Context, *mergeOptions) error) *cobra.Command {
	opts := &mergeOptions{f: f}
	c := &cobra.Command{
		Use:   "merge -t REF [-t REF ...] FILE|DIR...",
		Short: "Merge platforms pushed by digest (CI runners) into one verified, tagged index",
		Long: `Finish a build whose platforms were built on separate CI runners with
xbuild build --push-by-digest --digest-file FILE:

  1. merge    read the digest files (a DIR is searched for *.json at any depth,
              as CI artifact downloads lay them out) and check that they agree:
              one repository (the tags'), no platform twice, exactly the
              platforms asked for (the platforms key of xbuild.yaml, or
              --platform); check that every digest is in the registry; push one
              index of them by digest, with no tag
  2. verify   the same checks as xbuild build, on the whole index: platforms,
              config os/arch, every ELF file's architecture, byte-identical
              binaries across platforms, compression, no proxy value of this
              environment or config, the size budget
  3. publish  only now are the tags written
  4. report   per platform: digest, size, the runner's node (--report json for machines)

Any failure exits 1 and writes no tag. Use the same xbuild release and the same
xbuild.yaml as the build jobs: push-by-digest and digest-file are ignored here.`,
		Example: `  # after two runners built linux/amd64 and linux/arm64 by digest
  xbuild merge -t registry.example.com/app:1.2.3 -t registry.example.com/app:latest digests/

  # name the files, expect exactly these platforms, JSON report
  xbuild merge -t registry.example.com/app:1.2.3 --platform linux/amd64,linux/arm64 \
      amd64.json arm64.json --report json`,
		GroupID: "main",
		Args:    minArgs(1, "the digest files (or directories of them) written by xbuild build --push-by-digest --digest-file"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.cmd, opts.files = c, args
			return runF(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayP("tag", "t", nil, "tag to write once the index is verified, REGISTRY/REPO:TAG, repeatable (default from config image + tags)")
	fl.StringArray("platform", nil, "platforms the files must hold exactly, comma-separated or repeated (default from config: linux/amd64,linux/arm64)")
	fl.String("compression", "", "layer compression every layer must have: gzip, zstd or uncompressed (default from config: gzip)")
	fl.String("size-budget", "", "fail when the largest platform image exceeds this compressed size, e.g. 50MB")
	fl.Bool("verify", true, "verify the index before tagging it")
	fl.String("progress", "", "progress output: auto, plain, tty or quiet (default auto)")
	fl.String("metadata-file", "", "write the report as JSON to this file")
	fl.String("report", "", "report format: table (stderr) or json (stdout) (default table)")
	return c
}

// runMerge runs the merge pipeline (pipeline.MergeSteps) once.
func runMerge(ctx context.Context, opts *mergeOptions) error {
	f := opts.f
	lc, err := f.loadConfig(opts.cmd.Flags(), mergeBindings)
	if err != nil {
		return err
	}
	// the runners' half of the config does not apply to the merge job,
	// which shares their xbuild.yaml
	lc.PushByDigest, lc.DigestFile = false, ""
	lc.Push = true
	if len(lc.Refs()) == 0 {
		return usageErrorf("no tag to write: pass -t REGISTRY/REPOSITORY:TAG (or set image and tags in xbuild.yaml)")
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	st := &pipeline.State{
		Config:  lc.Config,
		Options: pipeline.Options{DigestFiles: opts.files},
		Getenv:  f.Getenv,
		Now:     f.Now,
		Out:     f.IO.Out,
		Err:     f.IO.ErrOut,
		Log:     &pipeline.TextLogger{W: f.IO.ErrOut, Quiet: lc.Progress == "quiet"},
		Secrets: redact.New(),
		Open:    pipeline.Opener{Registry: func() (pipeline.Registry, error) { return f.registry(), nil }},
	}
	return pipeline.Run(ctx, st, pipeline.MergeSteps())
}

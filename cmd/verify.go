package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/sign"
	"github.com/xbuild-dev/xbuild/pipeline"
)

type verifyOptions struct {
	platforms   []string
	compression string
	sizeBudget  string
	format      string
	key         string
	sbom        bool
	provenance  bool
}

// NewVerifyCmd builds `xbuild verify`.
func NewVerifyCmd(f *Factory) *cobra.Command {
	opts := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify REF",
		Short: "Check a pushed image in the registry: platforms, every binary's architecture, compression, proxy leaks, size, signatures",
		Long: `Read an image back from the registry and run the checks xbuild build runs
after its push, on any image: a release candidate before it is promoted, an
image built by another tool. REF is REGISTRY/REPOSITORY@sha256:... or a tag.

  platforms         exactly the --platform list; without it, the index's own
                    platforms (each listed once); a single-manifest image is
                    checked as its one platform
  config-platform   each image config's os/architecture
  compression       every layer's media type is --compression; without it,
                    all layers of a platform use the same compression
  no-proxy-leak     no value of HTTP_PROXY, HTTPS_PROXY, NO_PROXY, FTP_PROXY
                    or ALL_PROXY (either case) from this environment in the
                    config's env, labels and history or in attestations
  entrypoint        the ENTRYPOINT/CMD binary exists
  binary-arch       the entrypoint and every other ELF file of each platform's
                    filesystem (layers applied, whiteouts honoured) match the
                    platform: class, byte order and machine
  identical-binary  no ELF file is byte-identical at the same path in two
                    platforms of different architectures
  size-budget       with --size-budget, the largest platform's compressed size
  attestations      with --sbom / --provenance, each platform image carries an
                    SPDX SBOM (that parses) / a SLSA provenance attestation
  signature         with --key, the index and every platform image carry a
                    cosign signature (REPO:sha256-HEX.sig) the public key
                    verifies and that names their digest; no transparency log

Reading every file downloads every layer; past ` + fmt.Sprint(registry.DefaultWalkMaxBytes>>30) + ` GiB of uncompressed layers
per platform the files are reported as not checked.

Results go to stdout (a table, or JSON with --format json); progress and
registry retries to stderr. Exit status: 0 when every check passes, 1 when
one fails (each failed check is named on stderr) or the registry cannot be
read, 2 for a usage error. Credentials come from the docker config, as for a
push.`,
		Example: `  # verify a release candidate by digest before promoting it
  xbuild verify registry.example.com/app@sha256:7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad

  # require exactly these platforms, zstd layers and a size budget
  xbuild verify registry.example.com/app:1.2.3 --platform linux/amd64,linux/arm64 --compression zstd --size-budget 50MB

  # signed by the release key, with an SBOM for every platform
  xbuild verify registry.example.com/app:1.2.3 --key cosign.pub --sbom

  # the failed checks, for CI
  xbuild verify registry.example.com/app:1.2.3 --format json | jq '.checks[] | select(.ok | not)'`,
		GroupID: "main",
		Args:    exactArgs(1, "one image reference REF (REGISTRY/REPOSITORY@sha256:... or REGISTRY/REPOSITORY:TAG)"),
		RunE: func(c *cobra.Command, args []string) error {
			return runVerify(c, f, opts, args[0])
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.platforms, "platform", nil, "platforms the index must hold exactly, comma-separated or repeated (default: the index's own)")
	fl.StringVar(&opts.compression, "compression", "", "layer compression every layer must have: gzip, zstd or uncompressed (default: each platform's layers agree)")
	fl.StringVar(&opts.sizeBudget, "size-budget", "", "fail when the largest platform image exceeds this compressed size, e.g. 50MB")
	fl.StringVar(&opts.format, "format", "table", "output format: table or json")
	fl.StringVar(&opts.key, "key", "", "cosign public key (cosign.pub): the index and every platform image must be signed with its private key")
	fl.BoolVar(&opts.sbom, "sbom", false, "every platform image must carry an SPDX SBOM attestation")
	fl.BoolVar(&opts.provenance, "provenance", false, "every platform image must carry a provenance attestation")
	return c
}

// verifyRequest turns the flags into what the image must match.
func verifyRequest(opts *verifyOptions, getenv func(string) string) (pipeline.VerifyRequest, error) {
	req := pipeline.VerifyRequest{Compression: opts.compression, ProxyValues: pipeline.ProxyValuesFromEnv(getenv)}
	if opts.format != "table" && opts.format != "json" {
		return req, usageErrorf("--format %q: use table or json", opts.format)
	}
	if opts.compression != "" && !slices.Contains(config.Compressions, opts.compression) {
		return req, usageErrorf("--compression %q: use one of %s", opts.compression, strings.Join(config.Compressions, ", "))
	}
	plats, err := platform.List(opts.platforms)
	if err != nil {
		return req, usageErrorf("--platform: %v", err)
	}
	req.Platforms = plats
	if opts.provenance {
		req.Attestations = append(req.Attestations, pipeline.AttestProvenance)
	}
	if opts.sbom {
		req.Attestations = append(req.Attestations, pipeline.AttestSBOM)
	}
	if opts.key != "" {
		b, err := os.ReadFile(opts.key)
		if err != nil {
			return req, usageErrorf("--key: %v", err)
		}
		if req.SignatureKey, err = sign.LoadPublicKey(opts.key, b); err != nil {
			return req, usageErrorf("--key: %v", err)
		}
	}
	if opts.sizeBudget != "" {
		if req.SizeBudget, err = config.ParseSize(opts.sizeBudget); err != nil {
			return req, usageErrorf("--size-budget: %v", err)
		}
	}
	return req, nil
}

func runVerify(c *cobra.Command, f *Factory, opts *verifyOptions, ref string) error {
	req, err := verifyRequest(opts, f.Getenv)
	if err != nil {
		return err
	}
	if _, err := registry.Repository(ref); err != nil {
		return &UsageError{Err: err}
	}
	reg := f.Registry
	if reg == nil {
		reg = &registry.Client{Notify: func(msg string) { f.IO.Warnf("%s", msg) }}
	}
	f.IO.Infof("Verifying %s (%s)", ref, describeRequest(req))
	rep, err := pipeline.Verify(c.Context(), reg, ref, req)
	if err != nil {
		return err
	}
	if opts.format == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeVerifyTable(f.IO.Out, rep)
	}
	return rep.Failure()
}

// describeRequest says in a few words what the image is held to.
func describeRequest(req pipeline.VerifyRequest) string {
	parts := []string{"platforms: the index's own"}
	if len(req.Platforms) > 0 {
		parts[0] = "platforms: " + strings.Join(req.Platforms, ", ")
	}
	if req.Compression != "" {
		parts = append(parts, "compression: "+req.Compression)
	} else {
		parts = append(parts, "compression: each platform's layers agree")
	}
	if req.SizeBudget > 0 {
		parts = append(parts, "size budget: "+config.FormatSize(req.SizeBudget))
	}
	if len(req.Attestations) > 0 {
		parts = append(parts, "attestations: "+strings.Join(req.Attestations, ", "))
	}
	if req.SignatureKey != nil {
		parts = append(parts, "signatures: "+req.SignatureKey.Describe())
	}
	return strings.Join(parts, "; ")
}

// writeVerifyTable prints the checks, then each platform image with the
// files read, then a one-line verdict.
func writeVerifyTable(w io.Writer, rep *pipeline.VerifyReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tPLATFORM\tRESULT\tDETAIL")
	for _, c := range rep.Checks {
		result := "ok"
		if !c.OK {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, dash(c.Platform), result, c.Detail)
	}
	_ = tw.Flush()
	if len(rep.Platforms) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PLATFORM\tDIGEST\tSIZE\tLAYERS\tFILES\tELF FILES")
		for _, p := range rep.Platforms {
			files, elf := fmt.Sprint(p.Files), fmt.Sprint(p.ELFFiles)
			if p.NotScanned != "" {
				files, elf = "not read", "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.Platform, p.Digest, config.FormatSize(p.CompressedSize), p.Layers, files, elf)
		}
		_ = tw.Flush()
	}
	if failed := len(rep.Failed()); failed > 0 {
		fmt.Fprintf(w, "\nFAILED: %d of %d checks on %s (%s)\n", failed, len(rep.Checks), rep.Ref, rep.Digest)
	} else {
		fmt.Fprintf(w, "\nVerified: %d checks passed on %s (%s)\n", len(rep.Checks), rep.Ref, rep.Digest)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

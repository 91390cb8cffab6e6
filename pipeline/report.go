package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// Report is the build summary a release engineer pastes into a ticket.
type Report struct {
	// Name is the image's name in the images list ("" for one image).
	Name   string   `json:"name,omitempty"`
	Refs   []string `json:"refs"`
	Digest string   `json:"digest,omitempty"`
	Pushed bool     `json:"pushed"`
	// Published is true once the tags point at the verified index.
	Published bool `json:"published"`
	// Error is why the build stopped, when it did.
	Error     string           `json:"error,omitempty"`
	Builder   string           `json:"builder"`
	Engine    string           `json:"engine"`
	Platforms []PlatformReport `json:"platforms"`
	Steps     []Timing         `json:"steps"`
	Verify    *VerifyReport    `json:"verify,omitempty"`
	Signed    []Signed         `json:"signed,omitempty"`
	// Outputs are the buildx outputs of a build that did not push (none
	// for a build kept in the build cache); they are not verified.
	Outputs  []string `json:"outputs,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// SizeBudget is the configured budget in bytes (0: none).
	SizeBudget int64 `json:"sizeBudget,omitempty"`
	// PushByDigest marks a build that pushes its platforms by digest only
	// (no index, no tag); Digests is what it pushed, once verified.
	PushByDigest bool        `json:"pushByDigest,omitempty"`
	Digests      *DigestFile `json:"digests,omitempty"`
	DigestFile   string      `json:"digestFile,omitempty"`
}

// PlatformReport is one platform's row.
type PlatformReport struct {
	Platform string `json:"platform"`
	Node     string `json:"node"`
	Emulated bool   `json:"emulated"`
	// Result is built, reused or failover (see PlatformResult); "failed"
	// for a platform that did not finish.
	Result string `json:"result"`
	// Lost are the nodes lost while building it.
	Lost []string `json:"lost,omitempty"`
	// Pushed is what its build pushed by digest.
	Pushed string `json:"pushed,omitempty"`
	// BuildRef is buildx's reference of its build (buildx history).
	BuildRef       string `json:"buildRef,omitempty"`
	Digest         string `json:"digest,omitempty"`
	CompressedSize int64  `json:"compressedSize,omitempty"`
	Layers         int    `json:"layers,omitempty"`
}

// ReportStep prints the report (table on stderr, or JSON on stdout) and
// writes --metadata-file. It runs after a failure too, once platforms were
// built: what finished, what failed and whether anything was published.
type ReportStep struct{}

// Name implements Step.
func (ReportStep) Name() string { return "report" }

// String implements Step.
func (ReportStep) String() string { return "reporting" }

// Finally implements Finally.
func (ReportStep) Finally() bool { return true }

// Skip implements Skipper: a --call build builds nothing to report.
func (ReportStep) Skip(s *State) (bool, string) {
	if s.calls() {
		return true, "nothing was built (--call " + s.Options.Run.Call + ")"
	}
	return false, ""
}

// Run implements Step.
func (ReportStep) Run(ctx context.Context, s *State) error {
	if s.Failed != nil && len(s.Platforms) == 0 {
		return nil // nothing was built: the error says it all
	}
	rep := buildReport(s)
	s.Report = rep
	if s.Options.Target == "" { // several targets are reported together (RunTargets)
		if err := printReport(s.Out, s.Err, s.Config.Report, rep); err != nil {
			return err
		}
	}
	return writeResultFiles(ctx, s)
}

// printReport writes the report: JSON on out, or the table on errOut and
// the published repo@digest, alone, on out.
func printReport(out, errOut io.Writer, format string, rep *Report) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeTable(errOut, rep)
	if rep.Digests != nil {
		for _, line := range byDigestLines(rep.Digests) {
			fmt.Fprintln(out, line)
		}
	}
	if rep.Published && rep.Digest != "" && len(rep.Refs) > 0 {
		if repo, err := repository(rep.Refs[0]); err == nil {
			fmt.Fprintf(out, "%s@%s\n", repo, rep.Digest)
		}
	}
	return nil
}

func buildReport(s *State) *Report {
	rep := &Report{
		Refs:      s.Config.Refs(),
		Pushed:    s.Config.Push,
		Published: s.Config.Push && len(s.Tagged) > 0,
		Builder:   s.Config.Builder,
		Steps:     s.Timings,
		Verify:    s.Verify,
		Signed:    s.Signed,

		PushByDigest: s.Config.PushByDigest,
		Digests:      s.Digests,
	}
	if s.Digests != nil {
		rep.DigestFile = s.Config.DigestFile
	}
	if s.Failed != nil {
		rep.Error = s.Secrets.String(s.Failed.Error())
	}
	if s.Engine != nil {
		rep.Engine = s.Engine.Describe()
	}
	if s.Build != nil {
		rep.Digest = s.Build.Digest
	}
	if !s.Config.Push {
		for _, o := range outputsOf(s.Spec.Outputs) {
			if o.Type != "cacheonly" {
				rep.Outputs = append(rep.Outputs, o.String())
			}
		}
	}
	if s.Plan != nil {
		rep.Warnings = append(rep.Warnings, s.Plan.Warnings...)
	}
	for _, r := range s.Platforms {
		pr := PlatformReport{Platform: r.Platform, Node: r.Node, Emulated: r.Emulated, Result: r.Result, Lost: r.Lost, Pushed: r.Pushed, BuildRef: r.BuildRef}
		if r.Err != nil {
			pr.Result = "failed"
		}
		if s.Verify != nil {
			if img := s.Verify.Images[r.Platform]; img != nil {
				pr.Digest, pr.CompressedSize, pr.Layers = img.Digest, img.CompressedSize(), len(img.Layers)
			}
		}
		rep.Platforms = append(rep.Platforms, pr)
	}
	if s.Config.SizeBudget != "" {
		rep.SizeBudget, _ = config.ParseSize(s.Config.SizeBudget)
	}
	return rep
}

func writeTable(w io.Writer, rep *Report) {
	fmt.Fprintln(w)
	switch {
	case rep.Digests != nil:
		verified := "verified"
		if len(rep.Digests.Platforms) > 0 && rep.Digests.Platforms[0].Verify.Result != VerifyPassed {
			verified = "not verified (verify: false)"
		}
		fmt.Fprintf(w, "Pushed by digest to %s, %s, not tagged (push-by-digest): xbuild merge assembles and tags the index\n", rep.Digests.Repository, verified)
		if rep.DigestFile != "" {
			fmt.Fprintf(w, "Digest file %s\n", rep.DigestFile)
		}
	case rep.Published:
		fmt.Fprintf(w, "Published %s\n", strings.Join(rep.Refs, ", "))
		if rep.Digest != "" {
			fmt.Fprintf(w, "Digest %s\n", rep.Digest)
		}
	case rep.Pushed && rep.Digest != "":
		fmt.Fprintf(w, "NOT published: the index %s was pushed by digest only; no tag was created or moved\n", rep.Digest)
	case rep.Pushed:
		fmt.Fprintln(w, "NOT published: no tag was created or moved")
	case len(rep.Outputs) > 0:
		fmt.Fprintf(w, "Not pushed: exported to %s (not verified: xbuild verifies what it pushes)\n", strings.Join(rep.Outputs, "; "))
	default:
		fmt.Fprintln(w, "Not pushed: the result is in the nodes' build cache (use --push to publish it).")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tNODE\tBUILT\tRESULT\tSIZE\tLAYERS\tDIGEST")
	for _, p := range rep.Platforms {
		built := "native"
		if p.Emulated {
			built = "emulated"
		}
		size, layers, dg := "-", "-", "-"
		if p.CompressedSize > 0 {
			size, layers, dg = config.FormatSize(p.CompressedSize), fmt.Sprint(p.Layers), short(p.Digest)
		} else if p.Pushed != "" {
			dg = short(p.Pushed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Platform, p.Node, built, p.Result, size, layers, dg)
	}
	_ = tw.Flush()
	var steps []string
	for _, t := range rep.Steps {
		if t.Skipped != "" {
			steps = append(steps, t.Step+" skipped")
			continue
		}
		steps = append(steps, fmt.Sprintf("%s %.1fs", t.Step, t.Seconds))
	}
	fmt.Fprintf(w, "Steps: %s\n", strings.Join(steps, ", "))
	if rep.Verify != nil && len(rep.Verify.Checks) > 0 {
		failed := rep.Verify.Failed()
		if len(failed) == 0 {
			fmt.Fprintf(w, "Verified: %d checks passed (platforms, config os/arch, binary arch, compression, no proxy leak)\n", len(rep.Verify.Checks))
		} else {
			fmt.Fprintf(w, "Verify FAILED: %d of %d checks\n", len(failed), len(rep.Verify.Checks))
		}
	}
	if len(rep.Signed) > 0 {
		fmt.Fprintf(w, "Signed: the index and %d platform image(s), signatures in %s\n", len(rep.Signed)-1, rep.Signed[0].Signatures)
	}
	if rep.SizeBudget > 0 && !rep.Pushed {
		fmt.Fprintf(w, "Size budget %s: not checked (nothing was pushed to measure)\n", config.FormatSize(rep.SizeBudget))
	}
	sort.Strings(rep.Warnings)
	for _, wn := range rep.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", wn)
	}
}

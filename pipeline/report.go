package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
	"github.com/xbuild-dev/xbuild/internal/config"
)

// Report is the build summary a release engineer pastes into a ticket.
type Report struct {
	Refs      []string         `json:"refs"`
	Digest    string           `json:"digest,omitempty"`
	Pushed    bool             `json:"pushed"`
	Builder   string           `json:"builder"`
	Engine    string           `json:"engine"`
	Platforms []PlatformReport `json:"platforms"`
	Steps     []Timing         `json:"steps"`
	Verify    *VerifyReport    `json:"verify,omitempty"`
	Warnings  []string         `json:"warnings,omitempty"`
	// SizeBudget is the configured budget in bytes (0: none).
	SizeBudget int64 `json:"sizeBudget,omitempty"`
}

// PlatformReport is one platform's row.
type PlatformReport struct {
	Platform       string `json:"platform"`
	Node           string `json:"node"`
	Emulated       bool   `json:"emulated"`
	Digest         string `json:"digest,omitempty"`
	CompressedSize int64  `json:"compressedSize,omitempty"`
	Layers         int    `json:"layers,omitempty"`
}

// ReportStep prints the report (table on stderr, or JSON on stdout), writes
// --metadata-file, and fails on verify failures or a blown size budget.
type ReportStep struct{}

// Name implements Step.
func (ReportStep) Name() string { return "report" }

// String implements Step.
func (ReportStep) String() string { return "reporting" }

// Run implements Step.
func (ReportStep) Run(ctx context.Context, s *State) error {
	if s.Verify == nil && s.Config.Push && s.Config.SizeBudget != "" && s.Build != nil {
		// verify is off, but the budget needs the pushed sizes
		if reg, err := s.registry(); err == nil {
			if images, err := readImages(ctx, reg, s.Config.Refs()[0]); err == nil {
				s.Verify = &VerifyReport{Images: images, OK: true}
			}
		}
	}
	rep := buildReport(s)
	s.Report = rep
	if s.Config.Report == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeTable(s.Err, rep)
		if rep.Pushed && rep.Digest != "" && len(rep.Refs) > 0 {
			repo, err := repository(rep.Refs[0])
			if err == nil {
				fmt.Fprintf(s.Out, "%s@%s\n", repo, rep.Digest)
			}
		}
	}
	if s.Config.MetadataFile != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(s.Config.MetadataFile, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if s.Verify != nil && !s.Verify.OK {
		var lines []string
		for _, c := range s.Verify.Failed() {
			lines = append(lines, fmt.Sprintf("%s %s: %s", c.Platform, c.Name, c.Detail))
		}
		return &StepError{Step: "verify", Err: fmt.Errorf("%d check(s) failed on %s:\n  %s", len(lines), s.Verify.Ref, strings.Join(lines, "\n  "))}
	}
	return checkBudget(rep)
}

func buildReport(s *State) *Report {
	rep := &Report{
		Refs:    s.Config.Refs(),
		Pushed:  s.Config.Push,
		Builder: s.Config.Builder,
		Steps:   s.Timings,
		Verify:  s.Verify,
	}
	if s.Engine != nil {
		rep.Engine = s.Engine.Describe()
	}
	if s.Build != nil {
		rep.Digest = s.Build.Digest
	}
	if s.Plan != nil {
		rep.Warnings = append(rep.Warnings, s.Plan.Warnings...)
		for _, a := range s.Plan.Assignments {
			pr := PlatformReport{Platform: a.Platform, Node: a.Node, Emulated: a.Emulated}
			if s.Verify != nil {
				if img := s.Verify.Images[a.Platform]; img != nil {
					pr.Digest, pr.CompressedSize, pr.Layers = img.Digest, img.CompressedSize(), len(img.Layers)
				}
			}
			rep.Platforms = append(rep.Platforms, pr)
		}
	}
	if s.Config.SizeBudget != "" {
		rep.SizeBudget, _ = config.ParseSize(s.Config.SizeBudget)
	}
	return rep
}

func checkBudget(rep *Report) error {
	if rep.SizeBudget <= 0 || !rep.Pushed {
		return nil // without a push there is no image to measure; the table says so
	}
	var largest PlatformReport
	for _, p := range rep.Platforms {
		if p.CompressedSize > largest.CompressedSize {
			largest = p
		}
	}
	if largest.CompressedSize == 0 {
		return &StepError{Step: "report", Err: fmt.Errorf("size-budget %s cannot be checked: the registry reported no image sizes", config.FormatSize(rep.SizeBudget))}
	}
	if largest.CompressedSize > rep.SizeBudget {
		return &StepError{Step: "report", Err: fmt.Errorf("%s image is %s compressed, over the size budget of %s", largest.Platform, config.FormatSize(largest.CompressedSize), config.FormatSize(rep.SizeBudget))}
	}
	return nil
}

func writeTable(w io.Writer, rep *Report) {
	fmt.Fprintln(w)
	if rep.Pushed {
		fmt.Fprintf(w, "Pushed %s\n", strings.Join(rep.Refs, ", "))
		if rep.Digest != "" {
			fmt.Fprintf(w, "Digest %s\n", rep.Digest)
		}
	} else {
		fmt.Fprintln(w, "Not pushed: the result is in the nodes' build cache (use --push to publish it).")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tNODE\tBUILT\tSIZE\tLAYERS\tDIGEST")
	for _, p := range rep.Platforms {
		built := "native"
		if p.Emulated {
			built = "emulated"
		}
		size, layers, dg := "-", "-", "-"
		if p.CompressedSize > 0 {
			size, layers, dg = config.FormatSize(p.CompressedSize), fmt.Sprint(p.Layers), short(p.Digest)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Platform, p.Node, built, size, layers, dg)
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
	if rep.Verify != nil {
		failed := rep.Verify.Failed()
		if len(failed) == 0 {
			fmt.Fprintf(w, "Verified: %d checks passed (platforms, config os/arch, binary arch, compression, no proxy leak)\n", len(rep.Verify.Checks))
		} else {
			fmt.Fprintf(w, "Verify FAILED: %d of %d checks\n", len(failed), len(rep.Verify.Checks))
		}
	}
	if rep.SizeBudget > 0 {
		if rep.Pushed {
			fmt.Fprintf(w, "Size budget: %s for the largest platform\n", config.FormatSize(rep.SizeBudget))
		} else {
			fmt.Fprintf(w, "Size budget %s: not checked (nothing was pushed to measure)\n", config.FormatSize(rep.SizeBudget))
		}
	}
	sort.Strings(rep.Warnings)
	for _, wn := range rep.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", wn)
	}
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/registry"
)

// FileWalker reads the whole filesystem of a pushed image;
// *registry.Client is one. Verify checks every ELF file through it when
// the Registry it is given has it; without it, only the entrypoint is
// checked and the report says the other files were not.
type FileWalker interface {
	WalkFiles(ctx context.Context, repo, digest string, opts registry.WalkOptions, fn func(registry.File) error) (*registry.WalkSummary, error)
}

// the registry client verify uses in production walks files
var _ FileWalker = (*registry.Client)(nil)

// maxListed is how many paths a check detail names before "and N more".
const maxListed = 5

// fileScan is what verify learned from one platform's files.
type fileScan struct {
	files, elf int
	bytes      int64
	// wrong are the ELF files built for another architecture, in path order
	wrong []wrongELF
	// elfDigests maps the path of every ELF file to its content's digest
	elfDigests map[string]string
	// notChecked says why the files were not read ("" when they were)
	notChecked string
}

type wrongELF struct {
	path string
	id   platform.ELF
}

// expectedELF is how the binaries of plat must say their architecture;
// ok is false when the table has no ELF identity for it (wasm).
func expectedELF(plat string) (platform.Arch, bool) {
	a, known := platform.LookupArch(platform.ArchOf(plat))
	return a, known && a.ELF != (platform.ELF{})
}

// scanFiles walks one platform image's files and compares every ELF
// header with the platform. Going past the walk's bound is not an error:
// the files are then reported as not checked.
func scanFiles(ctx context.Context, reg Registry, repo, digest, plat string, maxBytes int64) (*fileScan, error) {
	w, ok := reg.(FileWalker)
	if !ok {
		return &fileScan{notChecked: "this registry reader cannot list an image's files"}, nil
	}
	want, comparable := expectedELF(plat)
	s := &fileScan{elfDigests: map[string]string{}}
	sum, err := w.WalkFiles(ctx, repo, digest, registry.WalkOptions{HeadSize: 64, MaxBytes: maxBytes}, func(f registry.File) error {
		s.files++
		id, isELF := platform.ParseELFHeader(f.Head)
		if !isELF {
			return nil
		}
		s.elf++
		s.elfDigests[f.Path] = f.Digest
		if comparable && id != want.ELF {
			s.wrong = append(s.wrong, wrongELF{path: f.Path, id: id})
		}
		return nil
	})
	var read int64
	if sum != nil {
		read = sum.Bytes
	}
	var le *registry.LimitError
	if errors.As(err, &le) {
		return &fileScan{notChecked: le.Error(), bytes: read}, nil
	}
	if err != nil {
		return nil, err
	}
	s.bytes = read
	return s, nil
}

// checkBinaryArch is one platform's binary-arch check: its entrypoint
// (entry, nil when the image names none that exists; entryPath its path)
// and every other ELF file of its filesystem.
func checkBinaryArch(plat, entryPath string, entry *Check, s *fileScan) Check {
	c := Check{Name: "binary-arch", Platform: plat, OK: true}
	var parts []string
	if entry != nil {
		c.OK = entry.OK
		parts = append(parts, entry.Detail)
	}
	want, comparable := expectedELF(plat)
	var others []wrongELF
	for _, w := range s.wrong {
		if w.path != entryPath || entry == nil {
			others = append(others, w)
		}
	}
	switch {
	case s.notChecked != "":
		parts = append(parts, "the image's files were not checked: "+s.notChecked)
	case !comparable:
		parts = append(parts, fmt.Sprintf("%s among %s; %s has no ELF machine to compare", plural(s.elf, "ELF file"), plural(s.files, "file"), platform.ArchOf(plat)))
	case len(others) > 0:
		c.OK = false
		names := make([]string, 0, maxListed)
		for _, w := range others[:min(maxListed, len(others))] {
			names = append(names, w.path+" is "+w.id.Describe())
		}
		d := fmt.Sprintf("%d of %s (among %s)%s not %s: %s%s", len(others), plural(s.elf, "ELF file"), plural(s.files, "file"), areIs(len(others)), want.Describe(), strings.Join(names, ", "), more(len(others)))
		if entry != nil && !entry.OK {
			d = "also " + d
		} else {
			d += "; a binary built or downloaded for one architecture was copied into every platform's image (a fixed GOARCH/TARGETARCH, or a download URL without ${TARGETARCH})"
		}
		parts = append(parts, d)
	case s.elf == 0:
		parts = append(parts, "no ELF file among "+plural(s.files, "file"))
	case entry != nil && !entry.OK:
		n := s.elf
		if _, walked := s.elfDigests[entryPath]; walked {
			n--
		}
		if n == 0 {
			parts = append(parts, "no other ELF file among "+plural(s.files, "file"))
		} else {
			parts = append(parts, fmt.Sprintf("the other %s (among %s) match", plural(n, "ELF file"), plural(s.files, "file")))
		}
	default:
		parts = append(parts, fmt.Sprintf("%d of %s%s ELF, all %s", s.elf, plural(s.files, "file"), areIs(s.elf), want.Describe()))
	}
	c.Detail = strings.Join(parts, "; ")
	return c
}

// platformScan is one platform's file scan, for the comparison across
// platforms.
type platformScan struct {
	platform string
	scan     *fileScan
}

// checkIdentical compares the ELF files of every two platforms of
// different architectures: the same content at the same path means one
// build was copied into both images (a cross-compile that forgot GOARCH).
// Variants of one architecture (linux/arm/v6 and linux/arm/v7) are not
// compared: one binary may rightly serve both. Fewer than two platform
// images: no check.
func checkIdentical(scans []platformScan) []Check {
	if len(scans) < 2 {
		return nil
	}
	var out []Check
	var compared, notRead []string
	for i, a := range scans {
		if a.scan.notChecked != "" {
			notRead = append(notRead, a.platform)
			continue
		}
		compared = append(compared, a.platform)
		for _, b := range scans[i+1:] {
			if b.scan.notChecked != "" || platform.ArchOf(a.platform) == platform.ArchOf(b.platform) {
				continue
			}
			var same []string
			for p, d := range a.scan.elfDigests {
				if b.scan.elfDigests[p] == d {
					same = append(same, p)
				}
			}
			if len(same) == 0 {
				continue
			}
			slices.Sort(same)
			out = append(out, Check{Name: "identical-binary", Platform: a.platform + ", " + b.platform,
				Detail: fmt.Sprintf("%s%s%s byte-identical in %s and %s (%s): one build was copied into both images (a fixed GOARCH/TARGETARCH, or a prebuilt binary without ${TARGETARCH})",
					strings.Join(same[:min(maxListed, len(same))], ", "), more(len(same)), areIs(len(same)), a.platform, b.platform, short(a.scan.elfDigests[same[0]]))})
		}
	}
	if len(out) > 0 {
		return out
	}
	c := Check{Name: "identical-binary", OK: true}
	if len(compared) < 2 {
		c.Detail = "not compared: the files of " + strings.Join(notRead, ", ") + " were not read"
		return []Check{c}
	}
	c.Detail = "no ELF file is byte-identical across " + strings.Join(compared, ", ")
	if len(notRead) > 0 {
		c.Detail += " (" + strings.Join(notRead, ", ") + " not compared: files not read)"
	}
	return []Check{c}
}

func more(n int) string {
	if n <= maxListed {
		return ""
	}
	return fmt.Sprintf(" and %d more", n-maxListed)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func areIs(n int) string {
	if n == 1 {
		return " is"
	}
	return " are"
}

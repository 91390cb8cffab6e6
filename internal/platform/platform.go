// Package platform is xbuild's one place for platform strings
// (os/arch[/variant]) and CPU architectures. Config loading normalizes the
// requested platforms once with it; everything downstream compares the
// canonical strings it returns.
package platform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
)

// Platform is a parsed, normalized os/arch[/variant].
type Platform struct {
	OS      string
	Arch    string
	Variant string
}

// String renders p canonically: linux/arm64, linux/arm/v7.
func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Parse parses and normalizes a platform as BuildKit reports it:
// linux/aarch64 and linux/arm64/v8 become linux/arm64, linux/x86_64 becomes
// linux/amd64, linux/arm becomes linux/arm/v7 (arm variants are different
// platforms). The OS is required: a bare "arm64" would silently mean "this
// machine's OS". OS and architecture must be known ones.
func Parse(s string) (Platform, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Platform{}, fmt.Errorf("empty platform: use os/arch, e.g. linux/arm64")
	}
	if !strings.Contains(s, "/") {
		return Platform{}, fmt.Errorf("platform %q has no OS: use os/arch, e.g. linux/%s", s, s)
	}
	cp, err := platforms.Parse(s)
	if err != nil {
		return Platform{}, fmt.Errorf("platform %q is not os/arch[/variant], e.g. linux/arm64 or linux/arm/v7", s)
	}
	cp = platforms.Normalize(cp)
	if !slices.Contains(KnownOS, cp.OS) {
		return Platform{}, fmt.Errorf("platform %q: unknown OS %q (known: %s)", s, cp.OS, strings.Join(KnownOS, ", "))
	}
	if _, ok := LookupArch(cp.Architecture); !ok {
		return Platform{}, fmt.Errorf("platform %q: unknown architecture %q (known: %s)", s, cp.Architecture, strings.Join(KnownArchs(), ", "))
	}
	return Platform{OS: cp.OS, Arch: cp.Architecture, Variant: cp.Variant}, nil
}

// Normalize is Parse rendered back to its canonical string.
func Normalize(s string) (string, error) {
	p, err := Parse(s)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

// Loose normalizes a value that was validated elsewhere or comes from a
// daemon or an image config; an unparsable value is returned as it is, so
// it simply matches nothing.
func Loose(s string) string {
	if p, err := Normalize(s); err == nil {
		return p
	}
	return s
}

// List parses a platform list as users write it: entries may be
// comma-joined (--platform linux/amd64,linux/arm64), blanks are dropped,
// each entry is normalized, the order is kept. A platform given twice
// (linux/arm64 and linux/aarch64) is an error: it is almost always a
// typo for another platform.
func List(entries []string) ([]string, error) {
	var out []string
	for _, e := range entries {
		for _, s := range strings.Split(e, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			p, err := Normalize(s)
			if err != nil {
				return nil, err
			}
			if slices.Contains(out, p) {
				return nil, fmt.Errorf("%s is listed twice", p)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Set normalizes every platform, drops duplicates and sorts the result:
// the form a node's platforms are stored in.
func Set(entries []string) ([]string, error) {
	out := make([]string, 0, len(entries))
	for _, s := range entries {
		p, err := Normalize(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Contains reports whether the canonical platform p is in list, whose
// entries are normalized loosely for the comparison.
func Contains(list []string, p string) bool {
	for _, s := range list {
		if Loose(s) == p {
			return true
		}
	}
	return false
}

// ArchOf returns the architecture of a canonical platform string
// (linux/arm/v7 -> arm).
func ArchOf(p string) string {
	_, rest, _ := strings.Cut(p, "/")
	arch, _, _ := strings.Cut(rest, "/")
	return arch
}

// OSOf returns the OS of a platform string (linux/arm64 -> linux).
func OSOf(p string) string {
	os, _, _ := strings.Cut(p, "/")
	return os
}

package nodes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// NormalizePlatform returns the canonical form of an os/arch[/variant]
// platform string as BuildKit reports it: linux/aarch64 and linux/arm64/v8
// become linux/arm64, linux/x86_64 becomes linux/amd64, linux/arm becomes
// linux/arm/v7 (arm variants are different platforms). The OS is required:
// a bare "arm64" would silently mean "this machine's OS".
func NormalizePlatform(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty platform: use os/arch, e.g. linux/arm64")
	}
	if !strings.Contains(s, "/") {
		return "", fmt.Errorf("platform %q has no OS: use os/arch, e.g. linux/%s", s, s)
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return "", fmt.Errorf("platform %q is not os/arch[/variant], e.g. linux/arm64 or linux/arm/v7", s)
	}
	p = platforms.Normalize(p)
	if !slices.Contains(config.KnownOS, p.OS) {
		return "", fmt.Errorf("platform %q: unknown OS %q (known: %s)", s, p.OS, strings.Join(config.KnownOS, ", "))
	}
	if !slices.Contains(config.KnownArch, p.Architecture) {
		return "", fmt.Errorf("platform %q: unknown architecture %q (known: %s)", s, p.Architecture, strings.Join(config.KnownArch, ", "))
	}
	return platforms.Format(p), nil
}

// NormalizePlatforms normalizes every platform, drops duplicates and sorts
// the result.
func NormalizePlatforms(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := NormalizePlatform(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeLoose is NormalizePlatform for values that were validated
// elsewhere (or come from a daemon): an unparsable value is kept as is, so
// it simply matches nothing.
func normalizeLoose(s string) string {
	if p, err := NormalizePlatform(s); err == nil {
		return p
	}
	return s
}

// ContainsPlatform reports whether the normalized platform p is in list,
// whose entries are normalized for the comparison (an unparsable entry
// matches nothing).
func ContainsPlatform(list []string, p string) bool {
	for _, s := range list {
		if normalizeLoose(s) == p {
			return true
		}
	}
	return false
}

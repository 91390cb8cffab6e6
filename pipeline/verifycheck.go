package pipeline

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/sign"
)

// Check is one verification result.
type Check struct {
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail"`
}

// VerifyRequest is what the pushed image must match.
type VerifyRequest struct {
	// Platforms are exactly the platforms the index must hold; none means
	// the index's own, each checked as it is listed.
	Platforms []string
	// Compression is gzip, zstd or uncompressed, the media type every layer
	// must have; "" only requires each platform's layers to agree.
	Compression string
	// ProxyValues must appear nowhere in the image.
	ProxyValues []string
	// ProvenanceMax says the build asked for max provenance, which records
	// every build argument's value: proxy URLs are then expected in the
	// attestations, and only their credentials count as a leak there (max
	// is refused while a proxy carries any, see maxProvenanceRefusal).
	ProvenanceMax bool
	// SignatureKey, when set, verifies the signatures of the index and of
	// every platform image (cosign's layout, no transparency log).
	SignatureKey *sign.Verifier
	// Attestations are the attestations every platform image must carry:
	// AttestProvenance, AttestSBOM; none skips the attestations check.
	Attestations []string
	// SecretValues (the build's secrets, build arguments named like
	// secrets) must appear nowhere in the image config, history or
	// attestations either; none skips the no-secret-leak check.
	SecretValues []string
	// Digest is the index digest the build reported; "" skips that check.
	Digest string
	// SizeBudget is the largest compressed size a platform image may have,
	// in bytes; 0 skips the size-budget check.
	SizeBudget int64
	// MaxScanBytes bounds the uncompressed layer bytes read from each
	// platform image to check its files; 0 means
	// registry.DefaultWalkMaxBytes. Past it the files are reported as not
	// checked.
	MaxScanBytes int64
}

// ProxyValuesFromEnv lists the proxy values of the environment
// (HTTP_PROXY, https_proxy, NO_PROXY, ...) the way a build passes them as
// build arguments, for a verify of an image built elsewhere.
func ProxyValuesFromEnv(getenv func(string) string) []string {
	return proxyValues(ProxyBuildArgs(config.Proxy{FromEnv: true}, getenv))
}

// checkIndex compares the pushed index with the request: the digest the
// build reported, and exactly the requested platforms (attestation
// manifests aside). Without requested platforms, the index's own are
// accepted as long as there is one and none is listed twice.
func checkIndex(req VerifyRequest, idx *registry.Index) []Check {
	var out []Check
	if req.Digest != "" {
		out = append(out, Check{Name: "digest", OK: idx.Digest == req.Digest,
			Detail: fmt.Sprintf("registry has %s, the build reported %s", idx.Digest, req.Digest)})
	}
	var got []string
	for _, m := range idx.Manifests {
		if !m.Attestation {
			got = append(got, platform.Loose(m.Platform))
		}
	}
	sort.Strings(got)
	if len(req.Platforms) == 0 {
		return append(out, checkOwnPlatforms(got))
	}
	want := make([]string, len(req.Platforms))
	for i, p := range req.Platforms {
		want[i] = platform.Loose(p)
	}
	sort.Strings(want)
	c := Check{Name: "platforms", OK: slices.Equal(got, want)}
	if c.OK {
		c.Detail = "index has exactly " + strings.Join(got, ", ")
	} else {
		c.Detail = fmt.Sprintf("index has [%s], requested [%s]", strings.Join(got, ", "), strings.Join(want, ", "))
		if missing := diff(want, got); len(missing) > 0 {
			c.Detail += "; missing " + strings.Join(missing, ", ")
		}
		if extra := diff(got, want); len(extra) > 0 {
			c.Detail += "; unexpected " + strings.Join(extra, ", ")
		}
	}
	return append(out, c)
}

// checkOwnPlatforms is the platforms check when none were requested:
// got (sorted) must hold at least one platform, each once.
func checkOwnPlatforms(got []string) Check {
	c := Check{Name: "platforms"}
	var twice []string
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] && !slices.Contains(twice, got[i]) {
			twice = append(twice, got[i])
		}
	}
	switch {
	case len(got) == 0:
		c.Detail = "the index lists no platform image (only attestations)"
	case len(twice) > 0:
		c.Detail = fmt.Sprintf("index has [%s]: %s listed more than once", strings.Join(got, ", "), strings.Join(twice, ", "))
	default:
		c.OK = true
		c.Detail = fmt.Sprintf("index has %s (no platforms requested: each is checked as listed)", strings.Join(got, ", "))
	}
	return c
}

// checkImage checks one platform's image config and layers.
func checkImage(req VerifyRequest, plat string, img *registry.Image) []Check {
	var out []Check
	got := img.OS + "/" + img.Architecture
	if img.Variant != "" {
		got += "/" + img.Variant
	}
	out = append(out, Check{Name: "config-platform", Platform: plat, OK: platform.Loose(got) == platform.Loose(plat),
		Detail: fmt.Sprintf("image config says %s", got)})

	if req.Compression == "" {
		out = append(out, checkLayersAgree(plat, img.Layers))
	} else {
		want := layerMediaType(req.Compression)
		var bad []string
		for _, l := range img.Layers {
			if l.MediaType != want {
				bad = append(bad, fmt.Sprintf("%s is %s", short(l.Digest), l.MediaType))
			}
		}
		c := Check{Name: "compression", Platform: plat, OK: len(bad) == 0}
		if c.OK {
			c.Detail = fmt.Sprintf("%d layer(s), all %s", len(img.Layers), want)
		} else {
			c.Detail = fmt.Sprintf("want %s: %s", want, strings.Join(bad, "; "))
		}
		out = append(out, c)
	}

	var texts []string
	texts = append(texts, img.Env...)
	texts = append(texts, img.History...)
	for k, v := range img.Labels {
		texts = append(texts, k+"="+v)
	}
	out = append(out, leakCheck("no-proxy-leak", plat, "image config env, labels and history", req.ProxyValues, texts))
	if len(req.SecretValues) > 0 {
		out = append(out, secretLeakCheck(plat, "image config env, labels and history", req.SecretValues, texts))
	}
	return out
}

// secretLeakCheck reports whether any secret value appears in texts, raw
// or in one of the encodings a tool writes it in (JSON-escaped in an
// attestation, say).
func secretLeakCheck(platform, where string, values, texts []string) Check {
	for _, v := range values {
		for _, form := range redact.Encodings(v) {
			for _, t := range texts {
				if strings.Contains(t, form) {
					return Check{Name: "no-secret-leak", Platform: platform, OK: false,
						Detail: fmt.Sprintf("a secret value (a --secret, an SSH key or a build argument named like a secret) appears in %s (value not shown); mount secrets with RUN --mount=type=secret and never copy them into a layer, ENV, LABEL or ARG", where)}
				}
			}
		}
	}
	return Check{Name: "no-secret-leak", Platform: platform, OK: true, Detail: "no value of the build's secrets in " + where}
}

// leakCheck reports whether any proxy value (or its credentials) appears in texts.
func leakCheck(name, platform, where string, values, texts []string) Check {
	for _, v := range values {
		for _, t := range texts {
			if strings.Contains(t, v) {
				return Check{Name: name, Platform: platform, OK: false,
					Detail: fmt.Sprintf("a proxy value passed as a build argument appears in %s (value not shown); set proxies with --build-arg or xbuild.yaml proxy:, never ENV", where)}
			}
		}
	}
	return Check{Name: name, Platform: platform, OK: true, Detail: fmt.Sprintf("no proxy value in %s", where)}
}

// checkLayersAgree is the compression check when no compression was
// requested: every layer of the image must use the same one.
func checkLayersAgree(plat string, layers []registry.Layer) Check {
	c := Check{Name: "compression", Platform: plat}
	byKind := map[string][]string{}
	var kinds []string
	for _, l := range layers {
		k := layerCompression(l.MediaType)
		if _, seen := byKind[k]; !seen {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], short(l.Digest))
	}
	switch len(kinds) {
	case 0:
		c.OK, c.Detail = true, "no layers"
	case 1:
		c.OK = true
		c.Detail = fmt.Sprintf("%d layer(s), all %s (no compression requested: checked that the layers agree)", len(layers), kinds[0])
	default:
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s: %s", k, strings.Join(byKind[k], ", "))
		}
		c.Detail = "the layers mix compressions: " + strings.Join(parts, "; ")
	}
	return c
}

// layerCompression names the compression of a layer media type (OCI or
// Docker): gzip, zstd, uncompressed, or the media type itself when it is
// not a known layer type.
func layerCompression(mediaType string) string {
	switch mediaType {
	case "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
		return "gzip"
	case "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
		return "zstd"
	case "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.docker.image.rootfs.diff.tar":
		return "uncompressed"
	}
	return mediaType
}

// layerMediaType is the OCI layer media type a compression produces.
func layerMediaType(compression string) string {
	switch compression {
	case "gzip":
		return "application/vnd.oci.image.layer.v1.tar+gzip"
	case "zstd":
		return "application/vnd.oci.image.layer.v1.tar+zstd"
	case "uncompressed":
		return "application/vnd.oci.image.layer.v1.tar"
	}
	return ""
}

// checkELF compares the ELF header of the image's entrypoint binary with the
// platform. It is the check that catches a TARGETARCH passed to every
// platform: an x86-64 binary inside the arm64 image.
func checkELF(plat, path string, header []byte) Check {
	c := Check{Name: "binary-arch", Platform: plat}
	id, isELF := platform.ParseELFHeader(header)
	if !isELF {
		c.OK = true
		c.Detail = fmt.Sprintf("%s is not an ELF binary; not checked", path)
		return c
	}
	want, known := platform.LookupArch(platform.ArchOf(plat))
	switch {
	case !known || want.ELF == (platform.ELF{}):
		c.OK = true
		c.Detail = fmt.Sprintf("%s is %s; %s has no ELF machine to compare", path, id.Describe(), platform.ArchOf(plat))
	case id == want.ELF:
		c.OK = true
		c.Detail = fmt.Sprintf("%s is %s", path, id.Describe())
	default:
		c.Detail = fmt.Sprintf("%s is %s, not %s: a TARGETARCH/GOARCH was fixed for every platform (a --build-arg TARGETARCH or ARG TARGETARCH=... default)", path, id.Describe(), want.Describe())
	}
	return c
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func short(d string) string {
	if i := strings.Index(d, ":"); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

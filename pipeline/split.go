package pipeline

import (
	"encoding/csv"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// splitSpec is the build of platform p alone, out of a multi-platform
// spec. When the build pushes, the platform is pushed by digest to repo,
// without a tag: the tags are written once the merged index is verified.
// A registry cache gets a ref of its own per platform, exported and
// imported (a registry cache exported from a multi-node build keeps only
// the platform that finished last, docker/buildx#1044); the refs given are
// imported too, so a cache written by plain buildx is still found.
func splitSpec(spec engine.BuildSpec, p, repo string) engine.BuildSpec {
	s := spec
	s.Platforms = []string{p}
	s.Tags = nil
	if spec.Image != nil && spec.Image.Push {
		img := *spec.Image
		img.Name, img.PushByDigest = repo, true
		s.Image = &img
	}
	s.CacheTo, s.CacheFrom = nil, nil
	for _, c := range spec.CacheTo {
		s.CacheTo = append(s.CacheTo, platformCacheRef(c, p))
	}
	for _, c := range spec.CacheTo {
		if ref := cacheRef(platformCacheRef(c, p)); ref != "" {
			s.CacheFrom = appendNew(s.CacheFrom, "type=registry,ref="+ref)
		}
	}
	for _, c := range spec.CacheFrom {
		s.CacheFrom = appendNew(s.CacheFrom, platformCacheRef(c, p))
		s.CacheFrom = appendNew(s.CacheFrom, c)
	}
	return s
}

// cacheRef is the ref of a registry cache entry, "" for other types.
func cacheRef(entry string) string {
	fields, ok := cacheFields(entry)
	if !ok || !isRegistryCache(entry) {
		return ""
	}
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "ref="); ok {
			return v
		}
	}
	return ""
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// targetName is a bake target name for a platform: linux/arm/v7 -> linux-arm-v7.
func targetName(platform string) string { return strings.ReplaceAll(platform, "/", "-") }

// platformCacheRef rewrites a registry cache entry's ref for one platform
// (REPO:TAG -> REPO:TAG-linux-arm64; REPO -> REPO:buildcache-linux-arm64);
// other cache types are returned unchanged.
func platformCacheRef(entry, platform string) string {
	fields, ok := cacheFields(entry)
	if !ok || !isRegistryCache(entry) {
		return entry
	}
	for i, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		if k != "ref" {
			continue
		}
		fields[i] = "ref=" + suffixRef(v, targetName(platform))
	}
	return joinCSV(fields)
}

func suffixRef(ref, suffix string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i] // a digest cannot be written to; keep the repository
	}
	if colon := strings.LastIndex(ref, ":"); colon > strings.LastIndex(ref, "/") {
		return ref + "-" + suffix // REPO:TAG (a colon before the last / is a registry port)
	}
	return ref + ":buildcache-" + suffix
}

// isRegistryCache reports a cache entry of type registry, including the
// shorthand "REPO:TAG" that buildx reads as one.
func isRegistryCache(entry string) bool {
	fields, ok := cacheFields(entry)
	if !ok {
		return false
	}
	for _, f := range fields {
		if f == "type=registry" {
			return true
		}
	}
	return false
}

// cacheFields parses a --cache-to/--cache-from value as buildx does (CSV),
// expanding the REPO:TAG shorthand.
func cacheFields(entry string) ([]string, bool) {
	if !strings.Contains(entry, "=") {
		return []string{"type=registry", "ref=" + entry}, true
	}
	fields, err := csv.NewReader(strings.NewReader(entry)).Read()
	if err != nil {
		return nil, false
	}
	return fields, true
}

func joinCSV(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

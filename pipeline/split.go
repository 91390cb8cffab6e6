package pipeline

import (
	"encoding/csv"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// splitSpec is the build of platform p alone, out of a multi-platform
// spec. When the build pushes, the platform is pushed by digest to repo,
// without a tag: the tags are written once the merged index is verified.
// Without a push the tags stay: they name a loaded image (--load -t).
// A cache gets a place of its own per platform, exported and imported:
// a registry cache a ref (a registry cache exported from a multi-node
// build keeps only the platform that finished last, docker/buildx#1044),
// a local cache a directory (concurrent exports to one directory would
// overwrite each other's index.json), a GitHub Actions cache a scope.
// The caches given are imported too, so a cache written by plain buildx
// is still found. A local output of several platforms gets a directory per
// platform, as buildx lays it out.
func splitSpec(spec engine.BuildSpec, p, repo string) engine.BuildSpec {
	s := spec
	s.Platforms = []string{p}
	if spec.Image != nil && spec.Image.Push {
		s.Tags = nil // pushed by digest; tagged once verified
		img := *spec.Image
		img.Name, img.PushByDigest = repo, true
		s.Image = &img
	}
	s.Outputs = nil
	for _, o := range outputsOf(spec.Outputs) {
		s.Outputs = append(s.Outputs, o.forPlatform(p, len(spec.Platforms) > 1).String())
	}
	s.CacheTo, s.CacheFrom = nil, nil
	for _, c := range spec.CacheTo {
		s.CacheTo = append(s.CacheTo, platformCacheRef(c, p))
	}
	for _, c := range spec.CacheTo {
		if from := cacheImportOf(platformCacheRef(c, p)); from != "" {
			s.CacheFrom = appendNew(s.CacheFrom, from)
		}
	}
	for _, c := range spec.CacheFrom {
		s.CacheFrom = appendNew(s.CacheFrom, platformCacheRef(c, p))
		s.CacheFrom = appendNew(s.CacheFrom, c)
	}
	return s
}

// cacheImportOf is the --cache-from entry that reads what a --cache-to
// entry writes: type=registry,ref=R; type=local,src=DEST; type=gha with
// its scope (and url/token when given). "" for caches that cannot be
// read back this way (inline: it travels with the image).
func cacheImportOf(entry string) string {
	fields, ok := cacheFields(entry)
	if !ok {
		return ""
	}
	switch fieldValue(fields, "type") {
	case "registry":
		if ref := fieldValue(fields, "ref"); ref != "" {
			return "type=registry,ref=" + ref
		}
	case "local":
		if dest := fieldValue(fields, "dest"); dest != "" {
			return joinCSV([]string{"type=local", "src=" + dest})
		}
	case "gha":
		out := []string{"type=gha"}
		for _, f := range fields {
			k, _, _ := strings.Cut(f, "=")
			switch k {
			case "scope", "url", "url_v2", "token", "version":
				out = append(out, f)
			}
		}
		return joinCSV(out)
	}
	return ""
}

// fieldValue is the value of key= among fields, "" when absent.
func fieldValue(fields []string, key string) string {
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
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

// platformCacheRef rewrites a cache entry for one platform: a registry
// ref (REPO:TAG -> REPO:TAG-linux-arm64; REPO -> REPO:buildcache-linux-arm64),
// a local directory (dest=DIR or src=DIR -> DIR/linux-arm64), a GitHub
// Actions scope (scope=S -> S-linux-arm64; buildx's default scope is
// "buildkit"). Other cache types are returned unchanged.
func platformCacheRef(entry, platform string) string {
	fields, ok := cacheFields(entry)
	if !ok {
		return entry
	}
	suffix := targetName(platform)
	switch fieldValue(fields, "type") {
	case "registry":
		for i, f := range fields {
			if v, ok := strings.CutPrefix(f, "ref="); ok {
				fields[i] = "ref=" + suffixRef(v, suffix)
			}
		}
	case "local":
		for i, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			if (k == "dest" || k == "src") && v != "" {
				fields[i] = k + "=" + strings.TrimSuffix(v, "/") + "/" + suffix
			}
		}
	case "gha":
		scope := fieldValue(fields, "scope")
		if scope == "" {
			fields = append(fields, "scope=buildkit-"+suffix)
			break
		}
		for i, f := range fields {
			if strings.HasPrefix(f, "scope=") {
				fields[i] = "scope=" + scope + "-" + suffix
			}
		}
	default:
		return entry
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

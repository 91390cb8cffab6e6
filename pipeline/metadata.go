package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
)

// The buildx metadata keys xbuild writes itself; the others are copied
// from the builds' own metadata.
const (
	mdDigest       = "containerimage.digest"
	mdDescriptor   = "containerimage.descriptor"
	mdConfigDigest = "containerimage.config.digest"
	mdImageName    = "image.name"
	mdBuildRef     = "buildx.build.ref"
	mdProvenance   = "buildx.build.provenance"
)

// pushedIndex is the published index as buildx describes it.
type pushedIndex struct {
	Digest    string
	MediaType string
	Size      int64
}

// buildxMetadata is what `docker buildx build --metadata-file` writes
// for the build xbuild ran, so scripts written for buildx read it as they
// always did (jq -r '."containerimage.digest"'):
//   - a pushed build: the published index (containerimage.digest and
//     containerimage.descriptor) and the tags (image.name, comma-joined);
//     with one platform, its build's buildx.build.ref, provenance and
//     config digest; with several, each build's provenance under
//     buildx.build.provenance/PLATFORM, as buildx writes it for a
//     multi-platform build;
//   - an OCI output or a load of several platforms, merged by xbuild:
//     the merged index, as for a push;
//   - platforms built each on its node without a push: one platform's
//     metadata as buildx wrote it; for several, the keys they agree on and
//     each one's provenance per platform.
func buildxMetadata(index *pushedIndex, refs []string, platforms []*PlatformResult) map[string]any {
	var built []*PlatformResult
	for _, p := range platforms {
		if p.Metadata != nil {
			built = append(built, p)
		}
	}
	md := map[string]any{}
	if index != nil {
		md[mdDigest] = index.Digest
		md[mdDescriptor] = map[string]any{"mediaType": index.MediaType, "digest": index.Digest, "size": index.Size}
		if len(refs) > 0 {
			md[mdImageName] = strings.Join(refs, ",")
		}
		if len(platforms) == 1 && len(built) == 1 {
			for _, k := range []string{mdBuildRef, mdProvenance, mdConfigDigest} {
				if v, ok := built[0].Metadata[k]; ok {
					md[k] = v
				}
			}
			return md
		}
		provenancePerPlatform(md, built)
		return md
	}
	if len(platforms) == 1 && len(built) == 1 {
		return maps.Clone(built[0].Metadata)
	}
	// the keys every platform's build agrees on; a build ref or a digest
	// belongs to one build and is left out
	if len(built) > 0 {
		for k, v := range built[0].Metadata {
			if k == mdBuildRef || k == mdProvenance {
				continue
			}
			same := true
			for _, p := range built[1:] {
				if w, ok := p.Metadata[k]; !ok || !reflect.DeepEqual(v, w) {
					same = false
					break
				}
			}
			if same {
				md[k] = v
			}
		}
	}
	provenancePerPlatform(md, built)
	return md
}

func provenancePerPlatform(md map[string]any, built []*PlatformResult) {
	for _, p := range built {
		if v, ok := p.Metadata[mdProvenance]; ok {
			md[mdProvenance+"/"+p.Platform] = v
		}
	}
}

// imageID is what buildx's --iidfile would hold: the published index's
// digest after a push (buildx writes the same for a multi-platform
// push) or of the OCI index xbuild merged, else the image's config digest
// or, failing that, its digest as the one platform's build reported them.
// "" when there is no one image: several platforms built each on its own
// node into the build cache, a directory or a tar.
func imageID(index *pushedIndex, platforms []*PlatformResult) string {
	if index != nil {
		return index.Digest
	}
	var md map[string]any
	if len(platforms) == 1 {
		md = platforms[0].Metadata
	}
	for _, k := range []string{mdConfigDigest, mdDigest} {
		if v, ok := md[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// publishedIndex reads the published index's media type and size back
// (nil when nothing was published).
func publishedIndex(ctx context.Context, s *State) (*pushedIndex, error) {
	if !s.Config.Push || s.Build == nil || s.Build.Digest == "" {
		return s.exported, nil // an OCI output or a load xbuild merged, if any
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	idx, err := reg.Index(ctx, s.repo+"@"+s.Build.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the published index for --metadata-file: %s", s.Secrets.String(err.Error()))
	}
	return &pushedIndex{Digest: s.Build.Digest, MediaType: idx.MediaType, Size: idx.Size}, nil
}

// writeResultFiles fills s.Metadata with buildx's metadata for this
// build and writes --metadata-file and --iidfile, as buildx does, only
// for a build that succeeded. Several targets' metadata is written once,
// by RunTargets.
func writeResultFiles(ctx context.Context, s *State) error {
	if s.Failed != nil || s.calls() {
		return nil
	}
	if s.Config.MetadataFile == "" && s.Options.IIDFile == "" && s.Options.Target == "" {
		return nil
	}
	index, err := publishedIndex(ctx, s)
	if err != nil {
		return err
	}
	refs := s.Tagged
	if !s.Config.Push {
		refs = s.Spec.Tags // the names of a merged OCI output or load
	}
	s.Metadata = buildxMetadata(index, refs, s.Platforms)
	if s.Options.Target != "" {
		return nil
	}
	if s.Config.MetadataFile != "" {
		if err := writeJSONFile(s.Config.MetadataFile, s.Metadata); err != nil {
			return fmt.Errorf("--metadata-file: %w", err)
		}
	}
	if s.Options.IIDFile != "" {
		id := imageID(index, s.Platforms)
		if id == "" {
			s.Log.Warn("--iidfile %s not written: %d platforms were built each on its own node and not pushed, so there is no one image ID (push them, write an OCI tarball, or build one platform)", s.Options.IIDFile, len(s.Platforms))
			return nil
		}
		if err := atomicfile.Write(s.Options.IIDFile, []byte(id), 0o644); err != nil {
			return fmt.Errorf("--iidfile: %w", err)
		}
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}

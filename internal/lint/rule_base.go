package lint

import (
	"fmt"
	"strings"
)

// imageTag splits an image reference into its name and tag. digest is true
// for a reference pinned with @sha256:... (which pins it whatever the tag).
func imageTag(ref string) (name, tag string, digest bool) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "", true
	}
	name = ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	return name, tag, false
}

// checkBaseTags is XB005: a base image without a tag, or with :latest,
// changes whenever its publisher pushes. scratch, earlier stages, digests
// and references whose variables have no known value are skipped.
func checkBaseTags(df *dockerfile, buildArgs map[string]string) []Finding {
	var out []Finding
	args := df.globalArgs(buildArgs)
	for _, s := range df.stages {
		if s.parent != nil {
			continue
		}
		ref, ok := df.expand(s.base, args)
		if !ok || ref == "" || strings.EqualFold(ref, "scratch") {
			continue
		}
		if df.stageBefore(s.index, ref) != nil {
			continue // a variable that names an earlier stage
		}
		name, tag, digest := imageTag(ref)
		switch {
		case digest:
		case tag == "":
			out = append(out, newFinding(df.file, "XB005", s.line, fmt.Sprintf(
				"FROM %s has no tag: it means %s:latest, which changes whenever a new image is pushed", ref, name)))
		case tag == "latest":
			out = append(out, newFinding(df.file, "XB005", s.line, fmt.Sprintf(
				"FROM %s uses the latest tag, which changes whenever a new image is pushed", ref)))
		}
	}
	return out
}

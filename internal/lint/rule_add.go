package lint

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// archiveSuffixes are the local archives ADD extracts, which COPY cannot.
var archiveSuffixes = []string{
	".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".tar.zst", ".tzst",
}

// addNeedsADD reports whether an ADD source is something only ADD handles:
// a URL, a git repository, a local tar archive, or a value only known at
// build time.
func addNeedsADD(src string) bool {
	lower := strings.ToLower(src)
	switch {
	case strings.Contains(lower, "://"), strings.HasPrefix(lower, "git@"):
		return true
	case strings.HasSuffix(lower, ".git"), strings.Contains(lower, ".git#"):
		return true
	case strings.Contains(src, "$"):
		return true
	}
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// checkAddForCopy is XB007: ADD of local files or directories, where COPY
// does the same thing without ADD's download and auto-extract behaviour.
func checkAddForCopy(df *dockerfile) []Finding {
	var out []Finding
	for _, s := range df.stages {
		for _, c := range s.cmds {
			add, ok := c.cmd.(*instructions.AddCommand)
			if !ok {
				continue
			}
			for _, src := range add.SourcePaths {
				if !addNeedsADD(src) {
					out = append(out, newFinding(df.file, "XB007", c.line(), fmt.Sprintf(
						"ADD copies local path %q: COPY does the same without ADD's URL download and archive extraction", src)))
					break
				}
			}
		}
	}
	return out
}

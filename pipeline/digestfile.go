package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/atomicfile"
	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/version"
)

// DigestFileSchema and DigestFileVersion identify a digest file: what a
// push-by-digest build hands to `xbuild merge`. The version changes when a
// field changes meaning; merge reads its own version only.
const (
	DigestFileSchema  = "xbuild/digests"
	DigestFileVersion = 1
)

// maxDigestFileBytes bounds a digest file read by merge (a real one is a
// few hundred bytes per platform).
const maxDigestFileBytes = 1 << 20

// DigestFile is what one push-by-digest build pushed: one entry per
// platform it built, all in one repository. One file per build (not per
// platform): --digest-file names one file, a runner that builds two
// platforms uploads one artifact, and merge checks across files that no
// platform comes twice.
type DigestFile struct {
	Schema        string `json:"schema"`
	SchemaVersion int    `json:"schemaVersion"`
	// XbuildVersion is the xbuild that wrote the file.
	XbuildVersion string `json:"xbuildVersion"`
	// Repository is where every platform was pushed by digest.
	Repository string        `json:"repository"`
	Platforms  []DigestEntry `json:"platforms"`
}

// DigestEntry is one platform pushed by digest.
type DigestEntry struct {
	Platform string `json:"platform"`
	// Digest is what the platform's build pushed: its image, or an index
	// of the image and its attestations. Merge lists what it holds.
	Digest string `json:"digest"`
	// ImageDigest is the platform image itself (inside Digest).
	ImageDigest string `json:"imageDigest,omitempty"`
	// Size is the image's compressed size (layers and config), in bytes.
	Size     int64  `json:"size"`
	Node     string `json:"node"`
	Emulated bool   `json:"emulated"`
	// Result is built, reused or failover (see PlatformResult).
	Result string       `json:"result"`
	Verify DigestVerify `json:"verify"`
}

// DigestVerify is the build's verify of one platform, by digest.
type DigestVerify struct {
	// Result is "passed" or "skipped" (verify: false); a build whose
	// verify failed writes no digest file.
	Result string `json:"result"`
	// Checks counts the checks that passed.
	Checks int `json:"checks"`
}

// The DigestVerify results.
const (
	VerifyPassed  = "passed"
	VerifySkipped = "skipped"
)

// WriteDigestFile writes f to path atomically, making its directory.
func WriteDigestFile(path string, f *DigestFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("digest file %s: %w", path, err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}

// newDigestFile is the digest file of a verified push-by-digest build;
// images are its platform images, by platform.
func newDigestFile(s *State, images map[string]*registry.Image) *DigestFile {
	f := &DigestFile{Schema: DigestFileSchema, SchemaVersion: DigestFileVersion, XbuildVersion: version.Version, Repository: s.repo}
	for _, r := range s.Platforms {
		e := DigestEntry{Platform: r.Platform, Digest: r.Pushed, Node: r.Node, Emulated: r.Emulated, Result: r.Result,
			Verify: DigestVerify{Result: VerifySkipped}}
		if img := images[r.Platform]; img != nil {
			e.ImageDigest, e.Size = img.Digest, img.CompressedSize()
		}
		if s.Config.Verify {
			e.Verify = DigestVerify{Result: VerifyPassed, Checks: s.platformChecks[r.Platform]}
		}
		f.Platforms = append(f.Platforms, e)
	}
	return f
}

// DigestSource is a digest file as merge read it.
type DigestSource struct {
	Path string
	File DigestFile
}

// ReadDigestFiles reads the digest files of args: each a file, or a
// directory whose *.json files (at any depth, as CI artifact downloads lay
// them out) are all digest files. Every file is checked on its own (schema,
// version, repository, platforms, digests); the errors name the file.
func ReadDigestFiles(args []string) ([]DigestSource, error) {
	var paths []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("digest file %s: %w", a, unwrapPathError(err))
		}
		if !st.IsDir() {
			paths = append(paths, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading directory %s: %w", a, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("directory %s holds no digest file (*.json): did the build jobs' artifacts download there?", a)
		}
		sort.Strings(found)
		paths = append(paths, found...)
	}
	seen := map[string]bool{}
	var out []DigestSource
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			if seen[abs] {
				continue // the same file named twice (a file and its directory)
			}
			seen[abs] = true
		}
		f, err := readDigestFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, DigestSource{Path: p, File: *f})
	}
	return out, nil
}

var digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// readDigestFile reads and checks one digest file.
func readDigestFile(path string) (*DigestFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("digest file %s: %w", path, unwrapPathError(err))
	}
	if len(data) > maxDigestFileBytes {
		return nil, fmt.Errorf("digest file %s is %d bytes: not a digest file written by xbuild build --push-by-digest", path, len(data))
	}
	// the schema first, so a file of another kind or version is named as
	// such, not by the first field it lacks
	var head struct {
		Schema        string `json:"schema"`
		SchemaVersion int    `json:"schemaVersion"`
		XbuildVersion string `json:"xbuildVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("digest file %s is not JSON (%v): pass the files written by xbuild build --push-by-digest --digest-file", path, err)
	}
	switch {
	case head.Schema != DigestFileSchema:
		return nil, fmt.Errorf("%s is not an xbuild digest file (its schema is %q, not %q): pass the files written by xbuild build --push-by-digest --digest-file", path, head.Schema, DigestFileSchema)
	case head.SchemaVersion != DigestFileVersion:
		return nil, fmt.Errorf("digest file %s has schema version %d (written by xbuild %s); this xbuild (%s) reads version %d: use the same xbuild release in the build and merge jobs",
			path, head.SchemaVersion, orUnknown(head.XbuildVersion), version.Version, DigestFileVersion)
	}
	// fields added within a version are optional: unknown ones are ignored
	var f DigestFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("digest file %s: %v", path, err)
	}
	if err := checkDigestFile(&f); err != nil {
		return nil, fmt.Errorf("digest file %s: %w", path, err)
	}
	return &f, nil
}

// checkDigestFile checks one file's fields and normalizes its platforms.
func checkDigestFile(f *DigestFile) error {
	if f.Repository == "" {
		return errors.New("no repository")
	}
	if repo, err := repository(f.Repository); err != nil || repo != f.Repository {
		return fmt.Errorf("repository %q is not a repository name (REGISTRY/PATH)", f.Repository)
	}
	if len(f.Platforms) == 0 {
		return errors.New("lists no platform")
	}
	for i := range f.Platforms {
		e := &f.Platforms[i]
		p, err := platform.Normalize(e.Platform)
		if err != nil {
			return fmt.Errorf("entry %d: %v", i+1, err)
		}
		e.Platform = p
		if !digestRe.MatchString(e.Digest) {
			return fmt.Errorf("%s: digest %q is not sha256:<64 hex digits>", p, e.Digest)
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// unwrapPathError drops the path from an *fs.PathError (the message
// names the file already).
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

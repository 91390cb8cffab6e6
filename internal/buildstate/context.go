// Package buildstate remembers, per build, which platforms were already
// built and pushed by digest, so that running a failed release command
// again rebuilds only the platforms that did not finish. A build is keyed by
// what decides its result: the build context's content, the Dockerfile and
// the settings the caller lists (build arguments, target, compression...).
package buildstate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ContextDigest hashes what BuildKit would send of a build context: every
// file and directory below dir not excluded by its .dockerignore (or the
// Dockerfile's own NAME.dockerignore, which wins, as with buildx), by
// relative path, type, permission bits and content (a link by its target).
// Modification times are left out: a fresh checkout of the same commit has
// the same digest.
func ContextDigest(dir, dockerfile string) (string, error) {
	pm, err := ignoreMatcher(dir, dockerfile)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if pm != nil {
			skip, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if skip {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %s %o\n", rel, typeOf(info.Mode()), info.Mode().Perm())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q\n", target)
		case info.Mode().IsRegular():
			sum, err := fileSum(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "= %s\n", sum)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading the build context %s: %w", dir, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func typeOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "link"
	case m.IsRegular():
		return "file"
	}
	return "other"
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ignoreMatcher reads DOCKERFILE.dockerignore, else DIR/.dockerignore; nil
// when there is neither.
func ignoreMatcher(dir, dockerfile string) (*patternmatcher.PatternMatcher, error) {
	candidates := []string{filepath.Join(dir, ".dockerignore")}
	if dockerfile != "" {
		candidates = append([]string{dockerfile + ".dockerignore"}, candidates...)
	}
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return patternmatcher.New(patterns)
	}
	return nil, nil
}

// Key identifies a build: the context digest, the Dockerfile's content and
// every setting in settings (name -> value; values are hashed, never
// stored, so secrets in build arguments do not reach the state file).
func Key(contextDigest string, dockerfile []byte, settings map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "context %s\n", contextDigest)
	df := sha256.Sum256(dockerfile)
	fmt.Fprintf(h, "dockerfile %x\n", df)
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := sha256.Sum256([]byte(settings[k]))
		fmt.Fprintf(h, "%q %x\n", k, v)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// keyOK checks a key read from a file name.
func keyOK(k string) bool {
	return len(k) == 32 && strings.Trim(k, "0123456789abcdef") == ""
}

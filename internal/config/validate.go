package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

// Compressions are the accepted values of the compression key.
var Compressions = []string{"gzip", "zstd", "uncompressed"}

// Severities are the lint failure thresholds, most severe first.
var Severities = []string{"error", "warning", "info", "style", "none"}

// ProgressModes are the accepted values of the progress key.
var ProgressModes = []string{"auto", "plain", "tty", "quiet"}

// ReportFormats are the accepted values of the report key.
var ReportFormats = []string{"table", "json"}

// Problem is one invalid setting: the key it belongs to and what is wrong.
type Problem struct {
	Key     string
	Message string
}

// Error renders the problem as "key: message".
func (p Problem) Error() string { return p.Key + ": " + p.Message }

// Validate checks a merged configuration and returns every problem at once,
// each naming its key and what would be accepted.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Problems() {
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// Problems lists every invalid setting, in key order of the schema. Callers
// that know where each key came from (flag, environment, file) use it to say so.
func (c Config) Problems() []Problem {
	var probs []Problem
	bad := func(key, format string, a ...any) {
		probs = append(probs, Problem{Key: key, Message: fmt.Sprintf(format, a...)})
	}
	oneOf := func(key, val string, allowed []string) {
		if !slices.Contains(allowed, val) {
			bad(key, "%q is not one of %s", val, strings.Join(allowed, ", "))
		}
	}
	if len(c.Platforms) == 0 {
		bad("platforms", "at least one platform is needed, e.g. linux/amd64")
	}
	if _, err := platform.List(c.Platforms); err != nil {
		bad("platforms", "%v", err)
	}
	if c.Dockerfile == "" {
		bad("dockerfile", "must not be empty")
	}
	if c.Context == "" {
		bad("context", "must not be empty")
	}
	if c.Builder == "" || c.Builder == "default" || strings.ContainsAny(c.Builder, " /:") {
		bad("builder", "%q is not a usable builder name (letters, digits, '-', '_'; not \"default\")", c.Builder)
	}
	oneOf("engine", c.Engine, []string{EngineEmbedded, EngineDockerCLI})
	oneOf("compression", c.Compression, Compressions)
	if c.CompressionLevel < 0 || c.CompressionLevel > 22 {
		bad("compression-level", "%d is out of range (gzip 0-9, zstd 0-22; 0 keeps the default)", c.CompressionLevel)
	} else if c.Compression == "gzip" && c.CompressionLevel > 9 {
		bad("compression-level", "%d is out of range for gzip (0-9)", c.CompressionLevel)
	} else if c.Compression == "uncompressed" && c.CompressionLevel != 0 {
		bad("compression-level", "has no meaning with compression: uncompressed")
	}
	oneOf("lint.failure-threshold", c.Lint.FailureThreshold, Severities)
	oneOf("progress", c.Progress, ProgressModes)
	oneOf("report", c.Report, ReportFormats)
	for k := range c.BuildArgs {
		if err := CheckBuildArgName(k); err != nil {
			bad("build-args", "%v", err)
		}
	}
	if c.SizeBudget != "" {
		if _, err := ParseSize(c.SizeBudget); err != nil {
			bad("size-budget", "%v", err)
		}
	}
	if c.StallTimeout <= 0 {
		bad("stall-timeout", "must be positive, e.g. 10m")
	}
	if c.HealthTimeout <= 0 {
		bad("health-timeout", "must be positive, e.g. 3s")
	}
	pinned := map[string]string{}
	for _, pin := range c.Nodes {
		p, node, err := ParseNodePin(pin)
		if err != nil {
			bad("nodes", "%v", err)
			continue
		}
		if prev, ok := pinned[p]; ok && p != "" && prev != node {
			bad("nodes", "%s is pinned to both %s and %s: pin a platform to one node", p, prev, node)
		}
		pinned[p] = node
	}
	if len(c.Tags) > 0 && c.Image == "" {
		for _, t := range c.Tags {
			if !IsFullRef(t) {
				bad("tags", "tag %q needs an image: set image (e.g. registry.example.com/team/app) or give a full reference", t)
			}
		}
	}
	if c.DigestFile != "" && !c.PushByDigest {
		bad("digest-file", "is written by a push-by-digest build only: add --push-by-digest (or push-by-digest: true), or drop it")
	}
	if c.Push && len(c.Refs()) == 0 {
		bad("push", "nothing to push to: set image and tags, or pass -t REGISTRY/APP:TAG")
	}
	probs = append(probs, c.supplyProblems()...)
	return probs
}

// supplyProblems checks the secrets, ssh, labels, annotations,
// provenance, SBOM and signing keys.
func (c Config) supplyProblems() []Problem {
	var probs []Problem
	bad := func(key, format string, a ...any) {
		probs = append(probs, Problem{Key: key, Message: fmt.Sprintf(format, a...)})
	}
	ids := map[string]bool{}
	for _, e := range c.Secrets {
		s, err := ParseSecret(e)
		if err != nil {
			bad("secrets", "%v", err)
			continue
		}
		if ids[s.ID] {
			bad("secrets", "secret id %q is given twice", s.ID)
		}
		ids[s.ID] = true
	}
	sshIDs := map[string]bool{}
	for _, e := range c.SSH {
		s, err := ParseSSH(e)
		if err != nil {
			bad("ssh", "%v", err)
			continue
		}
		if sshIDs[s.ID] {
			bad("ssh", "ssh id %q is given twice", s.ID)
		}
		sshIDs[s.ID] = true
	}
	for _, e := range c.Labels {
		if _, _, err := ParseLabel(e); err != nil {
			bad("labels", "%v", err)
		}
	}
	for _, e := range c.Annotations {
		if _, err := ParseAnnotation(e); err != nil {
			bad("annotations", "%v", err)
		}
	}
	if !slices.Contains([]string{ProvenanceMin, ProvenanceMax, ProvenanceFalse}, c.Provenance) {
		bad("provenance", "%q is not one of min, max, false", c.Provenance)
	}
	if c.SBOMGenerator != "" && strings.ContainsAny(c.SBOMGenerator, " ,\"") {
		bad("sbom-generator", "%q is not an image reference", c.SBOMGenerator)
	}
	return probs
}

// ParseNodePin parses one nodes entry (--node): "PLATFORM=NODE" pins a
// platform, returned normalized; a bare "NODE" (platform "") pins every
// requested platform that node builds. Whether the node exists, builds the
// platform and is healthy is for the routing to say.
func ParseNodePin(s string) (plat, node string, err error) {
	s = strings.TrimSpace(s)
	if p, n, ok := strings.Cut(s, "="); ok {
		if p = strings.TrimSpace(p); p == "" {
			return "", "", fmt.Errorf("%q has no platform before '=': use PLATFORM=NODE (linux/amd64=amd2) or a bare NODE", s)
		}
		norm, err := platform.Normalize(p)
		if err != nil {
			return "", "", fmt.Errorf("%q: %v", s, err)
		}
		plat, node = norm, strings.TrimSpace(n)
	} else {
		node = s
	}
	if node == "" {
		return "", "", fmt.Errorf("%q names no node: use PLATFORM=NODE (linux/amd64=amd2) or a bare NODE", s)
	}
	if strings.ContainsAny(node, " /=:,") {
		return "", "", fmt.Errorf("%q: %q is not a node name (a registered node's name: xbuild nodes ls)", s, node)
	}
	return plat, node, nil
}

// CheckBuildArgName refuses the platform arguments BuildKit sets per
// platform: passing any of them overrides it for every platform at once and
// puts, say, amd64 binaries into the arm64 image.
func CheckBuildArgName(name string) error {
	u := strings.ToUpper(name)
	for _, p := range []string{"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"} {
		if u == p {
			return fmt.Errorf("%s must not be passed as a build argument: BuildKit sets it for each platform, and one value for all platforms builds the wrong architecture into some images (remove it; use ARG %s without a default in the Dockerfile)", name, p)
		}
	}
	if name == "" || strings.ContainsAny(name, "= \t") {
		return fmt.Errorf("%q is not a valid build argument name", name)
	}
	return nil
}

// IsFullRef reports whether a tag is already a whole image reference:
// REPO/NAME..., NAME@DIGEST or NAME:TAG (docker's short form, app:dev; a
// bare tag never holds a colon).
func IsFullRef(tag string) bool {
	return strings.ContainsAny(tag, "/@:")
}

// Refs returns the image references to tag: each tag appended to Image, or
// used as is when it is a full reference.
func (c Config) Refs() []string {
	var out []string
	for _, t := range c.Tags {
		switch {
		case IsFullRef(t):
			out = append(out, t)
		case c.Image != "":
			out = append(out, c.Image+":"+t)
		}
	}
	if len(c.Tags) == 0 && c.Image != "" {
		out = append(out, c.Image+":latest")
	}
	return out
}

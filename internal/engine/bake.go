package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// bakeTarget is one target of a bake definition file (buildx's JSON form).
type bakeTarget struct {
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile,omitempty"`
	Platforms  []string          `json:"platforms,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Target     string            `json:"target,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	CacheFrom  []string          `json:"cache-from,omitempty"`
	CacheTo    []string          `json:"cache-to,omitempty"`
	Output     []string          `json:"output,omitempty"`
	Attest     []string          `json:"attest,omitempty"`
	NoCache    bool              `json:"no-cache,omitempty"`
	Pull       bool              `json:"pull,omitempty"`
}

// BakeFile renders builds as a bake definition: one target per spec, named
// by the map key, all in the default group. Bake runs them concurrently in
// one buildx invocation, each routed to the node holding its platforms.
func BakeFile(specs map[string]BuildSpec) ([]byte, error) {
	def := struct {
		Group  map[string]map[string][]string `json:"group"`
		Target map[string]bakeTarget          `json:"target"`
	}{Group: map[string]map[string][]string{}, Target: map[string]bakeTarget{}}
	names := make([]string, 0, len(specs))
	for name, s := range specs {
		if name == "" || strings.ContainsAny(name, " /:") {
			return nil, fmt.Errorf("bake target name %q is not usable", name)
		}
		names = append(names, name)
		t := bakeTarget{
			Context: s.ContextDir, Dockerfile: s.Dockerfile, Platforms: s.Platforms, Args: s.BuildArgs,
			Target: s.Target, Tags: s.Tags, CacheFrom: s.CacheFrom, CacheTo: s.CacheTo,
			Output: s.Outputs, NoCache: s.NoCache, Pull: s.Pull,
		}
		if t.Context == "" {
			t.Context = "."
		}
		if s.Image != nil {
			t.Output = append([]string{s.Image.String()}, t.Output...)
		}
		if s.Provenance != "" {
			t.Attest = []string{"type=provenance," + s.Provenance}
		}
		def.Target[name] = t
	}
	sort.Strings(names)
	def.Group["default"] = map[string][]string{"targets": names}
	return json.MarshalIndent(def, "", "  ")
}

// BakeArgs returns `buildx bake` arguments for a definition file. allow
// grants bake's filesystem entitlements for the build contexts, which bake
// otherwise refuses outside the working directory.
func BakeArgs(builder, file, metadataFile, progress string, allow []string) []string {
	args := []string{"bake", "--builder", builder, "--file", file}
	for _, a := range allow {
		args = append(args, "--allow", a)
	}
	if metadataFile != "" {
		args = append(args, "--metadata-file", metadataFile)
	}
	if progress != "" {
		args = append(args, "--progress", progress)
	}
	return args
}

// ImagetoolsCreateArgs returns `buildx imagetools create` arguments that
// merge sources (repo@digest) into one index tagged with tags.
func ImagetoolsCreateArgs(tags, sources []string, metadataFile string) []string {
	args := []string{"imagetools", "create"}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	if metadataFile != "" {
		args = append(args, "--metadata-file", metadataFile)
	}
	return append(args, sources...)
}

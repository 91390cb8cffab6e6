package config

import (
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

// SecretSpec is one secrets entry: the ID a Dockerfile mounts and where
// the value is read, a file (Src) or an environment variable (Env). With
// neither, the value is the variable named ID when it is set, else the
// file named ID (buildx's rule).
type SecretSpec struct {
	ID, Src, Env string
}

// ParseSecret parses buildx's --secret form: comma-separated
// id=ID, src=FILE (or source=FILE), env=VAR and type=file|env fields. The
// value itself is never part of the entry, so errors may quote it.
func ParseSecret(entry string) (SecretSpec, error) {
	var s SecretSpec
	fields, err := csv.NewReader(strings.NewReader(entry)).Read()
	if err != nil {
		return s, fmt.Errorf("%q is not a secret (id=ID[,src=FILE|,env=VAR]): %v", entry, err)
	}
	typ := ""
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return s, fmt.Errorf("%q: field %q is not key=value (write id=ID,src=FILE or id=ID,env=VAR)", entry, f)
		}
		switch strings.ToLower(k) {
		case "id":
			s.ID = v
		case "src", "source":
			s.Src = v
		case "env":
			s.Env = v
		case "type":
			if v != "file" && v != "env" {
				return s, fmt.Errorf("%q: type %q is not file or env", entry, v)
			}
			typ = v
		default:
			return s, fmt.Errorf("%q: unknown field %q (fields: id, src, env, type)", entry, k)
		}
	}
	if typ == "env" && s.Env == "" {
		s.Env, s.Src = s.Src, ""
	}
	switch {
	case s.ID == "":
		return s, fmt.Errorf("%q has no id= (the ID a RUN --mount=type=secret,id=ID step names)", entry)
	case s.Src != "" && s.Env != "":
		return s, fmt.Errorf("%q: give src= or env=, not both", entry)
	case strings.ContainsAny(s.ID, " \t/"):
		return s, fmt.Errorf("%q: id %q must not hold spaces or '/'", entry, s.ID)
	}
	return s, nil
}

// String renders the entry in buildx's form, id=ID[,src=FILE|,env=VAR].
func (s SecretSpec) String() string {
	fields := []string{"id=" + s.ID}
	if s.Src != "" {
		fields = append(fields, "src="+s.Src)
	}
	if s.Env != "" {
		fields = append(fields, "env="+s.Env)
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// SSHSpec is one ssh entry: an ID (default, or one a Dockerfile names with
// RUN --mount=type=ssh,id=ID) and the agent socket or key files forwarded
// for it; no Paths means $SSH_AUTH_SOCK.
type SSHSpec struct {
	ID    string
	Paths []string
}

// ParseSSH parses buildx's --ssh form: default, ID, or ID=PATH[,PATH].
func ParseSSH(entry string) (SSHSpec, error) {
	id, paths, hasPaths := strings.Cut(entry, "=")
	s := SSHSpec{ID: id}
	if id == "" || strings.ContainsAny(id, " \t/,") {
		return s, fmt.Errorf("%q is not an ssh entry (default, ID or ID=SOCKET|KEY[,KEY])", entry)
	}
	if hasPaths {
		for _, p := range strings.Split(paths, ",") {
			if p == "" {
				return s, fmt.Errorf("%q: an empty socket or key path", entry)
			}
			s.Paths = append(s.Paths, p)
		}
	}
	return s, nil
}

// ParseLabel splits a labels entry K=V; the key must not be empty.
func ParseLabel(entry string) (string, string, error) {
	k, v, ok := strings.Cut(entry, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return "", "", fmt.Errorf("%q is not KEY=VALUE", entry)
	}
	return k, v, nil
}

// Annotation is one parsed annotations entry.
type Annotation struct {
	// Types are where it goes: manifest, manifest-descriptor, index,
	// index-descriptor; an entry without types goes on the manifest.
	Types []string
	// Platform restricts it to one platform's manifest ("" for all).
	Platform string
	Key      string
	Value    string
}

// Annotation types of buildx's --annotation.
const (
	AnnotationManifest           = "manifest"
	AnnotationManifestDescriptor = "manifest-descriptor"
	AnnotationIndex              = "index"
	AnnotationIndexDescriptor    = "index-descriptor"
)

var annotationTypeRe = regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)

// ParseAnnotation parses buildx's --annotation form
// [TYPE[PLATFORM],...:]KEY=VALUE. Several types are one annotation in
// several places; a platform qualifies every type of the entry.
func ParseAnnotation(entry string) (Annotation, error) {
	var a Annotation
	k, v, ok := strings.Cut(entry, "=")
	if !ok {
		return a, fmt.Errorf("%q is not [TYPE:]KEY=VALUE", entry)
	}
	a.Value = v
	types, key, typed := strings.Cut(k, ":")
	if !typed {
		types, key = "", k
	}
	if key == "" {
		return a, fmt.Errorf("%q has an empty key", entry)
	}
	a.Key = key
	if !typed {
		a.Types = []string{AnnotationManifest}
		return a, nil
	}
	for _, t := range strings.Split(types, ",") {
		m := annotationTypeRe.FindStringSubmatch(t)
		if m == nil {
			return a, fmt.Errorf("%q: %q is not TYPE or TYPE[PLATFORM]", entry, t)
		}
		switch m[1] {
		case AnnotationManifest, AnnotationManifestDescriptor, AnnotationIndex, AnnotationIndexDescriptor:
		default:
			return a, fmt.Errorf("%q: unknown annotation type %q (manifest, manifest-descriptor, index, index-descriptor)", entry, m[1])
		}
		if m[2] != "" {
			p, err := platform.Normalize(m[2])
			if err != nil {
				return a, fmt.Errorf("%q: %v", entry, err)
			}
			if a.Platform != "" && a.Platform != p {
				return a, fmt.Errorf("%q names two platforms; write one entry per platform", entry)
			}
			a.Platform = p
		}
		a.Types = append(a.Types, m[1])
	}
	return a, nil
}

// normalizeProvenance accepts buildx's spellings of the provenance modes
// (true, mode=min, mode=max) besides min, max and false.
func normalizeProvenance(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "mode=min", "min":
		return ProvenanceMin
	case "mode=max", "max":
		return ProvenanceMax
	case "false":
		return ProvenanceFalse
	}
	return v
}

// joinSecretFragments puts back together list entries that a comma split
// apart (XBUILD_SECRETS=id=a,src=f arrives as two entries): a fragment
// whose key the current entry already has starts a new entry, any other
// is appended to the current one.
func joinSecretFragments(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range list {
		k, _, _ := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if k == "source" {
			k = "src"
		}
		if len(out) == 0 || seen[k] {
			out = append(out, f)
			seen = map[string]bool{k: true}
			continue
		}
		out[len(out)-1] += "," + f
		seen[k] = true
	}
	return out
}

// joinSSHFragments is joinSecretFragments for ssh entries: a fragment
// without '=' that follows an entry with paths is one more path of it.
func joinSSHFragments(list []string) []string {
	var out []string
	for _, f := range list {
		if len(out) > 0 && !strings.Contains(f, "=") && strings.Contains(out[len(out)-1], "=") {
			out[len(out)-1] += "," + f
			continue
		}
		out = append(out, f)
	}
	return out
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/gitinfo"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/internal/sign"
)

// supplyState is what the supply-chain settings leave for the later
// steps: the secrets read, the git checkout, the annotations xbuild puts
// on the index itself.
type supplyState struct {
	secrets *buildSecrets
	git     *gitinfo.Info
	// indexAnnotations go on the merged index (buildx's index type: the
	// per-platform builds make no index of their own to carry them);
	// descAnnotations on its descriptor in an OCI layout xbuild merges
	// (index-descriptor, -o type=oci only).
	indexAnnotations map[string]string
	descAnnotations  map[string]string
	// signer signs the verified index (loaded before the first step, so a
	// wrong password stops the build before anything is built).
	signer sign.Signer
}

// The OCI labels xbuild sets from the git checkout.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
)

// sourceDateEpoch is BuildKit's build argument for reproducible dates.
const sourceDateEpoch = "SOURCE_DATE_EPOCH"

// applySupply adds the supply-chain settings to the build's spec: secrets
// and SSH, labels (the git checkout's, then the user's), annotations,
// provenance, SBOM and, with reproducible, SOURCE_DATE_EPOCH and
// rewritten layer times. It refuses max provenance while it would record
// a credential. Printing nothing but warnings, it runs before --dry-run
// prints the plan.
func applySupply(ctx context.Context, s *State, spec *engine.BuildSpec) error {
	c := s.Config
	if bs := s.supply.secrets; bs != nil {
		spec.Secrets, spec.SSH = bs.secrets, bs.ssh
	}
	info, err := s.readGit(ctx)
	if err != nil {
		return err
	}
	s.supply.git = info

	labels, err := buildLabels(info, c)
	if err != nil {
		return err
	}
	spec.Labels = labels

	outputs := len(s.Options.Outputs) > 0
	spec.Annotations, s.supply.indexAnnotations, s.supply.descAnnotations, err = splitAnnotations(c.Annotations, outputs)
	if err != nil {
		return err
	}

	if c.Push || outputs {
		switch c.Provenance {
		case config.ProvenanceMax:
			if err := maxProvenanceRefusal(s.BuildArgs); err != nil {
				return err
			}
			spec.Provenance = "mode=max"
		case config.ProvenanceFalse:
			spec.Provenance = "false"
		default:
			// min provenance records no build-arg values: proxy credentials
			// passed as build args stay out of the pushed attestations.
			// -o outputs keep buildx's own default (min for image outputs).
			if c.Push {
				spec.Provenance = "mode=min"
			}
		}
		if c.SBOM {
			spec.SBOM = "true"
			if c.SBOMGenerator != "" {
				spec.SBOM = "generator=" + c.SBOMGenerator
			}
		}
	}

	if c.Reproducible {
		epoch, err := reproducibleEpoch(info, s.BuildArgs, s.Getenv)
		if err != nil {
			return err
		}
		if spec.BuildArgs == nil {
			spec.BuildArgs = map[string]string{}
		}
		spec.BuildArgs[sourceDateEpoch] = epoch
		if s.BuildArgs != nil {
			s.BuildArgs[sourceDateEpoch] = epoch
		}
		if spec.Image != nil {
			img := *spec.Image
			img.RewriteTimestamp = true
			spec.Image = &img
		}
		outs := make([]string, len(spec.Outputs)) // spec.Outputs is the user's -o list: not changed in place
		for i, o := range spec.Outputs {
			outs[i] = withRewriteTimestamp(o)
		}
		spec.Outputs = outs
		if info != nil && info.Dirty {
			s.Log.Warn("reproducible: the checkout has uncommitted changes; the image takes its dates from commit %s but its content from the working tree, so another checkout of that commit builds a different image", shortCommit(info.Commit))
		}
	}
	return nil
}

// AnnotatedIndexPusher is a Registry that can put annotations on the
// index it merges (*registry.Client is one).
type AnnotatedIndexPusher interface {
	PushIndexAnnotated(ctx context.Context, repo string, sources []string, annotations map[string]string) (string, error)
}

var _ AnnotatedIndexPusher = (*registry.Client)(nil)

// pushIndex merges the platforms' pushes into one index pushed by
// digest, with the index annotations asked for.
func (s *State) pushIndex(ctx context.Context, reg Registry, sources []string) (string, error) {
	if len(s.supply.indexAnnotations) == 0 {
		return reg.PushIndex(ctx, s.repo, sources)
	}
	p, ok := reg.(AnnotatedIndexPusher)
	if !ok {
		return "", errors.New("internal error: this registry client cannot annotate an index")
	}
	return p.PushIndexAnnotated(ctx, s.repo, sources, s.supply.indexAnnotations)
}

// readGit reads the build context's git checkout (nil, nil outside one).
func (s *State) readGit(ctx context.Context) (*gitinfo.Info, error) {
	read := s.Git
	if read == nil {
		read = func(ctx context.Context, dir string) (*gitinfo.Info, error) { return gitinfo.Read(ctx, dir, nil) }
	}
	info, err := read(ctx, s.Config.Context)
	if errors.Is(err, gitinfo.ErrNotGit) {
		return nil, nil
	}
	if err != nil {
		if s.Config.Reproducible {
			return nil, err
		}
		// labels are a convenience: a broken checkout does not stop a build
		s.Log.Warn("no org.opencontainers.image labels from git: %v", err)
		return nil, nil
	}
	return info, nil
}

// buildLabels are the image labels: org.opencontainers.image.source,
// revision, version and created from the git checkout (when there is
// one), then the user's labels, which win. The version is the tag on the
// commit without its leading v (v1.2.3 -> 1.2.3), else the image's first
// tag other than latest; created is the commit's time, the same on every
// build of the commit.
func buildLabels(info *gitinfo.Info, c config.Config) (map[string]string, error) {
	out := map[string]string{}
	if info != nil {
		if info.Source != "" {
			out[LabelSource] = info.Source
		}
		out[LabelRevision] = info.Commit
		out[LabelCreated] = info.Time.UTC().Format(time.RFC3339)
		if v := imageVersion(info.Tag, c.Refs()); v != "" {
			out[LabelVersion] = v
		}
	}
	for _, e := range c.Labels {
		k, v, err := config.ParseLabel(e)
		if err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// imageVersion is the version label: the git tag on the commit (a leading
// v before a digit dropped), else the tag of the first image reference
// that is not latest; "" when neither.
func imageVersion(gitTag string, refs []string) string {
	if gitTag != "" {
		if len(gitTag) > 1 && gitTag[0] == 'v' && gitTag[1] >= '0' && gitTag[1] <= '9' {
			return gitTag[1:]
		}
		return gitTag
	}
	for _, r := range refs {
		if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") && !strings.Contains(r, "@") {
			if tag := r[i+1:]; tag != "latest" {
				return tag
			}
		}
	}
	return ""
}

// splitAnnotations sorts the annotations entries into what each platform's
// buildx build takes (manifest and manifest-descriptor types) and what
// xbuild writes itself on the index it assembles from the platforms'
// builds: the index type, and with -o outputs (an OCI layout xbuild
// merges) the index-descriptor type.
func splitAnnotations(entries []string, outputs bool) (build []string, index, desc map[string]string, err error) {
	index, desc = map[string]string{}, map[string]string{}
	for _, e := range entries {
		a, err := config.ParseAnnotation(e)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("annotations: %w", err)
		}
		var forBuild []string
		for _, t := range a.Types {
			switch t {
			case config.AnnotationIndex, config.AnnotationIndexDescriptor:
				if a.Platform != "" {
					return nil, nil, nil, fmt.Errorf("annotation %q: an index annotation is for every platform; drop [%s]", e, a.Platform)
				}
				if t == config.AnnotationIndex {
					index[a.Key] = a.Value
					continue
				}
				if !outputs {
					return nil, nil, nil, fmt.Errorf("annotation %q: index-descriptor annotations exist in OCI layouts only (-o type=oci); on a pushed image use index", e)
				}
				desc[a.Key] = a.Value
			default:
				if a.Platform != "" {
					t += "[" + a.Platform + "]"
				}
				forBuild = append(forBuild, t)
			}
		}
		if len(forBuild) > 0 {
			build = append(build, strings.Join(forBuild, ",")+":"+a.Key+"="+a.Value)
		}
	}
	if len(index) == 0 {
		index = nil
	}
	if len(desc) == 0 {
		desc = nil
	}
	return build, index, desc, nil
}

// maxProvenanceRefusal refuses max provenance while it would record a
// credential: max records every build argument's value in the pushed
// attestation, which anyone who can pull the image reads. Proxy settings
// with a user:password part and build arguments named like secrets are
// refused; a proxy URL without credentials is recorded as it is.
func maxProvenanceRefusal(args map[string]string) error {
	var bad []string
	for _, k := range sortedArgNames(args) {
		v := args[k]
		switch {
		case IsProxyArg(k) && hasCredentials(v):
			bad = append(bad, k+" carries credentials (value not shown)")
		case redact.LooksSecret(k) && v != "":
			bad = append(bad, k+" looks like a secret (value not shown)")
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("provenance max records every build argument's value in the pushed provenance attestation, readable by anyone who can pull the image, and %s; "+
		"keep --provenance min (the default: no build-argument values), pass secrets with --secret instead of --build-arg, "+
		"or give the nodes a proxy without credentials in its URL (proxy.from-env: false stops taking it from this environment)", strings.Join(bad, ", "))
}

// hasCredentials reports a proxy value with a user[:password]@ part
// (http://user:pw@proxy:3128, or user:pw@proxy:3128 without a scheme).
func hasCredentials(v string) bool {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if u, err := url.Parse(item); err == nil && u.User != nil {
			return true
		}
		if at := strings.LastIndex(item, "@"); at > 0 && !strings.Contains(item[:at], "/") {
			return true
		}
	}
	return false
}

// proxyCredentials are the user:password parts of proxy values.
func proxyCredentials(values []string) []string {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if u, err := url.Parse(item); err == nil && u.User != nil {
				out = append(out, u.User.String())
				continue
			}
			if at := strings.LastIndex(item, "@"); at > 0 && !strings.Contains(item[:at], "/") {
				out = append(out, item[:at])
			}
		}
	}
	return out
}

// reproducibleEpoch is SOURCE_DATE_EPOCH for a reproducible build: the
// user's own (a --build-arg, or the variable, as reproducible-builds.org
// defines it), else the last commit's time.
func reproducibleEpoch(info *gitinfo.Info, args map[string]string, getenv func(string) string) (string, error) {
	for _, v := range []string{args[sourceDateEpoch], getenvOr(getenv, sourceDateEpoch)} {
		if v == "" {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return "", fmt.Errorf("SOURCE_DATE_EPOCH %q is not a Unix time in seconds", v)
		}
		return v, nil
	}
	if info == nil {
		return "", errors.New("reproducible needs a date that does not change between builds: the build context is not in a git checkout (its last commit's time is used); run from a checkout, or set SOURCE_DATE_EPOCH (Unix seconds)")
	}
	return strconv.FormatInt(info.Time.Unix(), 10), nil
}

func getenvOr(getenv func(string) string, k string) string {
	if getenv == nil {
		return ""
	}
	return getenv(k)
}

// withRewriteTimestamp adds rewrite-timestamp=true to an image, oci or
// docker --output (the exporters that write layers).
func withRewriteTimestamp(output string) string {
	fields := strings.Split(output, ",")
	typ := ""
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok && k == "type" {
			typ = v
		}
		if strings.HasPrefix(f, "rewrite-timestamp=") {
			return output
		}
	}
	switch typ {
	case "image", "registry", "oci", "docker":
		return output + ",rewrite-timestamp=true"
	}
	return output
}

// supplySettings are the resume key's part of the supply-chain settings:
// a platform pushed without an SBOM, or with other labels, is not reused
// for a build that asks for one.
func supplySettings(spec engine.BuildSpec, out map[string]string) {
	for k, v := range spec.Labels {
		out["label:"+k] = v
	}
	out["annotations"] = strings.Join(spec.Annotations, "\n")
	out["sbom"] = spec.SBOM
	ids := make([]string, 0, len(spec.Secrets))
	for _, sec := range spec.Secrets {
		ids = append(ids, sec.String()) // where the value is read, never the value
	}
	out["secrets"] = strings.Join(ids, "\n")
	if spec.Image != nil {
		out["rewrite-timestamp"] = strconv.FormatBool(spec.Image.RewriteTimestamp)
	}
}

func sortedArgNames(args map[string]string) []string {
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

package pipeline

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// Output is one -o/--output value as buildx reads it: a type and its
// attributes, in the order written.
type Output struct {
	Type  string
	Attrs []OutputAttr
}

// OutputAttr is one key=value of an output.
type OutputAttr struct{ Key, Value string }

// ParseOutput reads an -o value the way buildx does: CSV key=value
// fields; a bare path is type=local,dest=PATH and "-" is a tar stream on
// stdout (type=tar,dest=-); type=registry is type=image,push=true.
func ParseOutput(s string) (Output, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Output{}, fmt.Errorf("an empty output: use e.g. type=oci,dest=image.tar")
	}
	if !strings.Contains(s, "=") {
		if s == "-" {
			return Output{Type: "tar", Attrs: []OutputAttr{{"dest", "-"}}}, nil
		}
		return Output{Type: "local", Attrs: []OutputAttr{{"dest", s}}}, nil
	}
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return Output{}, fmt.Errorf("%q is not a list of key=value fields: %v", s, err)
	}
	var o Output
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Output{}, fmt.Errorf("%q: field %q is not key=value", s, f)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "type" {
			o.Type = v
			continue
		}
		o.Attrs = append(o.Attrs, OutputAttr{k, v})
	}
	switch o.Type {
	case "":
		return Output{}, fmt.Errorf("%q has no type=: use type=registry, image, oci, docker, tar, local or cacheonly", s)
	case "registry":
		o.Type = "image"
		o.set("push", "true")
	case "image", "oci", "docker", "tar", "local", "cacheonly":
	default:
		return Output{}, fmt.Errorf("%q: type %q is not one of registry, image, oci, docker, tar, local, cacheonly", s, o.Type)
	}
	return o, nil
}

// Get returns the attribute's value ("" when unset).
func (o Output) Get(key string) string {
	for _, a := range o.Attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

func (o Output) has(key string) bool {
	return slices.ContainsFunc(o.Attrs, func(a OutputAttr) bool { return a.Key == key })
}

// set replaces an attribute or appends it.
func (o *Output) set(key, value string) {
	for i, a := range o.Attrs {
		if a.Key == key {
			o.Attrs[i].Value = value
			return
		}
	}
	o.Attrs = append(o.Attrs, OutputAttr{key, value})
}

// String renders the output as an --output value (CSV, quoted where
// buildx would otherwise split a value).
func (o Output) String() string {
	fields := []string{"type=" + o.Type}
	for _, a := range o.Attrs {
		fields = append(fields, a.Key+"="+a.Value)
	}
	return joinCSV(fields)
}

// Pushes reports an image output that pushes (type=registry).
func (o Output) Pushes() bool {
	ok, _ := strconv.ParseBool(o.Get("push"))
	return o.Type == "image" && ok
}

// Loads reports a docker output without a destination: `--load` into
// the Docker engine.
func (o Output) Loads() bool { return o.Type == "docker" && o.Get("dest") == "" }

// NeedsAllPlatforms reports an output that holds every platform: an OCI
// layout (one index), a docker tarball, a tar of the filesystems, a load.
// With several platforms xbuild assembles it from each platform's export
// (see mergeExports). A local directory, a cache-only build and an image
// kept on its node are written per platform.
func (o Output) NeedsAllPlatforms() bool {
	switch o.Type {
	case "oci", "docker", "tar":
		return true
	}
	return false
}

// compresses reports an exporter that writes compressed layers and takes
// xbuild's compression policy. A load hands the layers to the engine,
// which unpacks them: compression buys nothing there, and zstd layers
// (from a zstd base image or cache) make an engine without zstd support
// refuse the image, so a load gets gzip (see withCompression).
func (o Output) compresses() bool {
	switch o.Type {
	case "image", "oci":
		return true
	case "docker":
		return !o.Loads()
	}
	return false
}

// withCompression applies the compression policy (compression, level,
// force-compression, OCI media types) to an exporter that compresses,
// keeping any of those the output sets itself.
func (o Output) withCompression(compression string, level int) Output {
	if o.Loads() && !o.has("compression") {
		// every engine unpacks gzip; reused layers are converted to it
		out := Output{Type: o.Type, Attrs: slices.Clone(o.Attrs)}
		out.set("compression", "gzip")
		out.set("force-compression", "true")
		return out
	}
	if !o.compresses() || compression == "" {
		return o
	}
	out := Output{Type: o.Type, Attrs: slices.Clone(o.Attrs)}
	if !out.has("compression") {
		out.set("compression", compression)
		if level > 0 && !out.has("compression-level") {
			out.set("compression-level", strconv.Itoa(level))
		}
	}
	if !out.has("force-compression") {
		out.set("force-compression", "true")
	}
	if !out.has("oci-mediatypes") {
		out.set("oci-mediatypes", "true")
	}
	return out
}

// forPlatform is the output of one platform's own build: a local
// directory of a multi-platform build gets a subdirectory per platform,
// named as buildx names them (dest/linux_arm64), so the layout is the
// one `docker buildx build -o DIR` writes.
func (o Output) forPlatform(platform string, several bool) Output {
	if o.Type != "local" || !several {
		return o
	}
	out := Output{Type: o.Type, Attrs: slices.Clone(o.Attrs)}
	if dest := out.Get("dest"); dest != "" {
		out.set("dest", strings.TrimSuffix(dest, "/")+"/"+strings.ReplaceAll(platform, "/", "_"))
	}
	return out
}

// OutputPlan is what the -o values and --load ask for, sorted into
// xbuild's paths.
type OutputPlan struct {
	// Push is set by a registry output (type=registry or type=image with
	// push=true): the build takes xbuild's verified push path, as --push.
	Push bool
	// Names are the registry output's name= references: more tags.
	Names []string
	// Compression and CompressionLevel are the registry output's own
	// compression settings ("" and 0 when it sets none).
	Compression      string
	CompressionLevel int
	// Outputs are the other outputs, normalized (type= first).
	Outputs []Output
	// Notes say what xbuild does differently from buildx, one line each.
	Notes []string
}

// registryAttrs are the registry output attributes xbuild's push path
// honours; anything else would be silently lost.
var registryAttrs = []string{"name", "push", "compression", "compression-level", "force-compression", "oci-mediatypes"}

// PlanOutputs sorts the -o values and --load into xbuild's paths: a
// registry output becomes the verified push path; the rest are passed to
// buildx (--load is -o type=docker). It refuses what xbuild cannot do as
// asked, naming the output and what to do instead.
func PlanOutputs(values []string, load bool) (*OutputPlan, error) {
	p := &OutputPlan{}
	if load {
		values = append(slices.Clone(values), "type=docker")
	}
	for _, v := range values {
		o, err := ParseOutput(v)
		if err != nil {
			return nil, fmt.Errorf("--output %v", err)
		}
		if !o.Pushes() {
			if o.Type == "image" && o.Get("push-by-digest") == "true" {
				return nil, fmt.Errorf("--output %s: push-by-digest without push=true pushes nothing", v)
			}
			p.Outputs = append(p.Outputs, o)
			continue
		}
		if p.Push {
			return nil, fmt.Errorf("--output %s: a second registry output; give one, with every tag as -t (or name=\"a,b\")", v)
		}
		for _, a := range o.Attrs {
			if !slices.Contains(registryAttrs, a.Key) {
				return nil, fmt.Errorf("--output %s: %s= is not supported on xbuild's push path (each platform pushed by digest, merged, verified, then tagged): remove it, or use docker buildx build for this output", v, a.Key)
			}
		}
		if mt := o.Get("oci-mediatypes"); mt != "" && mt != "true" {
			return nil, fmt.Errorf("--output %s: oci-mediatypes=%s: xbuild pushes OCI media types (zstd layers are portable only with them)", v, mt)
		}
		p.Push = true
		for _, n := range strings.Split(o.Get("name"), ",") {
			if n = strings.TrimSpace(n); n != "" {
				p.Names = append(p.Names, n)
			}
		}
		p.Compression = o.Get("compression")
		if p.Compression != "" && !slices.Contains(config.Compressions, p.Compression) {
			return nil, fmt.Errorf("--output %s: compression=%s is not one of %s (the ones verify checks)", v, p.Compression, strings.Join(config.Compressions, ", "))
		}
		if lvl := o.Get("compression-level"); lvl != "" {
			n, err := strconv.Atoi(lvl)
			if err != nil {
				return nil, fmt.Errorf("--output %s: compression-level=%s is not a number", v, lvl)
			}
			p.CompressionLevel = n
		}
		p.Notes = append(p.Notes, fmt.Sprintf("--output %s: pushing through xbuild's verified path, as --push does (each platform by digest, one merged index, verified, then tagged)", v))
	}
	loads := 0
	for _, o := range p.Outputs {
		if o.Loads() {
			loads++
		}
	}
	if loads > 1 {
		return nil, fmt.Errorf("--load and --output type=docker both load the image: give one")
	}
	return p, nil
}

// compressedOutputs applies the compression policy to each output whose
// exporter compresses layers (see Output.withCompression).
func compressedOutputs(values []string, compression string, level int) []string {
	var out []string
	for _, v := range values {
		o, err := ParseOutput(v)
		if err != nil {
			out = append(out, v) // checked by PlanOutputs: not reached
			continue
		}
		out = append(out, o.withCompression(compression, level).String())
	}
	return out
}

// outputsOf parses the spec's outputs (they were checked by PlanOutputs).
func outputsOf(values []string) []Output {
	var out []Output
	for _, v := range values {
		if o, err := ParseOutput(v); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// outputLine says what became of an output after the build, and that
// xbuild did not verify it: verification reads images back from a
// registry.
func outputLine(o Output, platforms []string) string {
	what := ""
	switch {
	case o.Type == "cacheonly":
		return fmt.Sprintf("built %s; nothing was pushed (no --push): the result is in the nodes' build cache", strings.Join(platforms, ", "))
	case o.Loads():
		what = "loaded into the Docker engine"
		if ctx := o.Get("context"); ctx != "" {
			what += " of docker context " + ctx
		}
		what += " (layers as gzip, which every engine unpacks)"
	case o.Type == "image":
		what = "kept as an image on the node that built each platform"
		if n := o.Get("name"); n != "" {
			what += " (" + n + ")"
		}
	case o.Type == "local" && len(platforms) > 1:
		what = fmt.Sprintf("written to %s, one directory per platform (%s)", o.Get("dest"), strings.ReplaceAll(strings.Join(platforms, ", "), "/", "_"))
	case o.Get("dest") == "-":
		what = "written to standard output"
	default:
		what = "written to " + o.Get("dest")
	}
	if c := o.Get("compression"); c != "" && o.compresses() {
		what += ", layers " + c
	}
	return fmt.Sprintf("output type=%s: %s; not verified (xbuild verifies what it pushes to a registry: --push)", o.Type, what)
}

package lint

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// lintPlatform is the platform BuildKit's checks are evaluated for. No check
// that can fire offline depends on it; it is fixed so that results do not
// depend on the machine xbuild runs on.
var lintPlatform = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

// offlineResolver answers BuildKit's base-image lookups without a registry:
// every image has an empty config. That keeps Check pure, and it means the
// checks that need the real image (InvalidBaseImagePlatform, and UndefinedVar
// for variables the image defines) cannot see it; see buildkitFindings.
type offlineResolver struct{}

// ResolveImageConfig returns an empty image config for any reference.
func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, "", []byte("{}"), nil
}

// buildkitChecks runs BuildKit's Dockerfile build checks, the same ones
// `docker build --check` runs, by converting the Dockerfile to LLB for all
// stages with a warning hook; nothing is solved and no registry is contacted.
// A Dockerfile BuildKit rejects comes back as an XB000 finding.
func buildkitChecks(file string, data []byte, env Env) []Finding {
	var (
		mu  sync.Mutex
		out []Finding
	)
	warn := func(rule, _, url, msg string, loc []parser.Range) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, Finding{
			Rule:     rule,
			Severity: SeverityWarning,
			File:     file,
			Line:     firstLine(loc),
			Message:  strings.TrimSpace(msg),
			Hint:     url,
			Source:   SourceBuildKit,
		})
	}
	opt := dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:       buildkitArgs(env.BuildArgs),
			BuildPlatforms:  []ocispecs.Platform{lintPlatform},
			TargetPlatforms: []ocispecs.Platform{lintPlatform},
		},
		TargetPlatform: &lintPlatform,
		MetaResolver:   offlineResolver{},
		Warn:           warn,
		AllStages:      true,
	}
	_, err := dockerfile2llb.Dockerfile2LLB(context.Background(), data, opt)
	if err != nil {
		out = append(out, syntaxFinding(file, err))
	}
	return out
}

// buildkitArgs drops SOURCE_DATE_EPOCH, whose non-numeric values make
// BuildKit try to resolve a source; it has no bearing on any check.
func buildkitArgs(args map[string]string) map[string]string {
	if _, ok := args["SOURCE_DATE_EPOCH"]; !ok {
		return args
	}
	out := make(map[string]string, len(args))
	for k, v := range args {
		if k != "SOURCE_DATE_EPOCH" {
			out[k] = v
		}
	}
	return out
}

// syntaxFinding turns a parser or conversion error into an XB000 finding at
// the line BuildKit blames, or line 1 when it names none.
func syntaxFinding(file string, err error) Finding {
	line := 1
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if l := firstLine(loc); l > 0 {
				line = l
				break
			}
		}
	}
	return newFinding(file, "XB000", line, "BuildKit rejects this Dockerfile: "+errorText(err))
}

// errorText is err's message without the "dockerfile parse error on line N:"
// prefix BuildKit adds, since findings carry the line already.
func errorText(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "dockerfile parse error on line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

func firstLine(loc []parser.Range) int {
	if len(loc) == 0 || loc[0].Start.Line < 1 {
		return 1
	}
	return loc[0].Start.Line
}

// buildkitFindings filters BuildKit's findings: it drops UndefinedVar
// inside stages built on a registry image: offline, the image's own ENV
// (PATH, GOPATH, JAVA_HOME ...) is unknown, and BuildKit would flag every
// use of it. Stages built on scratch, and lines before the first FROM, keep
// the check.
func buildkitFindings(df *dockerfile, all []Finding) []Finding {
	out := all[:0]
	for _, f := range all {
		if f.Rule == "UndefinedVar" {
			if s := df.stageAt(f.Line); s != nil && !strings.EqualFold(s.root().base, "scratch") {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

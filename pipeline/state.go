package pipeline

import (
	"context"
	"io"
	"time"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/gitinfo"
	"github.com/xbuild-dev/xbuild/internal/lint"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
	"github.com/xbuild-dev/xbuild/nodes"
)

// Options are the per-invocation choices that are not project config.
type Options struct {
	// DryRun prints the plan and the buildx arguments, then stops.
	DryRun bool
	// Outputs are buildx --output values for builds without --push (see
	// PlanOutputs: a registry output is the push path, not one of these).
	Outputs []string
	NoCache bool
	Pull    bool
	// DigestFiles are the digest files (or directories of them) `xbuild
	// merge` assembles into one index (see MergeStep).
	DigestFiles []string
	// Run are the buildx flags that shape the build itself (named
	// contexts, network, hosts, limits, --call).
	Run engine.RunOptions
	// IIDFile receives the image ID once the build succeeded (see
	// imageID).
	IIDFile string
	// Target names this build among several (the images list of
	// xbuild.yaml); "" for a single build. See RunTargets.
	Target string
}

// Registry reads pushed images back (verify, resume) and writes the
// index and its tags (build, publish): registry.Client in production.
type Registry interface {
	Index(ctx context.Context, ref string) (*registry.Index, error)
	Image(ctx context.Context, repo, digest string) (*registry.Image, error)
	ReadFile(ctx context.Context, repo, digest, path string, limit int64) ([]byte, error)
	Blob(ctx context.Context, repo, digest string, limit int64) ([]byte, error)
	// PushIndex merges repo@digest sources into one index pushed by digest.
	PushIndex(ctx context.Context, repo string, sources []string) (string, error)
	// Tag points full tag references at repo@digest.
	Tag(ctx context.Context, repo, digest string, tags []string) error
	// Exists reports whether the registry holds ref.
	Exists(ctx context.Context, ref string) (bool, error)
}

// Linter runs the lint gate (lint.Run in production).
type Linter func(ctx context.Context, opts lint.Options) (*lint.Result, error)

// State is what the steps share: inputs first, then what each step leaves
// for the next.
type State struct {
	// Inputs.
	Config  config.Config
	Options Options
	Getenv  func(string) string
	Now     func() time.Time
	Out     io.Writer // results (stdout)
	Err     io.Writer // progress, warnings, the human report (stderr)
	Log     Logger
	Secrets *redact.Redactor
	Lint    Linter
	// Open opens the engine, the node registry, the health checker and
	// the registry client on first use (see Opener).
	Open Opener
	// StateDir is the node registry's directory, where --dry-run reads the
	// builder's recorded state without writing ("" : none recorded).
	StateDir string
	// BinfmtDir is where binfmt_misc is mounted ("" means the real
	// /proc/sys/fs/binfmt_misc); tests point it at a fake.
	BinfmtDir string
	// LocalNodes are this machine's daemons, tried when no node is
	// registered at all (see LocalCandidates).
	LocalNodes []nodes.Node
	// DockerContexts keeps the docker context of this machine's Docker
	// engine when a build uses it (no node registered).
	DockerContexts nodes.DockerContexts
	// Loader is the Docker engine a multi-platform --load goes to.
	Loader DockerLoader
	// WatchInterval is how often the nodes in use are checked while
	// platforms build; zero means 2 s.
	WatchInterval time.Duration

	// Opened on first use through Open; tests may set them beforehand.
	Engine   engine.Engine
	Nodes    []nodes.Node
	Store    *nodes.Store
	Checker  *nodes.Checker
	Registry Registry

	// Filled by lint.
	LintResult *lint.Result
	// Filled by plan.
	BuildArgs map[string]string
	Health    []nodes.Health
	Plan      *nodes.Plan
	// RoutedNodes are the nodes the plan chose from (every name in it is
	// one of them): registered ones, or this machine's daemon.
	RoutedNodes []nodes.Node
	// Claims hold the plan's platforms on their nodes for the other xbuild
	// runs on this machine to see, each until its build ends (nil: none,
	// e.g. a dry run). Run releases what is left when it returns.
	Claims *nodes.Claims
	// Contexts are the docker contexts the build writes before it applies
	// the builder (this machine's Docker engine); the plan writes nothing.
	Contexts []engine.DockerContext
	// Builder is the buildx builder the build needs (nodes.DesiredBuilder);
	// the build step replaces it with what it applied.
	Builder []engine.BuilderNode
	Spec    engine.BuildSpec
	// Resume holds what an earlier, failed run of this build pushed (nil
	// when the build does not push).
	Resume *Resume
	// Filled by build.
	Platforms []*PlatformResult
	// Build is the merged index pushed by digest (or the single build's
	// result, for -o outputs).
	Build *engine.BuildResult
	// Filled by verify.
	Verify *VerifyReport
	// Filled by sign: the manifests signed.
	Signed []Signed
	// Filled by publish: the tags written.
	Tagged []string
	// Digests is what a push-by-digest build pushed (its digest file),
	// filled by publish instead of tags.
	Digests *DigestFile
	// Filled by report.
	Report *Report
	// Metadata is what buildx's --metadata-file would hold for this build
	// (see buildxMetadata); nil unless it succeeded and a file or several
	// targets need it.
	Metadata map[string]any
	// Failed is the error that stopped the pipeline, for the steps that
	// run anyway (see Finally).
	Failed error

	Timings []Timing

	// Git reads the git checkout the build context is in (labels,
	// reproducible dates); nil runs git (gitinfo.Read). Tests set a fake.
	Git func(ctx context.Context, dir string) (*gitinfo.Info, error)
	// supply is what the supply-chain settings leave for later steps.
	supply supplyState

	nodesListed bool
	// prefetch checks the nodes while lint runs (see startPrefetch).
	prefetch *healthPrefetch
	// exportDir holds the platforms' exports of the outputs xbuild
	// merges; exported is the merged OCI index, when there is one.
	exportDir string
	exported  *pushedIndex
	// repo is the repository every platform is pushed to by digest.
	repo string
	// platformChecks counts the passed checks of each platform verified
	// by digest (push-by-digest).
	platformChecks map[string]int
}

func (s *State) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Steps returns the build pipeline in order.
func Steps() []Step {
	return []Step{LintStep{}, PlanStep{}, BuildStep{}, VerifyStep{}, SignStep{}, PublishStep{}, ReportStep{}}
}

package lint

// Rule describes one of xbuild's built-in rules, for documentation, SARIF
// rule metadata and hints.
type Rule struct {
	ID       string
	Severity Severity
	Title    string
	Hint     string
}

// catalogue is the single list of built-in rules. IDs are a public
// interface: users write them in ignore comments and configuration.
var catalogue = []Rule{
	{
		ID: "XB000", Severity: SeverityError,
		Title: "Dockerfile is rejected by BuildKit's parser",
		Hint:  "Fix the reported syntax; BuildKit will refuse to build this Dockerfile as it is.",
	},
	{
		ID: "XB001", Severity: SeverityError,
		Title: "Proxy variable set with ENV",
		Hint: "Pass proxies at build time instead: --build-arg HTTP_PROXY=... is a predefined build arg " +
			"that reaches RUN steps but stays out of the image config and history; or set proxy: in xbuild.yaml.",
	},
	{
		ID: "XB002", Severity: SeverityError,
		Title: "Secret in ENV or ARG, or a literal credential",
		Hint: "Use a build secret: RUN --mount=type=secret,id=NAME,env=NAME ... in the Dockerfile, and " +
			"xbuild build --secret id=NAME,env=NAME (or id=NAME,src=FILE; secrets: in xbuild.yaml) to pass it; " +
			"ENV values are baked into the image and ARG values are recorded in its history and provenance.",
	},
	{
		ID: "XB003", Severity: SeverityError,
		Title: "Platform build arg given a fixed value",
		Hint: "Declare it without a default (ARG TARGETARCH) and never pass it with --build-arg: " +
			"BuildKit sets TARGET* and BUILD* per platform.",
	},
	{
		ID: "XB004", Severity: SeverityWarning,
		Title: "Go compiled under emulation or for the wrong architecture",
		Hint: "Cross-compile natively: FROM --platform=$BUILDPLATFORM golang:<version> AS build, " +
			"then ARG TARGETOS TARGETARCH and RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build ...",
	},
	{
		ID: "XB005", Severity: SeverityWarning,
		Title: "Base image untagged or :latest",
		Hint:  "Pin a version tag (FROM golang:1.26-alpine) or a digest (FROM image@sha256:...).",
	},
	{
		ID: "XB006", Severity: SeverityWarning,
		Title: "Final stage runs as root",
		Hint:  "End the final stage with a non-root USER, for example USER 65532:65532.",
	},
	{
		ID: "XB007", Severity: SeverityWarning,
		Title: "ADD used where COPY works",
		Hint: "Use COPY for local files and directories; keep ADD for URLs, git sources " +
			"and local tar archives that should be extracted.",
	},
	{
		ID: "XB008", Severity: SeverityInfo,
		Title: "No .dockerignore",
		Hint: "Add a .dockerignore to the build context (at least .git and local secrets), " +
			"or a <Dockerfile>.dockerignore next to the Dockerfile.",
	},
	{
		ID: "XB009", Severity: SeverityError,
		Title: "cgo-linked Go binary copied into an image without libc",
		Hint: "Build a static binary: RUN CGO_ENABLED=0 go build ... " +
			"(or ENV CGO_ENABLED=0 in the build stage).",
	},
	{
		ID: "XB010", Severity: SeverityError,
		Title: "Proxy variable declared with ARG",
		Hint: "Remove the ARG: HTTP_PROXY, HTTPS_PROXY, NO_PROXY, FTP_PROXY and ALL_PROXY (any case) are predefined, " +
			"so RUN steps get their --build-arg values without it, and only undeclared do they stay out of the image history.",
	},
}

// Rules returns the built-in rule catalogue, ordered by ID. The slice is a
// copy; callers may modify it.
func Rules() []Rule {
	return append([]Rule(nil), catalogue...)
}

// ruleByID returns the catalogue entry for id; it panics on an unknown ID,
// which is a programming error caught by the tests.
func ruleByID(id string) Rule {
	for _, r := range catalogue {
		if r.ID == id {
			return r
		}
	}
	panic("lint: unknown built-in rule " + id)
}

// newFinding builds a built-in finding with the catalogue's severity and hint.
func newFinding(file, id string, line int, msg string) Finding {
	r := ruleByID(id)
	return Finding{
		Rule: id, Severity: r.Severity, File: file, Line: line,
		Message: msg, Hint: r.Hint, Source: SourceXbuild,
	}
}

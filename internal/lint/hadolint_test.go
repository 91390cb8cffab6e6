package lint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRunner answers `hadolint --version` and the lint call with canned
// output, and records how it was called.
type fakeRunner struct {
	version, lint fakeResult
	mu            sync.Mutex
	calls         []string
}

type fakeResult struct {
	stdout, stderr string
	code           int
	err            error
}

func (f *fakeRunner) Run(ctx context.Context, name string, args []string, dir string) ([]byte, []byte, int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s [in %s]", name, strings.Join(args, " "), dir))
	f.mu.Unlock()
	r := f.lint
	if len(args) == 1 && args[0] == "--version" {
		r = f.version
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, -1, err
	}
	return []byte(r.stdout), []byte(r.stderr), r.code, r.err
}

const fakeHadolint = "/opt/hadolint/bin/hadolint"

func foundAt(path string) func(string) (string, error) {
	return func(string) (string, error) { return path, nil }
}

// writeDockerfile puts content in a fresh directory with a .dockerignore
// and returns the Dockerfile's path.
func writeDockerfile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(".git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const hadolintFixture = "FROM ubuntu:latest\nRUN apt-get update && apt-get install -y curl\nRUN echo $HOME\nUSER 65532\n"

const hadolintReport = `[
 {"code":"DL3007","column":1,"file":"Dockerfile","level":"warning","line":1,"message":"Using latest is prone to errors"},
 {"code":"DL3008","column":1,"file":"Dockerfile","level":"warning","line":2,"message":"Pin versions in apt get install"},
 {"code":"DL3015","column":1,"file":"Dockerfile","level":"info","line":2,"message":"Avoid additional packages"},
 {"code":"SC2086","column":1,"file":"Dockerfile","level":"info","line":3,"message":"Double quote to prevent globbing and word splitting."},
 {"code":"DL3059","column":1,"file":"Dockerfile","level":"style","line":3,"message":"Multiple consecutive RUN"},
 {"code":"DL9999","column":2,"file":"Dockerfile","level":"severe","line":4,"message":"future level"}
]`

func TestRunWithHadolint(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	fr := &fakeRunner{
		version: fakeResult{stdout: "Haskell Dockerfile Linter 2.12.0\n"},
		lint:    fakeResult{stdout: hadolintReport},
	}
	res, err := Run(context.Background(), Options{Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	wantCalls := []string{
		fakeHadolint + " --version [in " + dir + "]",
		fakeHadolint + " --format json --no-fail Dockerfile [in " + dir + "]",
	}
	sort.Strings(fr.calls) // the two processes run at the same time
	sort.Strings(wantCalls)
	if !reflect.DeepEqual(fr.calls, wantCalls) {
		t.Errorf("calls:\n got %q\nwant %q", fr.calls, wantCalls)
	}
	if want := (HadolintStatus{Used: true, Path: fakeHadolint, Version: "2.12.0"}); res.Hadolint != want {
		t.Errorf("status = %+v, want %+v", res.Hadolint, want)
	}
	if len(res.Notices) != 0 {
		t.Errorf("notices = %q", res.Notices)
	}
	want := []string{"1 XB005 +DL3007", "2 DL3008", "2 DL3015", "3 DL3059", "3 SC2086", "4 DL9999"}
	if got := summarize(res.Findings); !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	sc := res.Findings[4]
	wantSC := Finding{
		Rule: "SC2086", Severity: SeverityInfo, File: path, Line: 3, Column: 1, Source: SourceHadolint,
		Message: "Double quote to prevent globbing and word splitting.", Hint: "https://www.shellcheck.net/wiki/SC2086",
	}
	if !reflect.DeepEqual(sc, wantSC) {
		t.Errorf("SC2086:\n got %+v\nwant %+v", sc, wantSC)
	}
	if res.Findings[1].Hint != "https://github.com/hadolint/hadolint/wiki/DL3008" {
		t.Errorf("DL3008 hint = %q", res.Findings[1].Hint)
	}
	if res.Findings[3].Severity != SeverityStyle || res.Findings[5].Severity != SeverityWarning {
		t.Errorf("style / unknown level mapped to %v / %v", res.Findings[3].Severity, res.Findings[5].Severity)
	}
	for th, want := range map[string]bool{"error": false, "warning": true, "none": false} {
		tt, _ := ParseThreshold(th)
		if got := res.Failed(tt); got != want {
			t.Errorf("Failed(%s) = %v, want %v", th, got, want)
		}
	}
	res2, err := Run(context.Background(), Options{
		Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint), Ignore: []string{"DL3008", "SC2086", "XB005"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summarize(res2.Findings), []string{"2 DL3015", "3 DL3059", "4 DL9999"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with Ignore:\n got %q\nwant %q", got, want)
	}
}

// TestHadolintFailures covers every way hadolint can fail once found: none
// of them may turn into "no findings".
func TestHadolintFailures(t *testing.T) {
	version := fakeResult{stdout: "Haskell Dockerfile Linter 2.12.0"}
	tests := []struct {
		name    string
		lint    fakeResult
		wantErr string
	}{
		{"exit code 2", fakeResult{stderr: "hadolint: boom\nmore", code: 2},
			`hadolint exited with code 2; stderr begins "hadolint: boom\nmore"`},
		{"exit code 3, no output", fakeResult{code: 3}, `hadolint exited with code 3 (no output)`},
		{"malformed JSON", fakeResult{stdout: `[{"code": DL3007}]`},
			`hadolint printed malformed JSON: invalid character 'D' looking for beginning of value; stdout begins "[{\"code\": DL3007}]"`},
		{"truncated JSON", fakeResult{stdout: `[{"code":"DL3007","level":"warning","line":1`},
			`hadolint printed malformed JSON: unexpected EOF; stdout begins "[{\"code\":\"DL3007\",\"level\":\"warning\",\"line\":1"`},
		{"not an array", fakeResult{stdout: `{"code":"DL3007"}`},
			`hadolint printed malformed JSON: json: cannot unmarshal object into Go value of type []lint.hadolintFinding; stdout begins "{\"code\":\"DL3007\"}"`},
		{"null", fakeResult{stdout: "null"},
			`hadolint printed malformed JSON: expected an array of findings, got null; stdout begins "null"`},
		{"trailing data", fakeResult{stdout: `[] []`},
			`hadolint printed malformed JSON: unexpected data after the array; stdout begins "[] []"`},
		{"finding without code", fakeResult{stdout: `[{"line":1}]`},
			`hadolint printed malformed JSON: finding 0 has no rule code or a negative line; stdout begins "[{\"line\":1}]"`},
		{"text report", fakeResult{stdout: "Dockerfile:1 DL3007 \x1b[93mwarning\x1b[0m: Using latest"},
			`hadolint printed its text report instead of JSON: HADOLINT_FORMAT or a format: key in .hadolint.yaml overrides --format json; stdout begins "Dockerfile:1 DL3007 \x1b[93mwarning\x1b[0m: Using latest"`},
		{"empty output", fakeResult{stderr: "Usage: hadolint"},
			`hadolint printed nothing where a JSON array of findings was expected; stderr begins "Usage: hadolint"`},
		{"exit 1 without a report", fakeResult{stdout: "Invalid option `--no-fail'", code: 1},
			"hadolint exited with code 1: hadolint printed malformed JSON: invalid character 'I' looking for beginning of value; stdout begins \"Invalid option `--no-fail'\""},
		{"cannot start", fakeResult{err: errors.New("fork/exec /opt/hadolint/bin/hadolint: exec format error"), code: -1},
			`run hadolint /opt/hadolint/bin/hadolint: fork/exec /opt/hadolint/bin/hadolint: exec format error`},
		{"long output is cut", fakeResult{stdout: "x" + strings.Repeat("é", 150), code: 4},
			`hadolint exited with code 4; stdout begins "x` + strings.Repeat("é", 99) + `"`},
	}
	path := writeDockerfile(t, hadolintFixture)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := &fakeRunner{version: version, lint: tt.lint}
			res, err := Run(context.Background(), Options{Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint)})
			if err == nil {
				t.Fatalf("no error; findings %q", summarize(res.Findings))
			}
			want := path + ": " + tt.wantErr
			if err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

// TestHadolintExtraReports: hadolint prints one report per format named in
// .hadolint.yaml, then the --format json one; the JSON at the end counts.
func TestHadolintExtraReports(t *testing.T) {
	const js = `[{"code":"DL3008","level":"warning","line":2,"column":1,"message":"Pin"}]`
	outputs := map[string]string{
		"tty first":   "Dockerfile:2 DL3008 \x1b[93mwarning\x1b[0m: Pin\n" + js,
		"sarif first": `{"$schema":"http://json.schemastore.org/sarif-2.1.0","runs":[{"results":[]}],"version":"2.1.0"}` + js,
		"json twice":  js + js,
		"xml first":   "<?xml version='1.0'?><checkstyle></checkstyle>" + js,
	}
	path := writeDockerfile(t, hadolintFixture)
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			fr := &fakeRunner{lint: fakeResult{stdout: out}}
			res, err := Run(context.Background(), Options{Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := summarize(res.Findings), []string{"1 XB005", "2 DL3008"}; !reflect.DeepEqual(got, want) {
				t.Errorf("findings %q, want %q", got, want)
			}
		})
	}
}

func TestHadolintExitOneWithReport(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	fr := &fakeRunner{lint: fakeResult{stdout: `[{"code":"DL3008","level":"warning","line":2,"column":1,"message":"Pin"}]`, code: 1},
		version: fakeResult{code: 1}}
	res, err := Run(context.Background(), Options{Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summarize(res.Findings), []string{"1 XB005", "2 DL3008"}; !reflect.DeepEqual(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if res.Hadolint.Version != "" || !res.Hadolint.Used {
		t.Errorf("status %+v: want used, version unknown", res.Hadolint)
	}
}

func TestHadolintStderrBecomesNotice(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	fr := &fakeRunner{
		version: fakeResult{stdout: "Haskell Dockerfile Linter v2.15.1-3-gabcdef"},
		lint:    fakeResult{stdout: "[]", stderr: "\n\"Error parsing your config file in '/x/.hadolint.yaml'\"\nmore\n"},
	}
	res, err := Run(context.Background(), Options{Dockerfile: path, Runner: fr, LookPath: foundAt(fakeHadolint)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`hadolint said on stderr: "Error parsing your config file in '/x/.hadolint.yaml'"`}
	if !reflect.DeepEqual(res.Notices, want) {
		t.Errorf("notices %q, want %q", res.Notices, want)
	}
	if res.Hadolint.Version != "2.15.1-3-gabcdef" {
		t.Errorf("version %q", res.Hadolint.Version)
	}
}

func TestHadolintMissing(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	notFound := func(string) (string, error) { return "", &exec.Error{Name: "hadolint", Err: exec.ErrNotFound} }
	noExec := func(string) (string, error) { return "", &exec.Error{Name: "/x/hadolint", Err: fs.ErrPermission} }
	tests := []struct {
		name       string
		opts       Options
		wantReason string
		wantNotice string
		wantErr    string
	}{
		{
			name:       "not on PATH",
			opts:       Options{LookPath: notFound},
			wantReason: "hadolint was not found on PATH",
			wantNotice: "hadolint was not found on PATH: only xbuild's built-in rules and BuildKit's checks ran; " + hadolintInstall,
		},
		{
			name:       "configured path missing",
			opts:       Options{Hadolint: "/x/hadolint", LookPath: func(string) (string, error) { return "", &exec.Error{Name: "/x/hadolint", Err: fs.ErrNotExist} }},
			wantReason: `hadolint "/x/hadolint" was not found`,
			wantNotice: `hadolint "/x/hadolint" was not found: only xbuild's built-in rules and BuildKit's checks ran; ` + hadolintInstall,
		},
		{
			name:       "not executable",
			opts:       Options{Hadolint: "/x/hadolint", LookPath: noExec},
			wantReason: `hadolint "/x/hadolint" is not executable`,
			wantNotice: `hadolint "/x/hadolint" is not executable: only xbuild's built-in rules and BuildKit's checks ran; ` + hadolintInstall,
		},
		{
			name:    "required",
			opts:    Options{RequireHadolint: true, LookPath: notFound},
			wantErr: "hadolint is required but hadolint was not found on PATH; " + hadolintInstall,
		},
		{
			name:    "required, not executable",
			opts:    Options{Hadolint: "/x/hadolint", RequireHadolint: true, LookPath: noExec},
			wantErr: `hadolint is required but hadolint "/x/hadolint" is not executable; ` + hadolintInstall,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := &fakeRunner{}
			tt.opts.Dockerfile = path
			tt.opts.Runner = fr
			res, err := Run(context.Background(), tt.opts)
			if len(fr.calls) != 0 {
				t.Errorf("runner called: %q", fr.calls)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != path+": "+tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := (HadolintStatus{SkipReason: tt.wantReason}); res.Hadolint != want {
				t.Errorf("status %+v, want %+v", res.Hadolint, want)
			}
			if !reflect.DeepEqual(res.Notices, []string{tt.wantNotice}) {
				t.Errorf("notices %q, want %q", res.Notices, tt.wantNotice)
			}
			if got, want := summarize(res.Findings), []string{"1 XB005"}; !reflect.DeepEqual(got, want) {
				t.Errorf("built-in findings %q, want %q", got, want)
			}
		})
	}
}

func TestHadolintContextCanceled(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Dockerfile: path, Runner: &fakeRunner{}, LookPath: foundAt(fakeHadolint)})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

// TestExecRunnerAndLookPath runs stand-in hadolint scripts through the real
// ExecRunner and exec.LookPath: exit codes, stdout/stderr, the working
// directory, and binaries that are missing, not executable or not programs.
func TestExecRunnerAndLookPath(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	bin := t.TempDir()
	script := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The default runner must clear HADOLINT_FORMAT, which hadolint would
	// add to --format json.
	t.Setenv("HADOLINT_FORMAT", "tty")
	good := script("hadolint-good", `#!/bin/sh
if [ "$1" = --version ]; then echo "Haskell Dockerfile Linter 2.14.0"; exit 0; fi
if [ -n "$HADOLINT_FORMAT" ]; then echo "HADOLINT_FORMAT leaked: $HADOLINT_FORMAT"; exit 0; fi
test -f .hadolint.yaml && echo '[]' && exit 0
echo '[{"code":"DL3007","level":"warning","line":1,"column":1,"file":"'"$4"'","message":"latest"}]'
`, 0o755)
	crash := script("hadolint-crash", "#!/bin/sh\necho 'segfault' >&2\nexit 139\n", 0o755)
	noExec := script("hadolint-noexec", "#!/bin/sh\necho '[]'\n", 0o644)
	notProgram := script("hadolint-garbage", "\x00\x01\x02 not a program", 0o755)

	path := writeDockerfile(t, hadolintFixture)
	run := func(h string) (*Result, error) {
		return Run(context.Background(), Options{Dockerfile: path, Hadolint: h})
	}

	res, err := run(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summarize(res.Findings), []string{"1 XB005 +DL3007"}; !reflect.DeepEqual(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if want := (HadolintStatus{Used: true, Path: good, Version: "2.14.0"}); res.Hadolint != want {
		t.Errorf("status %+v, want %+v", res.Hadolint, want)
	}

	// The script finds .hadolint.yaml only when started in the Dockerfile's directory.
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), ".hadolint.yaml"), []byte("ignored: [DL3007]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = run(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summarize(res.Findings), []string{"1 XB005"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with .hadolint.yaml: findings %q, want %q", got, want)
	}

	if _, err := run(crash); err == nil || !strings.HasSuffix(err.Error(), `hadolint exited with code 139; stderr begins "segfault"`) {
		t.Errorf("crash: error = %v", err)
	}
	res, err = run(noExec)
	if err != nil || res.Hadolint.SkipReason != fmt.Sprintf("hadolint %q is not executable", noExec) {
		t.Errorf("not executable: %v, %+v", err, res.Hadolint)
	}
	missing := filepath.Join(bin, "nope")
	res, err = run(missing)
	if err != nil || res.Hadolint.SkipReason != fmt.Sprintf("hadolint %q was not found", missing) {
		t.Errorf("missing: %v, %+v", err, res.Hadolint)
	}
	if _, err := run(notProgram); err == nil || !strings.Contains(err.Error(), "exec format error") {
		t.Errorf("not a program: error = %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil || err.Error() != "no Dockerfile given" {
		t.Errorf("no Dockerfile: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "Dockerfile")
	_, err := Run(context.Background(), Options{Dockerfile: missing})
	if err == nil || !errors.Is(err, fs.ErrNotExist) || err.Error() != "cannot read the Dockerfile: open "+missing+": no such file or directory (pass its path with -f, or the build context directory)" {
		t.Errorf("missing Dockerfile: %v", err)
	}
}

// A Dockerfile over the size limit is refused before it is parsed.
func TestRunRefusesAHugeDockerfile(t *testing.T) {
	path := writeDockerfile(t, "FROM busybox:1.36\n"+strings.Repeat("RUN true\n", MaxDockerfileSize/9+1))
	_, err := Run(context.Background(), Options{Dockerfile: path, Runner: &fakeRunner{}, LookPath: foundAt(fakeHadolint)})
	want := "the Dockerfile " + path + " is 1.0 MiB, over the 1 MiB xbuild lints: a Dockerfile that large is usually generated by mistake (check it, or skip the lint with --no-lint)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// A lint that does not finish in time stops with an error naming the
// timeout; Ctrl-C (a cancelled context) stops it at once too.
func TestRunIsBounded(t *testing.T) {
	path := writeDockerfile(t, hadolintFixture)
	stuck := blockingRunner{}
	_, err := Run(context.Background(), Options{Dockerfile: path, Runner: stuck, LookPath: foundAt(fakeHadolint), Timeout: 50 * time.Millisecond})
	if err == nil || !strings.HasPrefix(err.Error(), "linting "+path+" took longer than 50ms and was stopped") {
		t.Errorf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := Run(ctx, Options{Dockerfile: path, Runner: stuck, LookPath: foundAt(fakeHadolint)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
}

// TestRunDockerignore checks where Run looks for the ignore file (XB008).
func TestRunDockerignore(t *testing.T) {
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	tests := []struct {
		name  string
		files []string // created next to the Dockerfile, or in ctx/ for the context
		ctx   bool
		want  []string
	}{
		{"none", nil, false, []string{"1 XB008"}},
		{"in the Dockerfile's directory", []string{".dockerignore"}, false, []string{}},
		{"named after the Dockerfile", []string{"app.Dockerfile.dockerignore"}, false, []string{}},
		{"next to the Dockerfile, but the context is elsewhere", []string{".dockerignore"}, true, []string{"1 XB008"}},
		{"in the context", []string{"ctx/.dockerignore"}, true, []string{}},
	}
	good := readFixture(t, "good/Dockerfile")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "ctx"), 0o755); err != nil {
				t.Fatal(err)
			}
			df := filepath.Join(dir, "app.Dockerfile")
			if err := os.WriteFile(df, good, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opts := Options{Dockerfile: df, LookPath: notFound}
			if tt.ctx {
				opts.ContextDir = filepath.Join(dir, "ctx")
			}
			res, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(res.Findings); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

// blockingRunner is a hadolint that never answers and ignores its context,
// like a process stuck on a huge file: Run must return without it.
type blockingRunner struct{}

func (blockingRunner) Run(context.Context, string, []string, string) ([]byte, []byte, int, error) {
	time.Sleep(5 * time.Second)
	return nil, nil, 0, errors.New("the blocking runner was waited for")
}

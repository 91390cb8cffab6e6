package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/xbuild-dev/xbuild/internal/iostreams"
)

// The CI recipes in examples/ci cannot run here: every xbuild command they
// run is parsed by xbuild's own command tree and flags instead, so a
// renamed flag or command fails here first. Each recipe must log in with
// --password-stdin, build by digest into a digest file, and merge.

// shellWords splits a shell script into simple commands (words with
// quotes removed), at newlines, |, ||, &&, ; and &. Line continuations
// join lines, comments are dropped, redirections and their targets are
// left out. $(...) and quoted text stay inside their word. It is enough
// for the scripts of these recipes, not a shell.
func shellWords(script string) ([][]string, error) {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var (
		cmds  [][]string
		cur   []string
		word  strings.Builder
		in    bool // a word is open (possibly empty, as "")
		skipN bool // the next word is a redirection target
	)
	endWord := func() {
		if in {
			if skipN {
				skipN = false
			} else {
				cur = append(cur, word.String())
			}
		}
		word.Reset()
		in = false
	}
	endCmd := func() {
		endWord()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated ' in %q", script)
			}
			word.WriteString(string(rs[i+1 : j]))
			in, i = true, j
		case r == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[j+1]) {
					j++
				}
				word.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated \" in %q", script)
			}
			in, i = true, j
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(':
			depth := 0
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == '(' {
					depth++
				} else if rs[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated $( in %q", script)
			}
			word.WriteString(string(rs[i : j+1]))
			in, i = true, j
		case r == '#' && !in:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			endCmd()
		case r == '\n' || r == ';' || r == '|' || r == '&':
			endCmd()
		case r == '>' || r == '<':
			if word.String() == "2" || word.String() == "1" { // 2>&1, 2>file
				word.Reset()
				in = false
			}
			endWord()
			for i+1 < len(rs) && (rs[i+1] == '>' || rs[i+1] == '&' || (rs[i+1] >= '0' && rs[i+1] <= '9')) {
				i++
			}
			if rs[i] < '0' || rs[i] > '9' {
				skipN = true // the target follows
			}
		case r == ' ' || r == '\t':
			endWord()
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			in = true
		default:
			word.WriteRune(r)
			in = true
		}
	}
	endCmd()
	return cmds, nil
}

func TestShellWords(t *testing.T) {
	script := "echo \"$TOKEN\" | xbuild login \"$R\" -u 'a b' --password-stdin # note\n" +
		"x=$(echo \"$P\" | tr / -); xbuild build --platform \"$P\" \\\n  -t \"${IMAGE}:x\" > out.json 2>&1 &\n" +
		"FOO=1 xbuild merge -t a digests/ && echo done"
	got, err := shellWords(script)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"echo", "$TOKEN"}, {"xbuild", "login", "$R", "-u", "a b", "--password-stdin"},
		{`x=$(echo "$P" | tr / -)`}, {"xbuild", "build", "--platform", "$P", "-t", "${IMAGE}:x"},
		{"FOO=1", "xbuild", "merge", "-t", "a", "digests/"}, {"echo", "done"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// xbuildCommands returns the xbuild invocations (arguments after
// "xbuild") of scripts.
func xbuildCommands(t *testing.T, where string, scripts []string) [][]string {
	t.Helper()
	expr := regexp.MustCompile(`\$\{\{[^}]*\}\}`) // a GitHub expression is a value
	var out [][]string
	for _, s := range scripts {
		cmds, err := shellWords(expr.ReplaceAllString(s, "GHA_EXPRESSION"))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, c := range cmds {
			for len(c) > 0 && envAssign.MatchString(c[0]) {
				c = c[1:]
			}
			if len(c) > 0 && (c[0] == "xbuild" || strings.HasSuffix(c[0], "/xbuild")) {
				out = append(out, c[1:])
			}
		}
	}
	return out
}

// checkXbuildCommand parses args with a fresh command tree: the command
// must exist and take these flags and this many arguments.
func checkXbuildCommand(args []string) error {
	io, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(io, func(string) string { return "" }))
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if c == root {
		return fmt.Errorf("no xbuild command %q", args[0])
	}
	if err := c.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	if c.Args != nil {
		if err := c.Args(c, c.Flags().Args()); err != nil {
			return err
		}
	}
	return nil
}

func readYAML(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not YAML: %v", name, err)
	}
	return doc
}

// strs returns a YAML value as a list of strings: a string, or a list of them.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// checkRecipe checks every xbuild command of a recipe's jobs and that the
// recipe logs in, builds by digest into a digest file and merges.
func checkRecipe(t *testing.T, name string, scripts map[string][]string) {
	t.Helper()
	seen := map[string][][]string{}
	for job, ss := range scripts {
		for _, args := range xbuildCommands(t, name+" job "+job, ss) {
			if err := checkXbuildCommand(args); err != nil {
				t.Errorf("%s, job %s: xbuild %s: %v", name, job, strings.Join(args, " "), err)
			}
			if len(args) > 0 {
				seen[job+" "+args[0]] = append(seen[job+" "+args[0]], args)
			}
		}
	}
	has := func(job, command string, flags ...string) {
		for _, args := range seen[job+" "+command] {
			ok := true
			for _, fl := range flags {
				ok = ok && slices.Contains(args, fl)
			}
			if ok {
				return
			}
		}
		t.Errorf("%s: job %s runs no xbuild %s with %v (it runs %q)", name, job, command, flags, seen)
	}
	has("build", "login", "--password-stdin")
	has("build", "build", "--push-by-digest", "--digest-file", "--platform")
	has("merge", "login", "--password-stdin")
	has("merge", "merge", "-t", "--platform")
}

func TestGitHubActionsRecipe(t *testing.T) {
	doc := readYAML(t, "github-actions.yml")
	jobs := asMap(doc["jobs"])
	scripts := map[string][]string{}
	for name, j := range jobs {
		for _, st := range asMap(j)["steps"].([]any) {
			scripts[name] = append(scripts[name], strs(asMap(st)["run"])...)
		}
	}
	checkRecipe(t, "github-actions.yml", scripts)

	// one native runner per platform, then a merge that waits for them
	build := asMap(jobs["build"])
	var plats []string
	runners := map[string]bool{}
	for _, e := range asMap(asMap(build["strategy"])["matrix"])["include"].([]any) {
		plats = append(plats, asMap(e)["platform"].(string))
		runners[asMap(e)["runner"].(string)] = true
	}
	if fmt.Sprint(plats) != "[linux/amd64 linux/arm64]" || len(runners) != 2 || build["runs-on"] != "${{ matrix.runner }}" {
		t.Errorf("matrix: platforms %v on runners %v (runs-on %v)", plats, runners, build["runs-on"])
	}
	if n := strs(asMap(jobs["merge"])["needs"]); fmt.Sprint(n) != "[build]" {
		t.Errorf("merge needs %v", n)
	}
	// the digest files travel as artifacts: uploaded by build, downloaded by merge
	var up, down []string
	for name, j := range jobs {
		for _, st := range asMap(j)["steps"].([]any) {
			s := asMap(st)
			uses, _ := s["uses"].(string)
			with := asMap(s["with"])
			switch {
			case strings.HasPrefix(uses, "actions/upload-artifact@") && name == "build":
				up = append(up, with["path"].(string))
			case strings.HasPrefix(uses, "actions/download-artifact@"):
				down = append(down, fmt.Sprint(with["path"], " ", with["merge-multiple"]))
			}
		}
	}
	if fmt.Sprint(up) != "[digests/${{ env.PLATFORM_PAIR }}.json]" || fmt.Sprint(down) != "[digests true]" {
		t.Errorf("artifacts: up %v, down %v", up, down)
	}
}

func TestGitLabCIRecipe(t *testing.T) {
	doc := readYAML(t, "gitlab-ci.yml")
	template := asMap(doc[".xbuild"])
	scripts := map[string][]string{}
	for _, name := range []string{"build", "merge"} {
		job := asMap(doc[name])
		if job["extends"] != ".xbuild" {
			t.Errorf("job %s does not extend .xbuild", name)
		}
		scripts[name] = append(strs(template["before_script"]), strs(job["script"])...)
	}
	checkRecipe(t, "gitlab-ci.yml", scripts)

	build := asMap(doc["build"])
	var plats []string
	for _, e := range asMap(build["parallel"])["matrix"].([]any) {
		plats = append(plats, fmt.Sprint(asMap(e)["PLATFORM"], " on ", asMap(e)["RUNNER"]))
	}
	if fmt.Sprint(plats) != "[linux/amd64 on saas-linux-small-amd64 linux/arm64 on saas-linux-small-arm64]" || fmt.Sprint(strs(build["tags"])) != "[$RUNNER]" {
		t.Errorf("matrix %v, tags %v", plats, build["tags"])
	}
	if p := strs(asMap(build["artifacts"])["paths"]); fmt.Sprint(p) != "[digests/]" {
		t.Errorf("build artifacts %v", p)
	}
	if n := strs(asMap(doc["merge"])["needs"]); fmt.Sprint(n) != "[build]" {
		t.Errorf("merge needs %v", n)
	}
}

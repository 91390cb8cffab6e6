package lint

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// dockerfile is the parsed form the built-in rules work on: BuildKit's AST
// node and typed instruction for every line, grouped into stages.
type dockerfile struct {
	file     string
	lines    []string       // raw source lines, for inline ignore comments
	nodes    []*parser.Node // every instruction, in order
	metaArgs []command      // ARGs before the first FROM
	stages   []*stage
	lex      *shell.Lex
	errors   []Finding // XB000 findings for instructions BuildKit rejects
}

// stage is one FROM and the instructions that follow it.
type stage struct {
	index    int
	name     string // lower-cased by BuildKit; "" when the stage has no AS
	base     string // image or stage reference as written, variables unexpanded
	platform string // --platform value as written
	line     int
	parent   *stage // the earlier stage named by base, if any
	cmds     []command
}

// command is one instruction with its AST node (for lines and comments).
type command struct {
	node *parser.Node
	cmd  any // an instructions.* value
}

func (c command) line() int { return c.node.StartLine }

// parseDockerfile parses data with BuildKit's parser. A file the parser
// rejects outright yields ok=false and a single XB000 finding; an
// instruction BuildKit cannot interpret yields an XB000 finding and is
// skipped, so the other rules still see the rest of the file.
func parseDockerfile(file string, data []byte) (df *dockerfile, ok bool) {
	df = &dockerfile{file: file, lines: splitLines(data)}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		df.errors = append(df.errors, syntaxFinding(file, err))
		return df, false
	}
	df.lex = shell.NewLex(res.EscapeToken)
	// A linter without a Warn hook reports nothing; it is passed because the
	// nil linter ParseInstruction uses panics on a "# check=" comment that is
	// not at the top of the file.
	quiet := linter.New(&linter.Config{})
	for _, n := range res.AST.Children {
		df.nodes = append(df.nodes, n)
		v, err := instructions.ParseInstructionWithLinter(n, quiet)
		if err != nil {
			df.errors = append(df.errors, syntaxFinding(file, parser.WithLocation(err, n.Location())))
			continue
		}
		switch c := v.(type) {
		case *instructions.Stage:
			s := &stage{
				index: len(df.stages), name: c.Name, base: c.BaseName,
				platform: c.Platform, line: n.StartLine,
			}
			s.parent = df.stageBefore(s.index, c.BaseName)
			df.stages = append(df.stages, s)
		default:
			cmd := command{node: n, cmd: v}
			if len(df.stages) == 0 {
				if _, isArg := v.(*instructions.ArgCommand); isArg {
					df.metaArgs = append(df.metaArgs, cmd)
				} else {
					df.errors = append(df.errors, newFinding(file, "XB000", n.StartLine,
						"BuildKit rejects this Dockerfile: "+strings.ToUpper(n.Value)+" before the first FROM"))
				}
				continue
			}
			last := df.stages[len(df.stages)-1]
			last.cmds = append(last.cmds, cmd)
		}
	}
	return df, len(df.errors) == 0
}

// splitLines returns data's lines without line terminators.
func splitLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.Split(s, "\n")
}

// stageBefore returns the stage named ref among the first n stages, the way
// FROM resolves a stage name (case-insensitive, never a later stage).
func (df *dockerfile) stageBefore(n int, ref string) *stage {
	ref = strings.ToLower(ref)
	for i := n - 1; i >= 0; i-- {
		if s := df.stages[i]; s.name != "" && s.name == ref {
			return s
		}
	}
	return nil
}

// stageRef resolves COPY --from: a stage name or a stage index. Any stage
// may be named; an unknown name is an image reference and returns nil.
func (df *dockerfile) stageRef(ref string) *stage {
	if i, err := strconv.Atoi(ref); err == nil {
		if i >= 0 && i < len(df.stages) {
			return df.stages[i]
		}
		return nil
	}
	ref = strings.ToLower(ref)
	for _, s := range df.stages {
		if s.name != "" && s.name == ref {
			return s
		}
	}
	return nil
}

// final is the stage a build without --target produces.
func (df *dockerfile) final() *stage {
	if len(df.stages) == 0 {
		return nil
	}
	return df.stages[len(df.stages)-1]
}

// chain returns s's ancestry, from the stage built on an image to s itself.
func (s *stage) chain() []*stage {
	var out []*stage
	for c := s; c != nil; c = c.parent {
		out = append([]*stage{c}, out...)
	}
	return out
}

// root is the first stage in s's chain: the one built on an image.
func (s *stage) root() *stage { return s.chain()[0] }

// label names a stage for messages: "build" or "#2" for an unnamed one.
func (s *stage) label() string {
	if s.name != "" {
		return strconv.Quote(s.name)
	}
	return "#" + strconv.Itoa(s.index)
}

// globalArgs returns the values the ARGs before the first FROM give, with
// the user's build args taking precedence, for expanding FROM lines.
func (df *dockerfile) globalArgs(buildArgs map[string]string) map[string]string {
	vals := map[string]string{}
	for _, c := range df.metaArgs {
		for _, kv := range c.cmd.(*instructions.ArgCommand).Args {
			if v, ok := buildArgs[kv.Key]; ok {
				vals[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue
			}
			if v, unmatched, err := df.lex.ProcessWord(*kv.Value, mapEnv(vals)); err == nil && len(unmatched) == 0 {
				vals[kv.Key] = v
			}
		}
	}
	return vals
}

// expand substitutes variables in word; ok is false when a variable has no
// known value, in which case the result must not be trusted.
func (df *dockerfile) expand(word string, vals map[string]string) (string, bool) {
	if !strings.Contains(word, "$") {
		return word, true
	}
	v, unmatched, err := df.lex.ProcessWord(word, mapEnv(vals))
	if err != nil || len(unmatched) > 0 {
		return "", false
	}
	return v, true
}

// mapEnv adapts a map to BuildKit's shell.EnvGetter.
type mapEnv map[string]string

// Get returns the value of k.
func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

// Keys returns the variable names, in no particular order.
func (m mapEnv) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// runText is everything a RUN executes: the command line (shell or exec
// form) and the bodies of its heredocs.
func runText(r *instructions.RunCommand) string {
	var b strings.Builder
	b.WriteString(strings.Join(r.CmdLine, " "))
	for _, f := range r.Files {
		b.WriteByte('\n')
		b.WriteString(f.Data)
	}
	return b.String()
}

// stageAt returns the stage that contains line, or nil before the first FROM.
func (df *dockerfile) stageAt(line int) *stage {
	var found *stage
	for _, s := range df.stages {
		if s.line > line {
			break
		}
		found = s
	}
	return found
}

// unquote removes shell quoting from a value as BuildKit would. A value
// with variable references, or one it cannot process, is returned as written.
func (df *dockerfile) unquote(word string) string {
	if strings.Contains(word, "$") {
		return word
	}
	v, _, err := df.lex.ProcessWord(word, mapEnv(nil))
	if err != nil {
		return word
	}
	return v
}

package cmd

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// compatRow is one row of docs/buildx-compat.md.
type compatRow struct {
	flag, short, status, why string
}

var compatRowRE = regexp.MustCompile("^\\| `--([a-z-]+)`(?: \\(`-([a-zA-Z])`\\))? \\| (supported|supported differently|not supported) \\| (.*) \\|$")

func readCompatTable(t *testing.T) []compatRow {
	t.Helper()
	data, err := os.ReadFile("../docs/buildx-compat.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []compatRow
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		m := compatRowRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("docs/buildx-compat.md: a row not shaped | `--flag` (`-x`) | supported, supported differently or not supported | why |:\n%s", line)
			continue
		}
		rows = append(rows, compatRow{flag: m[1], short: m[2], status: m[3], why: strings.TrimSpace(m[4])})
	}
	return rows
}

// The compatibility table lists exactly the flags of the embedded buildx's
// build command, and says the truth about xbuild build: a flag it calls
// supported exists there under the same name (and shorthand), a flag it
// calls not supported does not.
func TestBuildxCompatTable(t *testing.T) {
	buildx, err := engine.BuildxBuildFlags()
	if err != nil {
		t.Fatal(err)
	}
	rows := readCompatTable(t)
	byName := map[string]compatRow{}
	for _, r := range rows {
		if _, dup := byName[r.flag]; dup {
			t.Errorf("--%s is listed twice", r.flag)
		}
		byName[r.flag] = r
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.flag)
	}
	if !slices.IsSorted(names) {
		t.Errorf("rows are not in name order: %s", strings.Join(names, " "))
	}
	known := map[string]bool{}
	for _, f := range buildx {
		known[f.Name] = true
		r, ok := byName[f.Name]
		if !ok {
			t.Errorf("buildx build has --%s (%s), docs/buildx-compat.md does not list it: add a row", f.Name, f.Usage)
			continue
		}
		if r.short != f.Shorthand {
			t.Errorf("--%s: the table gives shorthand %q, buildx has %q", f.Name, r.short, f.Shorthand)
		}
		if r.why == "" && r.status != "supported" {
			t.Errorf("--%s is %s without saying why", f.Name, r.status)
		}
	}
	for _, r := range rows {
		if !known[r.flag] {
			t.Errorf("docs/buildx-compat.md lists --%s, which the embedded buildx's build command does not have: remove the row", r.flag)
		}
	}

	root := NewRootCmd(&Factory{})
	xb, _, err := root.Find([]string{"build"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		fl := xb.Flags().Lookup(r.flag)
		if fl == nil {
			fl = root.PersistentFlags().Lookup(r.flag)
		}
		switch {
		case r.status == "not supported" && fl != nil:
			t.Errorf("docs/buildx-compat.md says --%s is not supported, but xbuild build has it: update the row", r.flag)
		case r.status != "not supported" && fl == nil:
			t.Errorf("docs/buildx-compat.md says --%s is %s, but xbuild build has no such flag", r.flag, r.status)
		case r.status == "supported" && r.short != "" && fl.Shorthand != r.short:
			t.Errorf("--%s: buildx's shorthand is -%s, xbuild's %q", r.flag, r.short, fl.Shorthand)
		}
	}
}

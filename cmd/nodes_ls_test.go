package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

// nodes ls, check and inspect show each node's load (the builds its
// BuildKit runs now) beside its health: a number, or "-" when unknown.
func TestNodesLsShowsRunningBuilds(t *testing.T) {
	t.Parallel()
	e := newNodesEnv(t, "linux/amd64")
	e.mustAdd(t, append([]string{"amd1", "--endpoint", "tcp://node.example:1234"}, e.tlsArgs()...)...)
	e.mustAdd(t, append([]string{"amd2", "--endpoint", "tcp://node.example:1235"}, e.tlsArgs()...)...)
	e.mustAdd(t, append([]string{"amd3", "--endpoint", "tcp://node.example:1236"}, e.tlsArgs()...)...)
	e.eng.running = map[string]int{"tcp://node.example:1234": 2, "tcp://node.example:1235": 0}

	if code := e.run(NewNodesLsCmd(e.f)); code != ExitOK {
		t.Fatalf("nodes ls: exit %d\n%s", code, e.err)
	}
	var builds []string
	for _, line := range strings.Split(strings.TrimSpace(e.out.String()), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) != 9 {
			t.Fatalf("row %q has %d columns, want 9", line, len(cols))
		}
		builds = append(builds, cols[0]+" "+cols[4]+" "+cols[5])
	}
	if got, want := strings.Join(builds, ", "), "NAME STATUS BUILDS, amd1 ok 2, amd2 ok 0, amd3 ok -"; got != want {
		t.Errorf("nodes ls NAME STATUS BUILDS: %s, want %s", got, want)
	}

	e.out.Reset()
	if code := e.run(NewNodesLsCmd(e.f), "--format", "json"); code != ExitOK {
		t.Fatalf("nodes ls --format json: exit %d\n%s", code, e.err)
	}
	var rows []struct {
		Name   string `json:"name"`
		Health struct {
			Running *int `json:"running"`
		} `json:"health"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		s := r.Name + "=null"
		if r.Health.Running != nil {
			s = r.Name + "=" + string(rune('0'+*r.Health.Running))
		}
		got = append(got, s)
	}
	if g, want := strings.Join(got, " "), "amd1=2 amd2=0 amd3=null"; g != want {
		t.Errorf("json health.running: %s, want %s\n%s", g, want, e.out)
	}
	if !strings.Contains(e.out.String(), `"running": null`) {
		t.Errorf("an unknown load is not written as null:\n%s", e.out)
	}

	for name, want := range map[string]string{"amd1": "Builds:     2 running\n", "amd3": "Builds:     - (not known: see xbuild nodes ls --help)\n"} {
		e.out.Reset()
		if code := e.run(NewNodesInspectCmd(e.f), name); code != ExitOK {
			t.Fatalf("nodes inspect %s: exit %d\n%s", name, code, e.err)
		}
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("nodes inspect %s lacks %q:\n%s", name, want, e.out)
		}
	}
}

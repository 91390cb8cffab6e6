package lint

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sampleResult has a finding from every source, a merged finding, a notice
// and an absolute path, to exercise every part of the formats.
func sampleResult() *Result {
	return &Result{
		Findings: []Finding{
			{Rule: "XB005", Severity: SeverityWarning, File: "Dockerfile", Line: 1, Source: SourceXbuild,
				Message: "FROM ubuntu:latest uses the latest tag, which changes whenever a new image is pushed",
				Hint:    ruleByID("XB005").Hint, Also: []string{"DL3007"}},
			{Rule: "DL3008", Severity: SeverityWarning, File: "Dockerfile", Line: 2, Column: 1, Source: SourceHadolint,
				Message: "Pin versions in apt get install.", Hint: "https://github.com/hadolint/hadolint/wiki/DL3008"},
			{Rule: "XB001", Severity: SeverityError, File: "Dockerfile", Line: 4, Source: SourceXbuild,
				Message: "ENV sets HTTP_PROXY: the proxy setting (value not shown) is baked into the image and into every container started from it",
				Hint:    ruleByID("XB001").Hint},
			{Rule: "FromAsCasing", Severity: SeverityWarning, File: "/src/app/Dockerfile", Line: 7, Source: SourceBuildKit,
				Message: "'as' and 'FROM' keywords' casing do not match", Hint: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/"},
			{Rule: "SC2086", Severity: SeverityInfo, File: "Dockerfile", Line: 9, Column: 1, Source: SourceHadolint,
				Message: "Double quote to prevent globbing and word splitting.", Hint: "https://www.shellcheck.net/wiki/SC2086"},
			{Rule: "DL3059", Severity: SeverityStyle, File: "Dockerfile", Line: 10, Column: 1, Source: SourceHadolint,
				Message: "Multiple consecutive `RUN` instructions. Consider consolidation."},
		},
		Hadolint: HadolintStatus{Used: true, Path: "/usr/local/bin/hadolint", Version: "2.12.0"},
		Notices:  []string{`hadolint said on stderr: "Error parsing your config file"`},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteTTY(t *testing.T) {
	var plain, color bytes.Buffer
	if err := WriteTTY(&plain, sampleResult(), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteTTY(&color, sampleResult(), true); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", plain.Bytes())
	golden(t, "report-color.txt", color.Bytes())
}

func TestSummary(t *testing.T) {
	tests := []struct {
		r    *Result
		want string
	}{
		{sampleResult(), "6 findings: 1 error, 3 warnings, 1 info, 1 style (hadolint 2.12.0 + built-in rules)"},
		{&Result{}, "no findings (built-in rules only)"},
		{&Result{Findings: []Finding{{Severity: SeverityWarning}}, Hadolint: HadolintStatus{Used: true}},
			"1 finding: 1 warning (hadolint + built-in rules)"},
		{&Result{Findings: []Finding{{Severity: SeverityError}, {Severity: SeverityError}}},
			"2 findings: 2 errors (built-in rules only)"},
	}
	for _, tt := range tests {
		if got := Summary(tt.r); got != tt.want {
			t.Errorf("Summary = %q, want %q", got, tt.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", buf.Bytes())

	// The document reads back into the same findings.
	var doc struct {
		Findings []Finding      `json:"findings"`
		Hadolint HadolintStatus `json:"hadolint"`
		Notices  []string       `json:"notices"`
		Summary  map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Findings, sampleResult().Findings) {
		t.Errorf("findings do not round-trip:\n got %+v", doc.Findings)
	}
	wantSummary := map[string]int{"total": 6, "error": 1, "warning": 3, "info": 1, "style": 1}
	if !reflect.DeepEqual(doc.Summary, wantSummary) {
		t.Errorf("summary %v, want %v", doc.Summary, wantSummary)
	}

	buf.Reset()
	if err := WriteJSON(&buf, &Result{Hadolint: HadolintStatus{SkipReason: "hadolint was not found on PATH"}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "empty.json", buf.Bytes())
}

func TestWriteSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, sampleResult(), "1.2.3"); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.sarif", buf.Bytes())

	// Structure checks independent of the golden file, on a generic decode.
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("SARIF is not valid JSON: %v", err)
	}
	if doc["version"] != "2.1.0" {
		t.Errorf("version = %v", doc["version"])
	}
	runs := doc["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "xbuild" || driver["version"] != "1.2.3" {
		t.Errorf("driver = %v %v", driver["name"], driver["version"])
	}
	var ruleIDs []string
	for _, r := range driver["rules"].([]any) {
		rule := r.(map[string]any)
		ruleIDs = append(ruleIDs, rule["id"].(string))
		if rule["shortDescription"].(map[string]any)["text"] == "" {
			t.Errorf("rule %v has no shortDescription", rule["id"])
		}
	}
	wantRules := []string{"XB000", "XB001", "XB002", "XB003", "XB004", "XB005", "XB006", "XB007", "XB008", "XB009", "XB010",
		"DL3008", "FromAsCasing", "SC2086", "DL3059"}
	if !reflect.DeepEqual(ruleIDs, wantRules) {
		t.Errorf("rules %v, want %v", ruleIDs, wantRules)
	}
	results := run["results"].([]any)
	wantLevels := []string{"warning", "warning", "error", "warning", "note", "note"}
	for i, r := range results {
		res := r.(map[string]any)
		rid := res["ruleId"].(string)
		if ruleIDs[int(res["ruleIndex"].(float64))] != rid {
			t.Errorf("result %d: ruleIndex does not point at %s", i, rid)
		}
		if res["level"] != wantLevels[i] {
			t.Errorf("result %d (%s): level %v, want %s", i, rid, res["level"], wantLevels[i])
		}
		loc := res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
		uri := loc["artifactLocation"].(map[string]any)["uri"]
		line := loc["region"].(map[string]any)["startLine"]
		if want := sampleResult().Findings[i]; line != float64(want.Line) {
			t.Errorf("result %d: startLine %v, want %d", i, line, want.Line)
		}
		if i == 3 && uri != "file:///src/app/Dockerfile" || i != 3 && uri != "Dockerfile" {
			t.Errorf("result %d: uri %v", i, uri)
		}
	}
	if len(results) != 6 {
		t.Errorf("%d results, want 6", len(results))
	}

	buf.Reset()
	if err := WriteSARIF(&buf, &Result{}, ""); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc["runs"].([]any)[0].(map[string]any)["results"]; !reflect.DeepEqual(got, []any{}) {
		t.Errorf("empty result: results = %v, want []", got)
	}
}

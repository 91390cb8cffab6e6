package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTargets(t *testing.T) {
	dir := t.TempDir()
	extras := filepath.Join(dir, "extras")
	for _, d := range []string{"extras/sbom-b", "extras/sbom-a"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(extras, "not-a-dir"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BUILDKIT_SCAN_SOURCE": "/run/src/core/sbom", "BUILDKIT_SCAN_DESTINATION": "/run/out", "BUILDKIT_SCAN_SOURCE_EXTRAS": extras}
	got, err := targets(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []target{
		{name: "sbom", root: "/run/src/core/sbom", out: "/run/out/sbom.spdx.json"},
		{name: "sbom-a", root: filepath.Join(extras, "sbom-a"), out: "/run/out/sbom-a.spdx.json"},
		{name: "sbom-b", root: filepath.Join(extras, "sbom-b"), out: "/run/out/sbom-b.spdx.json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets\n %+v\nwant\n %+v", got, want)
	}
	// extras that are unset or missing are no extras (the protocol)
	env["BUILDKIT_SCAN_SOURCE_EXTRAS"] = filepath.Join(dir, "missing")
	if got, err := targets(func(k string) string { return env[k] }); err != nil || len(got) != 1 {
		t.Errorf("missing extras: %+v, %v", got, err)
	}
	if _, err := targets(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "BUILDKIT_SCAN_SOURCE and BUILDKIT_SCAN_DESTINATION must be set") {
		t.Errorf("no environment: %v", err)
	}
}

func TestStatement(t *testing.T) {
	got, err := statement([]byte(`{"spdxVersion":"SPDX-2.3","packages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","packages":[]}}`
	if string(got) != want {
		t.Errorf("statement\n %s\nwant\n %s", got, want)
	}
	if _, err := statement([]byte("not json")); err == nil {
		t.Error("a document that is not JSON is wrapped")
	}
}

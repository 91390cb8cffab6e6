package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoImages returns the states of images api and worker pushing to their
// own repositories through one registry; worker is over its size budget
// when failWorker, so its verify fails.
func twoImages(t *testing.T, failWorker bool) ([]*State, *fakeRegistry, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	reg := pushedRegistry("gzip")
	reg.index.MediaType, reg.index.Size = "application/vnd.oci.image.index.v1+json", 700
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	var states []*State
	for _, name := range []string{"api", "worker"} {
		cfg := pushConfig()
		cfg.Image = "registry.example.com/team/" + name
		if name == "worker" && failWorker {
			cfg.SizeBudget = "1KB"
		}
		h := newHarness(t, cfg)
		h.state.Registry = reg
		h.state.Options.Target = name
		h.state.Out, h.state.Err = out, errOut
		h.state.Log = &TextLogger{W: errOut, Prefix: "[" + name + "] "}
		states = append(states, h.state)
	}
	return states, reg, out, errOut
}

// One image failing verify leaves the other tagged, and the error and
// the reports name which is which.
func TestRunTargetsOneFailureTagsTheOthers(t *testing.T) {
	states, reg, _, errOut := twoImages(t, true)
	md := filepath.Join(t.TempDir(), "metadata.json")
	err := RunTargets(context.Background(), states, TargetsOptions{Report: "table", MetadataFile: md, Out: states[0].Out, Err: errOut})
	if err == nil || !strings.HasPrefix(err.Error(), "image worker: verify: ") || strings.Contains(err.Error(), "image api") {
		t.Fatalf("err = %v", err)
	}
	if reg.tags["registry.example.com/team/api:1.0"] != indexDigest || len(reg.tags) != 1 {
		t.Errorf("tags = %v, want api's only", reg.tags)
	}
	for _, want := range []string{"\n== image api\n\nPublished registry.example.com/team/api:1.0\n", "\n== image worker\n\nNOT published: the index " + indexDigest,
		"[worker] • verifying the pushed index in the registry"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// the metadata file is bake's: one buildx metadata object per image that succeeded
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["api"]["containerimage.digest"] != indexDigest || got["api"]["image.name"] != "registry.example.com/team/api:1.0" {
		t.Errorf("metadata = %s", data)
	}
}

// With --all-or-nothing, the verified image waits and is not tagged
// either; the JSON report holds both images.
func TestRunTargetsAllOrNothing(t *testing.T) {
	states, reg, out, errOut := twoImages(t, true)
	err := RunTargets(context.Background(), states, TargetsOptions{AllOrNothing: true, Report: "json", Out: out, Err: errOut})
	if err == nil || !strings.Contains(err.Error(), "image api: publish: not tagged: image worker failed, and --all-or-nothing tags no image unless every one is verified") {
		t.Fatalf("err = %v", err)
	}
	if len(reg.tags) != 0 {
		t.Errorf("tags written: %v", reg.tags)
	}
	var rep TargetsReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Images) != 2 || rep.Images[0].Name != "api" || rep.Images[0].Published || rep.Images[1].Name != "worker" || rep.Images[1].Published ||
		!strings.Contains(rep.Images[0].Error, "not tagged") {
		t.Errorf("report = %+v", rep)
	}

	// all verified: all tagged
	states, reg, out, errOut = twoImages(t, false)
	if err := RunTargets(context.Background(), states, TargetsOptions{AllOrNothing: true, Report: "table", Out: out, Err: errOut}); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if len(reg.tags) != 2 {
		t.Errorf("tags = %v", reg.tags)
	}
	if got := out.String(); got != "registry.example.com/team/api@"+indexDigest+"\nregistry.example.com/team/worker@"+indexDigest+"\n" {
		t.Errorf("stdout = %q", got)
	}
}

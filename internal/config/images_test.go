package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const imagesFile = `image: registry.example.com/team/app
tags: [dev]
compression: zstd
build-args:
  VERSION: "1"
  Mode: file
images:
  - name: api
    image: registry.example.com/team/api
    context: services/api
    build-args:
      Mode: api
  - name: worker
    image: registry.example.com/team/worker
    dockerfile: services/worker/Dockerfile.worker
    platforms: linux/arm64
    target: run
    size-budget: 10MB
`

// Each image is the file's keys with its entry's on top: paths relative to
// the file, a context's own Dockerfile, build-args merged (case kept), the
// other keys shared.
func TestImageConfigs(t *testing.T) {
	dir := inEmptyDir(t)
	file := writeFile(t, dir, "proj/xbuild.yaml", imagesFile)
	lc, err := Load(Sources{ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lc.ImageConfigs(nil)
	if err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "proj")
	type view struct {
		Name, Image, Context, Dockerfile, Target, SizeBudget, Compression string
		Tags, Platforms                                                   []string
		BuildArgs                                                         map[string]string
	}
	var views []view
	for _, c := range got {
		views = append(views, view{c.Name, c.Image, c.Context, c.Dockerfile, c.Target, c.SizeBudget, c.Compression, c.Tags, c.Platforms, c.BuildArgs})
	}
	want := []view{
		{"api", "registry.example.com/team/api", proj + "/services/api", proj + "/services/api/Dockerfile", "", "", "zstd",
			[]string{"dev"}, []string{"linux/amd64", "linux/arm64"}, map[string]string{"VERSION": "1", "Mode": "api"}},
		// no context key anywhere in the file: the default, ".", as for one image
		{"worker", "registry.example.com/team/worker", ".", proj + "/services/worker/Dockerfile.worker", "run", "10MB", "zstd",
			[]string{"dev"}, []string{"linux/arm64"}, map[string]string{"VERSION": "1", "Mode": "file"}},
	}
	if !reflect.DeepEqual(views, want) {
		t.Errorf("images =\n  %+v\nwant\n  %+v", views, want)
	}

	// --only picks by name
	only, err := lc.ImageConfigs([]string{"worker"})
	if err != nil || len(only) != 1 || only[0].Name != "worker" {
		t.Errorf("--only worker: %+v, %v", only, err)
	}
}

// Flags and variables win over an image's entry, as over the rest of the
// file.
func TestImageConfigsFlagsWin(t *testing.T) {
	dir := inEmptyDir(t)
	file := writeFile(t, dir, "xbuild.yaml", imagesFile)
	lc, err := Load(Sources{ConfigFile: file, Getenv: envOf(map[string]string{"XBUILD_PLATFORMS": "linux/amd64"}),
		Flags: []Flag{{Key: "tags", Name: "tag", Values: []string{"1.2.3"}}}, BuildArgs: []string{"Mode=flag"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lc.ImageConfigs(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if fmt.Sprint(c.Platforms) != "[linux/amd64]" || fmt.Sprint(c.Refs()) != "["+c.Image+":1.2.3]" || c.BuildArgs["Mode"] != "flag" {
			t.Errorf("%s: platforms %v refs %v Mode=%s", c.Name, c.Platforms, c.Refs(), c.BuildArgs["Mode"])
		}
	}
}

func TestImageConfigsErrors(t *testing.T) {
	tests := []struct {
		name, file string
		only       []string
		push       bool
		want       []string
	}{
		{name: "names", file: "images:\n  - image: r/a\n  - name: 'a b'\n  - name: x\n  - name: x\n",
			want: []string{"images[0] (from FILE): name: every image needs a name", `images[1] (from FILE): name: "a b" is not a usable name`, `images[3] (from FILE): name: "x" is used twice`}},
		{name: "an unknown --only", file: "images:\n  - name: api\n", only: []string{"web"},
			want: []string{"--only web: no image of that name in FILE (images: api)"}},
		{name: "an invalid value names the image and the file", file: "images:\n  - name: api\n    platforms: [amd64]\n    size-budget: lots\n",
			want: []string{`image api: platforms (from FILE): platform "amd64" has no OS`, "image api: size-budget (from FILE):"}},
		{name: "two images on one tag", file: "image: r.example/app\ntags: [1]\nimages:\n  - name: a\n  - name: b\n", push: true,
			want: []string{"images a and b would both be tagged r.example/app:1: give each image its own image: (repository)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			file := writeFile(t, dir, "xbuild.yaml", tc.file)
			src := Sources{ConfigFile: file}
			if tc.push {
				src.Flags = []Flag{{Key: "push", Name: "push", Values: []string{"true"}}}
			}
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = lc.ImageConfigs(tc.only)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), strings.ReplaceAll(w, "FILE", file)) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	inEmptyDir(t)
	lc, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.ImageConfigs([]string{"api"}); err == nil || !strings.Contains(err.Error(), "--only api: there is no images list in the config (no xbuild.yaml was found)") {
		t.Errorf("--only without a list: %v", err)
	}
}

// The file check names a bad images list by line; the variable is refused.
func TestImagesFileCheck(t *testing.T) {
	tests := []struct{ file, want string }{
		{"images: api\n", `f.yaml:1: key "images": want a list of images`},
		{"images:\n  - api\n", "f.yaml:2: images[0]: want a mapping with name:"},
		{"images:\n  - name: api\n    compression: zstd\n", `f.yaml:3: images[0]: unknown key "compression" (an image sets build-args, context, dockerfile, image, name, platforms, size-budget, tags, target; the other keys are set once, at the top of the file)`},
		{"images:\n  - name: api\n    tags: {a: b}\n", `f.yaml:3: images[0]: key "tags": want a list of strings`},
	}
	for _, tc := range tests {
		err := CheckBytes("f.yaml", []byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.file, err, tc.want)
		}
	}
	inEmptyDir(t)
	_, err := Load(Sources{Getenv: envOf(map[string]string{"XBUILD_IMAGES": "api"})})
	if err == nil || !strings.Contains(err.Error(), "XBUILD_IMAGES: the images list is set in xbuild.yaml only") {
		t.Errorf("XBUILD_IMAGES: %v", err)
	}
}

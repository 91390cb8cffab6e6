package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// push-by-digest implies push (naming its own source), digest-file in the
// file is relative to the file, and digest-file alone is a problem.
func TestLoadPushByDigest(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		env        map[string]string
		flags      []Flag
		push       bool
		pushSource string
		digestFile string // {dir} is the file's directory
		problem    string
	}{
		{name: "flag implies push", flags: []Flag{{Key: "push-by-digest", Name: "push-by-digest", Values: []string{"true"}}, {Key: "tags", Name: "tag", Values: []string{"r.example/app"}}},
			push: true, pushSource: "--push-by-digest"},
		{name: "file, digest-file next to it", file: "image: r.example/app\npush-by-digest: true\ndigest-file: out/digests.json\n",
			push: true, pushSource: "{file}", digestFile: "{dir}/out/digests.json"},
		{name: "variable", env: map[string]string{"XBUILD_PUSH_BY_DIGEST": "true", "XBUILD_IMAGE": "r.example/app", "XBUILD_DIGEST_FILE": "d.json"},
			push: true, pushSource: "XBUILD_PUSH_BY_DIGEST", digestFile: "d.json"},
		{name: "explicit push stays its own source", file: "image: r.example/app\npush: true\npush-by-digest: true\n", push: true, pushSource: "{file}"},
		{name: "digest-file without push-by-digest", file: "digest-file: d.json\n", pushSource: "default", digestFile: "{dir}/d.json",
			problem: "digest-file (from {file}): is written by a push-by-digest build only"},
		{name: "no repository", flags: []Flag{{Key: "push-by-digest", Name: "push-by-digest", Values: []string{"true"}}},
			push: true, pushSource: "--push-by-digest", problem: "push (from --push-by-digest): nothing to push to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := inEmptyDir(t)
			src := Sources{Getenv: envOf(tc.env), Flags: tc.flags}
			path := ""
			if tc.file != "" {
				path = writeFile(t, filepath.Join(dir, "sub"), FileName, tc.file)
				src.ConfigFile = path
			}
			r := strings.NewReplacer("{file}", path, "{dir}", filepath.Dir(path))
			lc, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			if lc.Push != tc.push || lc.Source("push") != r.Replace(tc.pushSource) || lc.DigestFile != r.Replace(tc.digestFile) {
				t.Errorf("push %v (from %s), digest-file %q", lc.Push, lc.Source("push"), lc.DigestFile)
			}
			err = lc.Validate()
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), r.Replace(tc.problem))):
				t.Errorf("Validate: %v, want %q", err, r.Replace(tc.problem))
			}
		})
	}
}

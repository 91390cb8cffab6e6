package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck feeds Check arbitrary Dockerfiles: it must never panic, and
// every finding must carry a rule, a known source and a line >= 1.
func FuzzCheck(f *testing.F) {
	for _, glob := range []string{"testdata/*/Dockerfile", "testdata/*/*.Dockerfile"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fd := range Check("Dockerfile", data, Env{BuildArgs: map[string]string{"TARGETOS": "linux"}}) {
			if fd.Rule == "" || fd.Line < 1 || fd.Message == "" {
				t.Fatalf("bad finding %+v", fd)
			}
			switch fd.Source {
			case SourceXbuild, SourceBuildKit:
			default:
				t.Fatalf("bad source %+v", fd)
			}
		}
	})
}

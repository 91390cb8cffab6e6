package depcheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rules: an import path (exact, or a prefix when subpackages is set), and
// the only directories (relative to the repository root) whose non-test Go
// files may import it.
var rules = []struct {
	prefix      string
	subpackages bool
	allowed     []string
}{
	{"github.com/docker/buildx", true, []string{"internal/engine"}},
	{"github.com/docker/cli", true, []string{"internal/engine"}},
	{"github.com/moby/moby", true, []string{"internal/engine"}},
	// the gRPC client; lint may use BuildKit's offline Dockerfile/LLB packages
	{"github.com/moby/buildkit/client", false, []string{"internal/engine"}},
	// buildx's command tree is a cobra tree: the engine sets its context hook
	{"github.com/spf13/cobra", true, []string{"cmd", "hack/gendocs", "internal/engine"}},
	// the config loader layers flags, environment and file with viper;
	// cmd maps its flags to plain config.Sources
	{"github.com/spf13/viper", true, []string{"internal/config"}},
	{"github.com/go-viper/mapstructure", true, []string{"internal/config"}},
	// the engine lists buildx build's flags (BuildxBuildFlags) for the
	// compatibility table's test
	{"github.com/spf13/pflag", true, []string{"cmd", "internal/engine"}},
}

// TestPackageBoundaries keeps buildx, docker/cli and the BuildKit client
// inside internal/engine (their Go APIs change between releases; argument
// lists do not), cobra and pflag inside cmd, and viper inside
// internal/config.
func TestPackageBoundaries(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "examples", "dist", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		dir := filepath.ToSlash(filepath.Dir(rel))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, r := range rules {
				if p != r.prefix && !(r.subpackages && strings.HasPrefix(p, r.prefix+"/")) {
					continue
				}
				ok := false
				for _, a := range r.allowed {
					if dir == a || strings.HasPrefix(dir, a+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s; only %v may", rel, p, r.allowed)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files checked: is the walk rooted right?", checked)
	}
}

package depcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// apiForbidden are the libraries whose types must not appear in the
// exported API of the packages below cmd: a caller of internal/config gets
// plain Go values, whatever internal/config uses to load them.
var apiForbidden = []string{
	"github.com/spf13/viper",
	"github.com/spf13/pflag",
	"github.com/spf13/cobra",
	"github.com/go-viper/mapstructure",
}

// TestConfigAPIHasNoLibraryTypes keeps viper, pflag, cobra and mapstructure
// out of internal/config's exported declarations.
func TestConfigAPIHasNoLibraryTypes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "config", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, leak := range apiLeaks(fset, f, apiForbidden) {
			t.Error(leak)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d files of internal/config checked: is the path right?", checked)
	}
}

// The check itself: every way an exported declaration can carry a foreign
// type is reported, and unexported uses are not.
func TestAPILeaks(t *testing.T) {
	const src = `package p

import (
	"bytes"
	"github.com/spf13/viper"
	ms "github.com/go-viper/mapstructure/v2"
)

type Exported struct {
	V       *viper.Viper
	hidden  *viper.Viper
	*viper.Viper
	Buf     bytes.Buffer
}

type hiddenType struct{ V *viper.Viper }

func (hiddenType) Exported() *viper.Viper { return nil }

func (Exported) Method(h ms.DecodeHookFunc) {}

func (Exported) method(h ms.DecodeHookFunc) {}

func New() (*viper.Viper, error) { return nil, nil }

func private() *viper.Viper { return nil }

var Global = viper.New()

var local = viper.New()

type Alias = viper.Viper

type Iface interface{ Get() viper.Viper }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := apiLeaks(fset, f, apiForbidden)
	want := []string{
		"p.go:10: Exported uses viper.Viper",
		"p.go:12: Exported uses viper.Viper",
		"p.go:20: Exported.Method uses ms.DecodeHookFunc",
		"p.go:24: New uses viper.Viper",
		"p.go:28: Global uses viper.New",
		"p.go:32: Alias uses viper.Viper",
		"p.go:34: Iface uses viper.Viper",
	}
	if !slices.Equal(got, want) {
		t.Errorf("leaks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// apiLeaks returns "file:line: Name uses pkg.Sel" for every reference to a
// package in forbidden (or below it) from an exported declaration of f.
func apiLeaks(fset *token.FileSet, f *ast.File, forbidden []string) []string {
	names := map[string]bool{} // local names of the forbidden imports
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !slices.ContainsFunc(forbidden, func(fb string) bool { return p == fb || strings.HasPrefix(p, fb+"/") }) {
			continue
		}
		if imp.Name != nil {
			names[imp.Name.Name] = true
		} else {
			names[packageName(p)] = true
		}
	}
	var out []string
	check := func(decl string, n ast.Node) {
		if n == nil {
			return
		}
		ast.Inspect(n, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] {
					out = append(out, fmt.Sprintf("%s:%d: %s uses %s.%s", filepath.Base(fset.Position(sel.Pos()).Filename), fset.Position(sel.Pos()).Line, decl, id.Name, sel.Sel.Name))
				}
			}
			return true
		})
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) > 0 {
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				name = recv + "." + name
			}
			if d.Name.IsExported() {
				check(name, d.Type)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					st, ok := s.Type.(*ast.StructType)
					if !ok {
						check(s.Name.Name, s.Type)
						continue
					}
					for _, fl := range st.Fields.List {
						embedded := len(fl.Names) == 0
						if embedded || slices.ContainsFunc(fl.Names, (*ast.Ident).IsExported) {
							check(s.Name.Name, fl.Type)
						}
					}
				case *ast.ValueSpec:
					if !slices.ContainsFunc(s.Names, (*ast.Ident).IsExported) {
						continue
					}
					check(s.Names[0].Name, s.Type)
					for _, v := range s.Values {
						check(s.Names[0].Name, v)
					}
				}
			}
		}
	}
	return out
}

// receiverName is the type name of a method receiver (T, *T, T[P]).
func receiverName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// packageName guesses an import's package name from its path, the way Go
// code is written: the last element, without a /vN major version or a
// gopkg.in .vN suffix.
func packageName(path string) string {
	elems := strings.Split(path, "/")
	last := elems[len(elems)-1]
	if majorVersion.MatchString(last) && len(elems) > 1 {
		last = elems[len(elems)-2]
	}
	if i := strings.Index(last, ".v"); i > 0 {
		last = last[:i]
	}
	return last
}

// Package conventions checks rules of the code base that no compiler checks: no
// exported package variable (global mutable state) in product code, and comments that
// explain the code in its own terms instead of pointing at documents outside the
// repository.
package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the module root, two levels up from this package.
const root = "../.."

// goFiles lists the repository's Go files (not .git, not testdata).
func goFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "node_modules", ".demo-data", "dist":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 200 {
		t.Fatalf("only %d Go files found under %s", len(out), root)
	}
	return out
}

// Product code has no exported package variables: a value other packages could replace
// is global mutable state. Constants, functions and constant errors (a string type with
// an Error method) say the same without it. Test files and the e2e tree may.
func TestNoExportedPackageVariables(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range goFiles(t) {
		rel, _ := filepath.Rel(root, p)
		if strings.HasSuffix(p, "_test.go") || strings.HasPrefix(rel, "e2e"+string(filepath.Separator)) {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.IsExported() {
						t.Errorf("%s: exported package variable %s (make it a constant, a function or unexported)", fset.Position(n.Pos()), n.Name)
					}
				}
			}
		}
	}
}

// refersOutside matches a comment that points at a document outside the repository: a
// numbered issue or requirement, the issue text ("the seed"), the shared notes.
var refersOutside = regexp.MustCompile(`(?i)\bissue[ -]?#?\d|\brequirement \d+ of\b|\(requirement \d+\)|\breq\. \d|the seed's|\.\./shared|shared/reference`)

// Comments explain the code in its own terms: none points at an issue, a requirement
// number or the shared notes, which a reader of the repository does not have.
func TestCommentsSelfContained(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range goFiles(t) {
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if m := refersOutside.FindString(c.Text); m != "" {
					t.Errorf("%s: comment refers to a document outside the repository (%q): %s", fset.Position(c.Pos()), m, c.Text)
				}
			}
		}
	}
}

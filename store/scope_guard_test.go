package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// orgOwnedSQL matches SQL that reads or writes an org-owned table, or
// names its table at run time (a literal ending in FROM, JOIN, UPDATE or
// INTO, the name concatenated after it).
var orgOwnedSQL = regexp.MustCompile(`(?is)\b(FROM|JOIN|UPDATE|INTO)\s+(assets|nodes|groups|grants|filters|login_rules|tickets|sessions|operations|account_templates|automation_jobs|accounts|command_events|transfer_events)\b|\b(FROM|JOIN|UPDATE|INTO)\s*$`)

// scopeCalls are the calls that limit a query to the store's scope.
var scopeCalls = map[string]bool{"orgCond": true, "historyCond": true, "writeOrg": true, "InOrg": true, "ScopeOrg": true}

// pendingScope lists the functions still being moved to scoped queries,
// as "file:Func" (methods by their name alone). The list only shrinks:
// the test fails for an entry that is scoped now, so that it is taken out.
var pendingScope = map[string]bool{}

// TestEveryOrgOwnedQueryIsScoped walks the store's source: a function
// whose SQL touches an org-owned table must call orgCond or writeOrg
// (or say "unscoped: why" in its doc comment), so that no query reaches
// across organizations by accident.
func TestEveryOrgOwnedQueryIsScoped(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed, names = append(parsed, file), append(names, f)
	}
	owned := orgOwnedConsts(parsed)
	var bad []string
	seen := map[string]bool{}
	for i, file := range parsed {
		f := names[i]
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			key := f + ":" + fn.Name.Name
			seen[key] = true
			if !touchesOrgOwned(fn.Body, owned) || callsScope(fn.Body) || saysUnscoped(fn.Doc) {
				if pendingScope[key] {
					t.Errorf("%s is scoped now: take it out of pendingScope", key)
				}
				continue
			}
			if !pendingScope[key] {
				bad = append(bad, key)
			}
		}
	}
	for k := range pendingScope {
		if !seen[k] {
			t.Errorf("pendingScope names %s, which is gone: take it out", k)
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("%s queries org-owned rows without the store's scope (s.orgCond / s.writeOrg), and its doc comment gives no \"unscoped:\" reason", b)
	}
}

// orgOwnedConsts names the package-level constants and variables whose
// string value is SQL touching an org-owned table.
func orgOwnedConsts(files []*ast.File) map[string]bool {
	out := map[string]bool{}
	for _, file := range files {
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || (gd.Tok != token.CONST && gd.Tok != token.VAR) {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, v := range vs.Values {
					if i < len(vs.Names) && exprTouches(v, out) {
						out[vs.Names[i].Name] = true
					}
				}
			}
		}
	}
	return out
}

func touchesOrgOwned(body *ast.BlockStmt, owned map[string]bool) bool {
	return exprTouches(body, owned)
}

func exprTouches(node ast.Node, owned map[string]bool) bool {
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING && orgOwnedSQL.MatchString(x.Value[1:len(x.Value)-1]) {
				found = true
			}
		case *ast.Ident:
			if owned[x.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

func callsScope(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && scopeCalls[sel.Sel.Name] {
			found = true
		}
		return !found
	})
	return found
}

func saysUnscoped(doc *ast.CommentGroup) bool {
	return doc != nil && strings.Contains(doc.Text(), "unscoped:")
}

package telemetry

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// TestDocsListEveryName keeps docs/telemetry.md true: every span, event,
// metric and attribute name declared as a constant in this package must
// appear on that page.
func TestDocsListEveryName(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "telemetry.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names int
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				for _, v := range spec.(*ast.ValueSpec).Values {
					s, ok := stringValue(v)
					if !ok || s == ScopeName || !strings.Contains(s, ".") {
						continue // not a telemetry name (e.g. a token type value)
					}
					names++
					if !strings.Contains(string(doc), "`"+s+"`") {
						t.Errorf("%s: %q is not documented in docs/telemetry.md", fset.Position(v.Pos()), s)
					}
				}
			}
		}
	}
	if names < 40 {
		t.Fatalf("found only %d names; is the parser looking at the right files?", names)
	}
}

// stringValue returns the string of a literal or of attribute.Key("...").
func stringValue(e ast.Expr) (string, bool) {
	if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
		e = c.Args[0]
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func TestDisabled(t *testing.T) {
	if Resolve().Disabled() {
		t.Error("the global providers count as disabled")
	}
	p := Resolve(WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
	if !p.Disabled() {
		t.Error("explicit no-op providers do not count as disabled")
	}
	if Resolve(WithTracerProvider(tracenoop.NewTracerProvider())).Disabled() {
		t.Error("a no-op tracer with the global meter counts as disabled")
	}
}

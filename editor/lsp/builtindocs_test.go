package lsp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/runtime/templates"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// TestBuiltinDocsMatchTheBuiltins keeps the hand-written table honest:
// every builtin that is not an operator is documented, every documented
// builtin is predeclared, and every keyword it documents
// is one the real builtin accepts (a call with it alone may fail for
// another reason, never for an unexpected keyword).
func TestBuiltinDocsMatchTheBuiltins(t *testing.T) {
	specs := stdlib.Specs()
	names := builtins.Names(specs...)
	l := loader.New(loader.Options{Operators: specs})
	for _, name := range names {
		if _, ok := builtinDocs[name]; !ok && !slices.ContainsFunc(specs, func(s operators.Spec) bool { return s.Kind == name }) {
			t.Errorf("the builtin %s has no entry in builtinDocs: hover and completion show nothing for it", name)
		}
	}
	for name, doc := range builtinDocs {
		if !slices.Contains(names, name) {
			t.Errorf("builtinDocs documents %s, which is not a builtin", name)
			continue
		}
		for _, kw := range doc.keywords {
			// Called inside a DAG's build, where task builtins belong.
			src := fmt.Sprintf("def build():\n    %s(%s = None)\n\ndag(dag_id = \"d\", build = build)\n", name, kw)
			f := l.Load(context.Background(), loader.BundleSource("", map[string]string{"d.star": src}), "d.star")
			for _, e := range f.Errors {
				if strings.Contains(e.Message, "unexpected keyword") || strings.Contains(e.Message, "did you mean") {
					t.Errorf("builtinDocs gives %s the keyword %s, which it refuses: %s", name, kw, e.Message)
				}
			}
		}
	}
}

// TestTemplateDocsMatchTheContext keeps templateDocs equal to the names
// of the context templates are rendered with.
func TestTemplateDocsMatchTheContext(t *testing.T) {
	c := &operators.Call{}
	c.Run.LogicalDate = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	names := slices.Sorted(maps.Keys(templates.NewRenderer(c).Context(context.Background())))
	if documented := slices.Sorted(maps.Keys(templateDocs)); !slices.Equal(names, documented) {
		t.Errorf("templateDocs documents %v; the template context has %v", documented, names)
	}
}

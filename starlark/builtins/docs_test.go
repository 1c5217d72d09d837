package builtins_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// authoringDoc is the reference of the authoring API.
var authoringDoc = filepath.Join("..", "..", "docs", "authoring.md")

// TestDocsCoverEveryBuiltin fails when a builtin has no section in
// docs/authoring.md.
func TestDocsCoverEveryBuiltin(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(authoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			headings = append(headings, line)
		}
	}
	for name := range builtins.Universe(shippedSpecs()...) {
		found := false
		for _, h := range headings {
			if strings.Contains(h, "`"+name+"`") {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/authoring.md has no section for builtin %s", name)
		}
	}
}

// TestDocExamplesLoad loads every ```python block of docs/authoring.md as
// a DAG file: each must load without errors and define a DAG.
func TestDocExamplesLoad(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(authoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	examples, modules := codeBlocks(string(doc))
	if len(examples) < 10 {
		t.Fatalf("found only %d examples in %s", len(examples), authoringDoc)
	}
	l := loader.New(loader.Options{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators:      shippedSpecs(),
		RuntimeModules: call.Modules(),
	})
	for i, ex := range examples {
		t.Run(fmt.Sprintf("example_%d_line_%d", i+1, ex.line), func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"example.star": ex.code}
			for p, c := range modules {
				files[p] = c
			}
			f := l.Load(context.Background(), loader.BundleSource("", files), "example.star")
			for _, e := range f.Errors {
				t.Errorf("authoring.md:%d: example: %s: %s", ex.line, e.Pos, e.Message)
			}
			if f.OK() && len(f.DAGs) == 0 {
				t.Errorf("authoring.md:%d: example defines no DAG", ex.line)
			}
		})
	}
}

// shippedSpecs are the specs of the operators cmd/starflow registers.
func shippedSpecs() []operators.Spec {
	return stdlib.Specs()
}

type example struct {
	line int
	code string
}

// codeBlocks returns the ```python blocks of a Markdown text, and the
// modules it shows: a ```text block right after a line "with `path`:".
func codeBlocks(doc string) (examples []example, modules map[string]string) {
	modules = map[string]string{}
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			continue
		}
		start := i + 1
		j := start
		for j < len(lines) && lines[j] != "```" {
			j++
		}
		code := strings.Join(lines[start:j], "\n") + "\n"
		switch {
		case lang == "python":
			examples = append(examples, example{line: start + 1, code: code})
		case lang == "text" && i >= 2 && strings.HasPrefix(lines[i-2], "with `"):
			path := strings.TrimSuffix(strings.TrimPrefix(lines[i-2], "with `"), "`:")
			modules[path] = code
		}
		i = j
	}
	return examples, modules
}

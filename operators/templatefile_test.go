package operators_test

import (
	"context"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// sources is a FunctionRunner that gives a DAG version's source files.
type sources map[string]string

func (sources) CallFunction(context.Context, *operators.Call, string, []any, map[string]any) (any, error) {
	return nil, nil
}

func (s sources) SourceFiles(context.Context, *operators.Call) (map[string]string, error) {
	return s, nil
}

// marker is a Renderer that marks what it rendered.
type marker struct{}

func (marker) Render(_ context.Context, s string) (string, error) { return "R(" + s + ")", nil }

// TestTemplateFileRendered checks that a parameter the loader recorded as
// a template file is replaced by the file's contents, from the DAG
// version, before it is rendered, by RenderArg and Args.Render alike; a
// file missing from the version fails the try without retries.
func TestTemplateFileRendered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	task := dags.NewTask("t", "probe", dags.Pos{})
	task.Config = map[string]any{"url": "q.sql", operators.TemplateFilesKey: map[string]any{"url": "etl/q.sql"}}
	c := &operators.Call{Task: task, Renderer: marker{}, Functions: sources{"etl/q.sql": "SELECT {{ ds }}"}}

	got, err := c.RenderArg(ctx, "url", "q.sql")
	if err != nil || got != "R(SELECT {{ ds }})" {
		t.Fatalf("RenderArg = %q, %v; want the file's contents rendered", got, err)
	}
	if got, err := c.RenderArg(ctx, "other", "x.sql"); err != nil || got != "R(x.sql)" {
		t.Errorf("RenderArg of a parameter with no file = %q, %v", got, err)
	}
	spec := testSpec()
	args, err := spec.Args(task.Config)
	if err != nil {
		t.Fatalf("Args: %v", err)
	}
	if err := args.Render(ctx, c); err != nil {
		t.Fatalf("Render: %v", err)
	}
	if got := args.String("url"); got != "R(SELECT {{ ds }})" {
		t.Errorf("Args.Render url = %q, want the file's contents rendered", got)
	}

	c.Functions = sources{}
	_, err = c.RenderArg(ctx, "url", "q.sql")
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "template file etl/q.sql is not part of this DAG version") {
		t.Errorf("missing file: err = %v, want a Fail naming the file", err)
	}
}

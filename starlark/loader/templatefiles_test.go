package loader_test

import (
	"context"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// TestTemplateFiles checks Airflow's template_ext when a DAG file is
// loaded: a bash_command or sql ending in .sh/.bash/.sql is a file of the
// DAG file's folder or of template_searchpath, read into the DAG version
// and recorded in the task's config; a value with a trailing space is not
// a file; a missing file or a search path outside the DAG folder is an
// error at the call's position.
func TestTemplateFiles(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: discardLogger(), Operators: stdlib.Specs()})
	files := map[string]string{
		"etl/etl.star": `def build():
    bash(task_id = "local", bash_command = "run.sh")
    sql(task_id = "query", sql = "q.sql", conn_id = "pg")
    bash(task_id = "direct", bash_command = "missing.sh ")
dag(dag_id = "etl", build = build, template_searchpath = "//queries")
`,
		"etl/run.sh":       "echo {{ ds }}",
		"queries/q.sql":    "SELECT '{{ ds }}'",
		"etl/missing.star": "def build():\n    bash(task_id = \"t\", bash_command = \"gone.bash\")\ndag(dag_id = \"m\", build = build)\n",
		"etl/out.star":     "def build():\n    pass\ndag(dag_id = \"o\", build = build, template_searchpath = \"../..\")\n",
	}
	src := loader.BundleSource("", files)
	f := l.Load(context.Background(), src, "etl/etl.star")
	if len(f.Errors) != 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	want := map[string]string{"local": "etl/run.sh", "query": "queries/q.sql"}
	for id, p := range want {
		m, _ := d.Task(id).Config[operators.TemplateFilesKey].(map[string]any)
		key := "bash_command"
		if id == "query" {
			key = "sql"
		}
		if m[key] != p {
			t.Errorf("task %s: template files %v, want %s: %s", id, m, key, p)
		}
		if f.Sources[p] != files[p] {
			t.Errorf("the DAG version lacks %s: %v", p, f.Sources)
		}
	}
	if _, ok := d.Task("direct").Config[operators.TemplateFilesKey]; ok {
		t.Errorf("a value with a trailing space was taken as a file")
	}

	for _, tt := range []struct{ file, want string }{
		{"etl/missing.star", `etl/missing.star:2:9: bash: bash_command: template file "gone.bash" not found in etl (the DAG file's folder, then template_searchpath)`},
		{"etl/out.star", `etl/out.star:3:4: dag: for parameter template_searchpath: "../.." is not a folder inside the DAG folder`},
	} {
		f := l.Load(context.Background(), src, tt.file)
		errs, _ := format(f.Errors)
		if len(errs) != 1 || !strings.HasPrefix(errs[0], tt.want) {
			t.Errorf("%s: errors %q, want one starting %q", tt.file, errs, tt.want)
		}
	}
}

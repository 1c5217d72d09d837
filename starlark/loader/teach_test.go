package loader_test

import (
	"context"
	"testing"

	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// TestTeachWithOperators checks the teaching messages that name operator
// builtins, with the operators cmd/starflow ships: each names only
// builtins that exist, and "did you mean" finds predeclared names.
func TestTeachWithOperators(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: discardLogger(), Operators: stdlib.Specs()})
	tests := []struct{ src, want string }{
		{"from airflow.operators.python import PythonOperator, ExternalPythonOperator\n",
			"f.star:1:1: Starlark has no import: Airflow's PythonOperator is the builtin task (a Starlark function; python runs a function of a .py file); Airflow's ExternalPythonOperator is the builtin python (nothing to import)"},
		{"import airflow\n",
			`f.star:1:1: Starlark has no import: Airflow's operators are predeclared builtins (dag, bash, python, task, empty, http, sql, branch, ...); load your own .star modules with load("//lib/file.star", "name")`},
		{"from airflow.models.baseoperator import BaseOperator\n",
			"f.star:1:1: Starlark has no import: Airflow's operators are predeclared builtins (dag, bash, python, task, empty, http, sql, branch, ...)"},
		{"from lib.clean import clean\n",
			`f.star:1:1: Starlark has no import: for a .star module of the DAG folder write load("//lib/clean.star", "clean"); code that needs Python libraries goes in a .py file run with python(...)`},
		{"@task.external_python(python = \"/venv/bin/python\")\ndef f():\n    pass\n",
			`f.star:1:1: Starlark has no decorators: put the function in a .py file and run it with python(task_id = "...", python_callable = "file.py:fn", python = "/path/to/venv/bin/python")`},
		{"@task.virtualenv(requirements = [\"pandas\"], system_site_packages = False)\ndef f():\n    pass\n",
			`f.star:1:1: Starlark has no decorators: put the function in a .py file and run it in a virtualenv made for the task with python(task_id = "...", python_callable = "file.py:fn", requirements = ["pandas"])`},
		{"@task.branch_virtualenv(requirements = [])\ndef f():\n    pass\n",
			`f.star:1:1: Starlark has no decorators: put the function in a .py file and run it in a virtualenv made for the task with python(task_id = "...", python_callable = "file.py:fn", requirements = ["pandas"], branch = True)`},
		{"@task.branch\ndef f():\n    pass\n",
			`f.star:1:1: Starlark has no decorators: define the function, then create the task inside the DAG's build function with task.branch(fn) (or branch(fn))`},
		{"@mystery\ndef f():\n    pass\n",
			`f.star:1:1: Starlark has no decorators: define the function, then pass it to a builtin inside the DAG's build function, e.g. task(fn)`},
		{"class Op(BaseOperator):\n    pass\n",
			"f.star:1:1: Starlark has no classes: use functions and dicts; for a custom operator write a task function and run it with task(fn), or run Python code from a .py file with python(...)"},
		{"x = pythn\n", "f.star:1:5: undefined: pythn (did you mean python?)"},
		{"x = http_sensr\n", "f.star:1:5: undefined: http_sensr (did you mean http_sensor?)"},
		{"x = PythonSensor\n", "f.star:1:5: undefined: PythonSensor (Airflow's PythonSensor is the predeclared builtin python_sensor; nothing to import)"},
		// A name with no close predeclared or global name gets no hint.
		{"x = qwxzvb\n", "f.star:1:5: undefined: qwxzvb"},
		// The resolver's own hint (a global of the file) is kept.
		{"rows_total = 1\nx = rows_totl\n", "f.star:2:5: undefined: rows_totl (did you mean rows_total?)"},
		// An Airflow class Starflow has no builtin for is not mapped.
		{"x = BaseOperator\n", "f.star:1:5: undefined: BaseOperator"},
	}
	for _, tt := range tests {
		f := l.Load(context.Background(), loader.BundleSource("", map[string]string{"f.star": tt.src}), "f.star")
		errs, _ := format(f.Errors)
		if len(errs) != 1 || errs[0] != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.src, errs, tt.want)
		}
	}
}

package call_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

const memorySource = `
def replace_blowup():
    s = "x" * (1 << 22)
    return len(s.replace("x", s))

def join_blowup():
    s = "x" * (1 << 24)
    return len("".join([s] * 64))

def str_blowup():
    a = ["x" * 1000]
    for i in range(40):
        a = [a, a]
    return len(str(a))

def larger_than_a_dag_file_may():
    s = "x" * (1 << 23)
    return len(s.replace("x", "yy"))

def build():
    for fn in [replace_blowup, join_blowup, str_blowup, larger_than_a_dag_file_may]:
        task(fn)

dag(dag_id = "memory", build = build)
`

// TestTaskFunctionsThatExhaustMemoryFailWithTheirPosition: a task function
// that asks for terabytes in one step fails with "memory limit" at its line
// instead of taking the worker (here, the test process) down; a function
// that builds a value larger than a DAG file may, but within the run-time
// budget, still runs.
func TestTaskFunctionsThatExhaustMemoryFailWithTheirPosition(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f := l.Load(context.Background(), loader.BundleSource("dags", map[string]string{"memory.star": memorySource}), "memory.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	_, _, c, _, _ := setup(t)
	c.DAG = f.DAGs[0]
	r := call.New(f)
	for _, tt := range []struct{ key, want string }{
		{"memory/replace_blowup", "dags/memory.star:4:25: memory limit: string of 17592186044416 bytes is larger than the limit of 268435456 for task functions"},
		{"memory/join_blowup", "dags/memory.star:8:23: memory limit: the string would be larger than the limit of 268435456 bytes for task functions"},
		{"memory/str_blowup", "dags/memory.star:14:19: memory limit: the string would be larger than the limit of 268435456 bytes for task functions"},
	} {
		c.Task = f.DAGs[0].Task(strings.TrimPrefix(tt.key, "memory/"))
		_, err := r.CallFunction(context.Background(), c, tt.key, nil, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error = %v\nwant %s", tt.key, err, tt.want)
		}
	}
	c.Task = f.DAGs[0].Task("larger_than_a_dag_file_may")
	got, err := r.CallFunction(context.Background(), c, "memory/larger_than_a_dag_file_may", nil, nil)
	if err != nil || got != int64(1<<24) {
		t.Fatalf("a function within the run-time budget: %v, %v; want %d", got, err, 1<<24)
	}
}

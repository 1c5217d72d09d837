package loader_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// FuzzLoad checks that no input makes the loader panic and that every
// finding has a position and one line. Seeds live in testdata/fuzz/FuzzLoad
// and run with every go test; go test -fuzz=FuzzLoad explores further.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodDAG))
	f.Add([]byte(mappingDAG))
	l := loader.New(loader.Options{MaxSteps: 200_000, Timeout: 2 * time.Second, Logger: discardLogger()})
	f.Fuzz(func(t *testing.T, src []byte) {
		files := map[string]string{
			"f.star":           string(src),
			"lib/helpers.star": "def helper(x):\n    return bash(task_id = x, bash_command = 'true')\nvalue = 1\n",
		}
		file := l.Load(context.Background(), loader.BundleSource("", files), "f.star")
		for _, e := range file.Errors {
			if !e.Pos.IsValid() || e.Pos.File == "" {
				t.Errorf("finding without a position: %+v", e)
			}
			if strings.Contains(e.Message, "internal error") {
				t.Errorf("a panic was recovered: %s: %s", e.Pos, e.Message)
			}
			if strings.Contains(e.Message, "\n") {
				t.Errorf("finding of several lines: %q", e.Message)
			}
			if e.Rule == "" {
				t.Errorf("finding without a rule: %+v", e)
			}
		}
		if len(file.Errors) == 0 {
			for _, d := range file.DAGs {
				if len(d.Finalize()) != 0 {
					t.Errorf("DAG %s returned with findings", d.ID)
				}
			}
		}
	})
}

// mappingDAG seeds the fuzzer with the issue 7 authoring features: mapping,
// partials, datasets and notifiers.
const mappingDAG = `
d = dataset("s3://b/k")

def nums():
    return [1, 2]

def add(x, y = 0):
    return x + y

def build():
    n = task(nums)
    m = task(add).partial(y = 1).expand(x = n.output)
    k = task(add, task_id = "k").expand_kwargs([{"x": 1}, {"x": 2, "y": 3}])
    b = partial(bash, task_id = "b", max_active_tis_per_dag = 2).expand(bash_command = ["echo 1"])
    e = empty(task_id = "e", outlets = [d], on_failure_callback = webhook_notifier("hook", text = "{{ ti.task_id }}"))
    n >> [k, b] >> e

dag(dag_id = "mapped", build = build, schedule = [d], sla_miss_callback = webhook_notifier("hook"))
`

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// mappingSource maps a Starlark task over its upstream's output, a bash
// task over a literal list (one map index fails its first try), and a task
// over nothing.
const mappingSource = `
def numbers():
    return [1, 2, 3]

def add_one(x):
    return x + 1

def double(x):
    return 2 * x

def total(values):
    n = 0
    for v in values:
        n += v
    return n

def build():
    n = task(numbers)
    plus = task(add_one).expand(x = n.output.map(double))
    task(total, args = [plus.output])
    # Mapped values are not templated (as in Airflow); the constant env is.
    flaky = partial(bash, task_id = "flaky", retries = 1, retry_delay = "0s", env = {"MARKER": "{{ params.dir }}/marker"}).expand(
        bash_command = ["echo 'zero {{ ds }}'", "test -f $MARKER || { touch $MARKER; exit 1; }"],
    )
    n >> flaky
    task(add_one, task_id = "nothing").expand(x = []) >> empty(task_id = "after_nothing")

dag(dag_id = "mapping", build = build, schedule = "@once", start_date = "2024-01-01", params = {"dir": "%s"})
`

func TestMappedTasksThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"mapping.star": fmt.Sprintf(mappingSource, t.TempDir())})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "mapping", once)
		if run.State != dags.DagRunStateSuccess {
			t.Errorf("run %s, want success", run.State)
		}
		tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "mapping", RunID: once})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ti := range tis {
			got = append(got, fmt.Sprintf("%s[%d]=%s/%d", ti.TaskID, ti.MapIndex, ti.State, ti.TryNumber))
		}
		want := "add_one[0]=success/1 add_one[1]=success/1 add_one[2]=success/1 after_nothing[-1]=skipped/0 " +
			"flaky[0]=success/1 flaky[1]=success/2 nothing[-1]=skipped/0 numbers[-1]=success/1 total[-1]=success/1"
		if strings.Join(got, " ") != want {
			t.Errorf("task instances:\n got  %s\n want %s", strings.Join(got, " "), want)
		}
		if v := xcom(t, e, "mapping", once, "total", store.ReturnValueKey); v != int64(15) {
			t.Errorf("total = %v (%T), want 15: the sum of the collected [3, 5, 7] (items doubled by output.map, plus one)", v, v)
		}
		log := taskLog(t, e, store.TaskInstanceKey{DagID: "mapping", RunID: once, TaskID: "flaky", MapIndex: 0}, 1)
		if !strings.Contains(log, "zero {{ ds }}") {
			t.Errorf("flaky[0]'s log lacks the output of its own, untemplated command:\n%s", log)
		}
	})
}

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
    # Literal mapped values are templated, as Airflow renders them; so is
    # the constant env.
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
		if !strings.Contains(log, "zero 2024-01-01") {
			t.Errorf("flaky[0]'s log lacks the output of its own command, rendered (a literal mapped value is templated, as in Airflow):\n%s", log)
		}
	})
}

// chainsSource maps over a mapped task's results (the None ones dropped),
// over zips, a concat and map chains, and expand_kwargs over dicts an
// output.map makes; literal mapped templates render, XCom values do not.
const chainsSource = `
def numbers():
    return [1, 2, 3, 4]

def letters():
    return ["a", "b"]

def odd_tens(x):
    if x % 2 == 0:
        return None
    return x * 10

def add_one(x):
    return x + 1

def join(p):
    return "%s-%s" % (p[0], p[1])

def double(x):
    return 2 * x

def collect(values):
    return values

def command(x):
    return {"bash_command": "echo item %d of {{ ds }}" % x}

def raw():
    return ["{{ ds }}"]

def build():
    n = task(numbers)
    l = task(letters)
    tens = task(odd_tens).expand(x = n.output)
    again = task(add_one, task_id = "again").expand(x = tens.output)
    task(collect, task_id = "again_all", args = [again.output])
    zipped = task(join, task_id = "zipped").expand(p = n.output.zip(l.output))
    task(collect, task_id = "zipped_all", args = [zipped.output])
    filled = task(join, task_id = "filled").expand(p = l.output.zip(n.output, fillvalue = "z"))
    task(collect, task_id = "filled_all", args = [filled.output])
    chained = task(add_one, task_id = "chained").expand(x = n.output.concat(tens.output).map(double).map(double))
    task(collect, task_id = "chained_all", args = [chained.output])
    partial(bash, task_id = "kw").expand_kwargs(n.output.map(command))
    partial(bash, task_id = "lit").expand(bash_command = ["echo lit {{ ds }}"])
    partial(bash, task_id = "raw_echo").expand(bash_command = task(raw).output.map(lambda w: "echo raw '" + w + "'"))

dag(dag_id = "chains", build = build, schedule = "@once", start_date = "2024-01-01")
`

func TestMappingChainsThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"chains.star": chainsSource})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "chains", once)
		if run.State != dags.DagRunStateSuccess {
			t.Errorf("run %s, want success", run.State)
		}
		tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "chains", RunID: once})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ti := range tis {
			if ti.State != dags.TaskStateSuccess {
				t.Errorf("%s[%d] is %s, want success", ti.TaskID, ti.MapIndex, ti.State)
			}
			count[ti.TaskID]++
		}
		// odd_tens returns None for 2 and 4: again maps over [10, 30] only.
		for task, want := range map[string]int{"odd_tens": 4, "again": 2, "zipped": 2, "filled": 4, "chained": 6, "kw": 4, "lit": 1, "raw_echo": 1} {
			if count[task] != want {
				t.Errorf("%s has %d task instances, want %d", task, count[task], want)
			}
		}
		for task, want := range map[string]string{
			"again_all":   "[11 31]",
			"zipped_all":  "[1-a 2-b]",
			"filled_all":  "[a-1 b-2 z-3 z-4]",
			"chained_all": "[5 9 13 17 41 121]",
		} {
			if got := fmt.Sprint(xcom(t, e, "chains", once, task, store.ReturnValueKey)); got != want {
				t.Errorf("%s = %s, want %s", task, got, want)
			}
		}
		logOf := func(task string, mapIndex int) string {
			return taskLog(t, e, store.TaskInstanceKey{DagID: "chains", RunID: once, TaskID: task, MapIndex: mapIndex}, 1)
		}
		if log := logOf("kw", 2); !strings.Contains(log, "item 3 of 2024-01-01") {
			t.Errorf("kw[2] ran no rendered command (expand_kwargs values are templated, as in Airflow):\n%s", log)
		}
		if log := logOf("lit", 0); !strings.Contains(log, "lit 2024-01-01") {
			t.Errorf("lit[0]: a literal mapped value must be rendered:\n%s", log)
		}
		if log := logOf("raw_echo", 0); !strings.Contains(log, "raw {{ ds }}") {
			t.Errorf("raw_echo[0]: a value mapped over an XCom must not be rendered:\n%s", log)
		}
	})
}

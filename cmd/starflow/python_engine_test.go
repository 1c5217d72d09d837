package main

import (
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// pythonHabitsSource is a DAG written with an Airflow user's Python
// habits: datetime arithmetic on the context, isinstance, the json and re
// modules, and templates with % formatting and macros.timedelta.
const pythonHabitsSource = `
def summarize(ctx):
    yesterday = ctx.logical_date - timedelta(days = 1)
    span = ctx.data_interval_end - ctx.data_interval_start
    if not isinstance(ctx.logical_date, datetime.datetime) or not isinstance(ctx.ts, str):
        fail("the context's types are not Airflow's")
    return {
        "yesterday": yesterday.strftime("%Y-%m-%d"),
        "month": ctx.logical_date.month,
        "hours": round(span.total_seconds() / 3600),
        "ordered": ctx.data_interval_start <= ctx.data_interval_end,  # equal for @once, as in Airflow
        "tags": re.findall(r"[a-z]+", "a1bb2"),
        "doc": json.dumps({"n": sum([1, 2])}, sort_keys = True),
    }

def build():
    s = task(summarize)
    b = bash(task_id = "render", bash_command = "echo {{ '%s-%s' % (ds, 'x') }} {{ 'n=%d' % 7 }} {{ (logical_date - macros.timedelta(days=1)).strftime('%Y/%m/%d') }} {{ ti.xcom_push('pushed', 3) }}")
    s >> b

dag(dag_id = "py_habits", build = build, schedule = "@once", start_date = "2024-03-01")
`

func TestPythonHabitsThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"py_habits.star": pythonHabitsSource})
		const once = "scheduled__2024-03-01T00:00:00+00:00"
		run := waitRun(t, e, "py_habits", once)
		if run.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success", run.State)
		}
		got := xcom(t, e, "py_habits", once, "summarize", store.ReturnValueKey)
		m, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("summarize returned %#v", got)
		}
		want := map[string]any{
			"yesterday": "2024-02-29", "month": int64(3), "hours": int64(0), "ordered": true,
			"tags": []any{"a", "bb"}, "doc": `{"n": 3}`,
		}
		for k, w := range want {
			if g := m[k]; !equalJSON(g, w) {
				t.Errorf("summarize[%q] = %#v, want %#v", k, g, w)
			}
		}
		log := taskLog(t, e, store.TaskInstanceKey{DagID: "py_habits", RunID: once, TaskID: "render", MapIndex: -1}, 1)
		if !strings.Contains(log, "2024-03-01-x n=7 2024/02/29 None") {
			t.Errorf("render's log lacks the rendered command %q:\n%s", "2024-03-01-x n=7 2024/02/29 None", log)
		}
		if v := xcom(t, e, "py_habits", once, "render", "pushed"); v != int64(3) {
			t.Errorf("ti.xcom_push in a template stored %#v, want 3", v)
		}
	})
}

// equalJSON compares two decoded JSON values.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// pythonPullSource: a python task pulls its upstream's return value with
// ti.xcom_pull, through the scheduler and a worker.
var pythonPullSource = map[string]string{
	"pulls.star": `
def build():
    first = task(lambda: {"rows": 7}, task_id = "first")
    second = python(task_id = "second", python_callable = "pulls.py:second")
    first >> second

dag(dag_id = "py_pull", build = build, schedule = "@once", start_date = "2024-03-01")
`,
	"pulls.py": `
def second(ti):
    return ti.xcom_pull(task_ids="first")["rows"] * 2
`,
}

func TestPythonXComPullThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, pythonPullSource)
		const once = "scheduled__2024-03-01T00:00:00+00:00"
		run := waitRun(t, e, "py_pull", once)
		if run.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success", run.State)
		}
		if v := xcom(t, e, "py_pull", once, "second", store.ReturnValueKey); v != int64(14) {
			t.Errorf("second returned %#v, want 14 (first's rows doubled)", v)
		}
	})
}

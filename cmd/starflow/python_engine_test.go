package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
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

// pythonSecretsSource: unchanged Airflow task code reads a secret
// variable, a plain one and a connection from the metadata database.
var pythonSecretsSource = map[string]string{
	"secrets.star": `
def build():
    python(task_id = "reads", python_callable = "secrets.py:reads")

dag(dag_id = "py_secrets", build = build)
`,
	"secrets.py": `
from airflow.models import Variable
from airflow.hooks.base import BaseHook


def reads():
    token = Variable.get("api_token")
    conn = BaseHook.get_connection("warehouse")
    print("token", token, "password", conn.password, "region", Variable.get("region"))
    return {"host": conn.host, "region": Variable.get("region"), "token_ok": token == "tok-3141-secret",
            "uri_ok": conn.get_uri() == "postgres://ada:pw-2718-secret@db.internal:5432/sales"}
`,
}

// TestPythonVariablesAndConnectionsThroughSchedulerAndWorker: a python
// task reads variables and a connection from the store through the
// worker; the secret values it prints are masked in its log.
func TestPythonVariablesAndConnectionsThroughSchedulerAndWorker(t *testing.T) {
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(secrets.EnvKey, base64.StdEncoding.EncodeToString(key))
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, pythonSecretsSource)
		ctx := context.Background()
		for _, v := range []*store.VariableSetParams{
			{Key: "api_token", Value: "tok-3141-secret", Secret: true},
			{Key: "region", Value: "eu-west"},
		} {
			if err := e.store.VariableSet(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.store.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: operators.Connection{
			ID: "warehouse", Type: "postgres", Host: "db.internal", Port: 5432, Schema: "sales", Login: "ada", Password: "pw-2718-secret",
		}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := e.store.DAGGet(ctx, "py_secrets"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("py_secrets was not parsed within 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		run, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "py_secrets", RunID: "manual__secrets"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := waitRun(t, e, "py_secrets", run.RunID); got.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success; log:\n%s", got.State, taskLog(t, e, store.TaskInstanceKey{DagID: "py_secrets", RunID: run.RunID, TaskID: "reads", MapIndex: -1}, 1))
		}
		want := map[string]any{"host": "db.internal", "region": "eu-west", "token_ok": true, "uri_ok": true}
		got, _ := xcom(t, e, "py_secrets", run.RunID, "reads", store.ReturnValueKey).(map[string]any)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("reads returned %s=%#v, want %#v (all: %v)", k, got[k], w, got)
			}
		}
		log := taskLog(t, e, store.TaskInstanceKey{DagID: "py_secrets", RunID: run.RunID, TaskID: "reads", MapIndex: -1}, 1)
		if !strings.Contains(log, "token *** password *** region eu-west") {
			t.Errorf("the log does not show the masked line %q:\n%s", "token *** password *** region eu-west", log)
		}
		for _, secret := range []string{"tok-3141-secret", "pw-2718-secret"} {
			if strings.Contains(log, secret) {
				t.Errorf("the log shows the secret %q:\n%s", secret, log)
			}
		}
	})
}

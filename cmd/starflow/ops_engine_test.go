package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// setupTeardownSource has a setup, a work task and a teardown in four
// DAGs: the work fails, the setup fails, the teardown fails, and the
// teardown fails with on_failure_fail_dagrun.
const setupTeardownSource = `
def pair(fail_create = False, fail_query = False, fail_delete = False, fail_run = None):
    def build():
        create = bash(task_id = "create", bash_command = "exit 1" if fail_create else "echo create")
        query = bash(task_id = "query", bash_command = "exit 1" if fail_query else "echo query")
        delete = bash(task_id = "delete", bash_command = "exit 1" if fail_delete else "echo delete")
        create.as_setup() >> query >> delete.as_teardown(setups = create, on_failure_fail_dagrun = fail_run)
    return build

dag(dag_id = "st_work_fails", build = pair(fail_query = True), schedule = "@once", start_date = "2024-01-01")
dag(dag_id = "st_setup_fails", build = pair(fail_create = True), schedule = "@once", start_date = "2024-01-01")
dag(dag_id = "st_teardown_fails", build = pair(fail_delete = True), schedule = "@once", start_date = "2024-01-01")
dag(dag_id = "st_teardown_fails_run", build = pair(fail_delete = True, fail_run = True), schedule = "@once", start_date = "2024-01-01")
`

// runStates returns "task=state/try" for every task instance of a run.
func runStates(t *testing.T, e *engine, dagID, runID string) string {
	t.Helper()
	tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ti := range tis {
		out = append(out, fmt.Sprintf("%s=%s/%d", ti.TaskID, ti.State, ti.TryNumber))
	}
	return strings.Join(out, " ")
}

func TestSetupTeardownThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"st.star": setupTeardownSource})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		for _, tc := range []struct {
			dagID, tasks string
			run          dags.DagRunState
		}{
			// The teardown runs although the work failed; the run fails.
			{"st_work_fails", "create=success/1 delete=success/1 query=failed/1", dags.DagRunStateFailed},
			// No setup succeeded: the teardown is upstream_failed.
			{"st_setup_fails", "create=failed/1 delete=upstream_failed/0 query=upstream_failed/0", dags.DagRunStateFailed},
			// A failed teardown does not fail the run...
			{"st_teardown_fails", "create=success/1 delete=failed/1 query=success/1", dags.DagRunStateSuccess},
			// ... unless on_failure_fail_dagrun.
			{"st_teardown_fails_run", "create=success/1 delete=failed/1 query=success/1", dags.DagRunStateFailed},
		} {
			run := waitRun(t, e, tc.dagID, once)
			if got := runStates(t, e, tc.dagID, once); got != tc.tasks || run.State != tc.run {
				t.Errorf("%s: run %s with %s\n want run %s with %s", tc.dagID, run.State, got, tc.run, tc.tasks)
			}
		}

		// Clearing the work task clears its setup and teardown too: all
		// three run again.
		ctx := context.Background()
		keys, err := e.sched.Clear(ctx, scheduler.ClearParams{DAGID: "st_work_fails", TaskRegex: "^query$", RunID: once})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 {
			t.Errorf("clearing query cleared %v, want create, query and delete", keys)
		}
		e.sched.Wake()
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := e.store.RunGet(ctx, "st_work_fails", once)
			if err == nil && r.State.Finished() && strings.Contains(runStates(t, e, "st_work_fails", once), "query=failed/2") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the cleared run did not finish again within 60 s: %s", runStates(t, e, "st_work_fails", once))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got, want := runStates(t, e, "st_work_fails", once), "create=success/2 delete=success/2 query=failed/2"; got != want {
			t.Errorf("after clearing query: %s, want %s", got, want)
		}
	})
}

// latestOnlySource is Airflow's example_latest_only_with_trigger, daily
// with catchup from three days ago: only the latest run proceeds.
const latestOnlySource = `
def build():
    latest = latest_only(task_id = "latest_only")
    task1 = empty(task_id = "task1")
    task2 = empty(task_id = "task2")
    task3 = empty(task_id = "task3")
    task4 = empty(task_id = "task4", trigger_rule = "all_done")
    latest >> task1 >> [task3, task4]
    task2 >> [task3, task4]

dag(dag_id = "latest_only_with_trigger", build = build, schedule = "@daily", start_date = "%s", catchup = True)
`

func TestLatestOnlyThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -3)
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"latest.star": fmt.Sprintf(latestOnlySource, start.Format("2006-01-02"))})
		// Empty tasks succeed without a try, as Airflow's EmptyOperator.
		const skipped = "latest_only=success/1 task1=skipped/0 task2=success/0 task3=skipped/0 task4=success/0"
		const proceeds = "latest_only=success/1 task1=success/0 task2=success/0 task3=success/0 task4=success/0"
		for i := range 3 {
			logical := start.AddDate(0, 0, i)
			runID := dags.RunID(dags.RunTypeScheduled, logical)
			run := waitRun(t, e, "latest_only_with_trigger", runID)
			want := skipped
			if i == 2 { // [yesterday, today): the latest complete interval
				want = proceeds
			}
			if got := runStates(t, e, "latest_only_with_trigger", runID); got != want || run.State != dags.DagRunStateSuccess {
				t.Errorf("run %s: %s with %s\n want success with %s", runID, run.State, got, want)
			}
		}
	})
}

// pythonSensorSource pokes a function (reschedule mode) that is done at
// once, pushing an XCom through PokeReturnValue; a day_of_week_sensor on
// the logical date (2024-01-01 is a Monday); one that never holds soft
// fails. A bash_sensor in reschedule mode is done at its third poke (one
// try); one whose command exits with a code other than retry_exit_code
// fails without using its retries; a time_sensor whose time has passed on
// the data interval's end date is done. A bad day name is a parse error
// now (lint.txtar). %[1]s is a scratch folder.
const pythonSensorSource = `
def ready(ctx, marker):
    return PokeReturnValue(is_done = ctx.var("never_set", "x") == "x" and ctx.try_number >= 1 and marker != "", xcom_value = {"day": marker})

def never():
    return 0

def build():
    wait = python_sensor(task_id = "wait", python_callable = ready, op_kwargs = {"marker": "{{ ds }}"}, poke_interval = "0.1s", mode = "reschedule")
    monday = day_of_week_sensor(task_id = "monday", week_day = ["monday", "Sunday"], use_task_logical_date = True)
    tuesday = day_of_week_sensor(task_id = "tuesday", week_day = "Tuesday", use_task_logical_date = True, timeout = "0.3s", poke_interval = "0.1s", soft_fail = True)
    bash_sensor(task_id = "third_poke", bash_command = "echo poke >> %[1]s/pokes; [ $(wc -l < %[1]s/pokes) -ge 3 ]",
                mode = "reschedule", poke_interval = "0.1s")
    bash_sensor(task_id = "broken", bash_command = "exit 2", retry_exit_code = 1, retries = 2, retry_delay = "0s")
    time_sensor(task_id = "past", target_time = "06:00")
    python_sensor(task_id = "never", python_callable = never, timeout = "0.3s", poke_interval = "0.1s")
    wait >> [monday, tuesday]

dag(dag_id = "pysensor", build = build, schedule = "@once", start_date = "2024-01-01")
`

func TestPythonAndDayOfWeekSensorsThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		scratch := t.TempDir()
		e := startEngineWith(t, url, map[string]string{"pysensor.star": fmt.Sprintf(pythonSensorSource, scratch)})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "pysensor", once)
		want := "broken=failed/1 monday=success/1 never=failed/1 past=success/1 third_poke=success/1 tuesday=skipped/1 wait=success/1"
		if got := runStates(t, e, "pysensor", once); got != want || run.State != dags.DagRunStateFailed {
			t.Errorf("run %s with %s\n want failed with %s", run.State, got, want)
		}
		if got := fmt.Sprint(xcom(t, e, "pysensor", once, "wait", store.ReturnValueKey)); got != "map[day:2024-01-01]" {
			t.Errorf("wait's XCom = %s, want the xcom_value of its PokeReturnValue", got)
		}
		if data, err := os.ReadFile(filepath.Join(scratch, "pokes")); err != nil || string(data) != "poke\npoke\npoke\n" {
			t.Errorf("third_poke poked %q, %v; want three pokes", data, err)
		}
		key := store.TaskInstanceKey{DagID: "pysensor", RunID: once, TaskID: "broken", MapIndex: store.NoMapIndex}
		if log := taskLog(t, e, key, 1); !strings.Contains(log, "command exited with code 2 (retry_exit_code is 1)") {
			t.Errorf("broken's log does not say why it failed:\n%s", log)
		}
	})
}

// bashDecoratorSource has task.bash functions (Airflow's @task.bash): one
// returns a templated command with its argument, one a command that exits
// 99, one a templated argument it checks, one no command at all.
const bashDecoratorSource = `
def greet(name):
    return "echo hello %s from {{ task_instance_key_str }}" % name

def skip_me():
    return "exit 99"

def by_day(day):
    return "echo monday" if day == "monday" else "exit 3"

def nothing():
    return ""

def build():
    g = task.bash(greet, kwargs = {"name": "ada"})
    [g, task.bash(skip_me), task.bash(by_day, kwargs = {"day": "{{ logical_date.strftime('%A').lower() }}"}), task.bash(nothing)]

dag(dag_id = "bashdeco", build = build, schedule = "@once", start_date = "2024-01-01")
`

func TestBashDecoratorThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"bashdeco.star": bashDecoratorSource})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "bashdeco", once)
		// 2024-01-01 is a Monday: by_day's kwarg was rendered before the call.
		want := "by_day=success/1 greet=success/1 nothing=failed/1 skip_me=skipped/1"
		if got := runStates(t, e, "bashdeco", once); got != want || run.State != dags.DagRunStateFailed {
			t.Errorf("run %s with %s\n want failed with %s", run.State, got, want)
		}
		if got := fmt.Sprint(xcom(t, e, "bashdeco", once, "greet", store.ReturnValueKey)); got != "hello ada from bashdeco__greet__20240101" {
			t.Errorf("greet's XCom = %q, want its command's last line, the template rendered", got)
		}
		key := store.TaskInstanceKey{DagID: "bashdeco", RunID: once, TaskID: "nothing", MapIndex: store.NoMapIndex}
		if log := taskLog(t, e, key, 1); !strings.Contains(log, "the task function must return the command, a non-empty string; it returned string") {
			t.Errorf("nothing's log does not say why it failed:\n%s", log)
		}
	})
}

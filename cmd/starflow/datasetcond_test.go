package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// datasetCondSource has a producer that updates any of three assets and
// consumers scheduled on conditions of them, as Airflow's example_assets.
const datasetCondSource = `
a, b, c = Asset("s3://cond/a"), Asset("s3://cond/b"), Asset("s3://cond/c")

def producer():
    bash(task_id = "write_a", bash_command = "exit {{ params.a }}", outlets = [a])
    bash(task_id = "write_b", bash_command = "exit {{ params.b }}", outlets = [b])
    bash(task_id = "write_c", bash_command = "exit {{ params.c }}", outlets = [c])

dag(dag_id = "producer", build = producer, params = {"a": 99, "b": 99, "c": 99})

def consume():
    empty(task_id = "consume")

dag(dag_id = "any_ab", build = consume, schedule = a | b)
dag(dag_id = "a_or_b_and_c", build = consume, schedule = a | (b & c))
dag(dag_id = "ab_or_time", build = consume, start_date = "2024-01-01",
    schedule = AssetOrTimeSchedule(timetable = CronTriggerTimetable("0 1 * * 3", timezone = "UTC"), assets = a & b))
`

func TestDatasetConditionsTriggerConsumers(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"cond.star": datasetCondSource})
		ctx := context.Background()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := e.store.DAGGet(ctx, "ab_or_time"); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatal("the DAGs were never registered")
			}
		}
		n := 0
		// produce updates the given assets (the others' tasks skip: exit 99).
		produce := func(uris ...string) {
			t.Helper()
			n++
			conf := map[string]any{}
			for _, u := range uris {
				conf[u] = 0
			}
			run, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "producer", RunID: fmt.Sprintf("p%d", n), Conf: conf}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if r := waitRun(t, e, "producer", run.RunID); r.State != dags.DagRunStateSuccess {
				t.Fatalf("producer run %s: %s", r.RunID, r.State)
			}
			time.Sleep(1500 * time.Millisecond) // the scheduler acts on the events
		}
		runs := func(dagID string, typ dags.RunType) int {
			t.Helper()
			all, err := e.store.RunList(ctx, &store.RunListParams{DagID: dagID})
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			for _, r := range all {
				if r.RunType == typ {
					k++
				}
			}
			return k
		}
		check := func(step string, want map[string]int) {
			t.Helper()
			for dagID, w := range want {
				if got := runs(dagID, dags.RunTypeDatasetTriggered); got != w {
					t.Errorf("after %s: %s has %d dataset-triggered runs, want %d", step, dagID, got, w)
				}
			}
		}
		produce("a")
		check("a", map[string]int{"any_ab": 1, "a_or_b_and_c": 1, "ab_or_time": 0})
		produce("b")
		// ab_or_time still had a's event: a & b holds now.
		check("b", map[string]int{"any_ab": 2, "a_or_b_and_c": 1, "ab_or_time": 1})
		produce("c")
		// b's event waited for c in a_or_b_and_c; any_ab ignores c.
		check("c", map[string]int{"any_ab": 2, "a_or_b_and_c": 2, "ab_or_time": 1})
		if got := runs("ab_or_time", dags.RunTypeScheduled); got == 0 {
			t.Error("ab_or_time made no time-based run: its cron timetable was lost")
		}
	})
}

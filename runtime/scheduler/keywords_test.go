package scheduler_test

import (
	"reflect"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// TestWaitForDownstreamWaitsForThePreviousRunsDownstream: with
// wait_for_downstream, a's second run waits until b, a's immediate
// downstream task, finished (success or skipped) in the first run, not
// only until a did; c, further down, does not matter (Airflow's
// are_dependents_done looks at the immediate downstream only).
func TestWaitForDownstreamWaitsForThePreviousRunsDownstream(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-03T00:00:10Z")
		e.register(dagSpec{id: "wfd", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a b c", edges: "a>>b b>>c",
			tweak: func(d *dags.DAG) {
				a := d.Task("a")
				a.WaitForDownstream, a.DependsOnPast = true, true // as the loader sets them
			}}, now)
		e.tick(now)
		runs := e.runs("wfd")
		if len(runs) != 2 {
			t.Fatalf("%d runs, want 2", len(runs))
		}
		// The first run's a succeeds; its b fails.
		outcome := func(m queue.Message) dags.TaskState {
			if m.RunID == runs[0].RunID && m.TaskID == "b" {
				return dags.TaskStateFailed
			}
			return dags.TaskStateSuccess
		}
		e.work(now, outcome)
		e.tick(now)
		if got := e.states("wfd", runs[0].RunID); got["a"] != "success/1" || got["b"] != "failed/1" || got["c"] != "upstream_failed/0" {
			t.Fatalf("first run: %v", got)
		}
		if got := e.states("wfd", runs[1].RunID)["a"]; got != "none/0" {
			t.Fatalf("second run's a is %s while the first run's b failed; want none/0 (waiting for downstream)", got)
		}
		// b is marked successful (c stays upstream_failed): a may go.
		key := store.TaskInstanceKey{DagID: "wfd", RunID: runs[0].RunID, TaskID: "b", MapIndex: -1}
		if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, To: dags.TaskStateSuccess}); err != nil {
			t.Fatal(err)
		}
		// A change made straight in the database raises no event: the
		// sweep finds it.
		e.tick(now.Add(scheduler.DefaultSweepInterval))
		if got := e.states("wfd", runs[1].RunID)["a"]; got != "queued/1" {
			t.Fatalf("second run's a is %s after the first run's b succeeded; want queued/1", got)
		}
	})
}

// TestTaskStartAndEndDatesLeaveRunsOut: a task whose start_date is after a
// run's logical date, or whose end_date is before it, gets no task
// instance in that run (Airflow's verify_integrity task_filter). A left-out
// leaf does not hold the run up; a task downstream of a left-out task
// waits for it, so that run deadlocks and fails, as in Airflow. Backfill
// runs take every task.
func TestTaskStartAndEndDatesLeaveRunsOut(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-04T00:00:10Z")
		e.register(dagSpec{id: "dated", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a late old", edges: "a>>late",
			tweak: func(d *dags.DAG) {
				d.Task("late").StartDate = at("2024-01-02T00:00:00Z")
				d.Task("old").EndDate = at("2024-01-02T00:00:00Z")
			}}, now)
		e.register(dagSpec{id: "blocked", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a late after", edges: "a>>late late>>after",
			tweak: func(d *dags.DAG) { d.Task("late").StartDate = at("2024-01-03T00:00:00Z") }}, now)
		e.tick(now)
		e.work(now, succeed)
		e.tick(now)

		runs := e.runs("dated")
		if len(runs) != 3 {
			t.Fatalf("%d runs of dated, want 3", len(runs))
		}
		want := []map[string]string{
			{"a": "success/1", "old": "success/1"},                      // 01-01: before late's start_date
			{"a": "success/1", "late": "success/1", "old": "success/1"}, // 01-02: both dates include it
			{"a": "success/1", "late": "success/1"},                     // 01-03: after old's end_date
		}
		for i, r := range runs {
			if got := e.states("dated", r.RunID); !reflect.DeepEqual(got, want[i]) {
				t.Errorf("run %s: %v, want %v", r.LogicalDate.Format("01-02"), got, want[i])
			}
			if r2, err := e.store.RunGet(e.ctx, "dated", r.RunID); err != nil || r2.State != dags.DagRunStateSuccess {
				t.Errorf("run %s: state %v (%v), want success", r.LogicalDate.Format("01-02"), r2.State, err)
			}
		}

		runs = e.runs("blocked")
		if len(runs) != 3 {
			t.Fatalf("%d runs of blocked, want 3", len(runs))
		}
		for i, wantState := range []dags.DagRunState{dags.DagRunStateFailed, dags.DagRunStateFailed, dags.DagRunStateSuccess} {
			r, err := e.store.RunGet(e.ctx, "blocked", runs[i].RunID)
			if err != nil {
				t.Fatal(err)
			}
			if r.State != wantState {
				t.Errorf("blocked run %s is %s, want %s: %v", r.LogicalDate.Format("01-02"), r.State, wantState, e.states("blocked", r.RunID))
			}
		}
		if got := e.states("blocked", runs[0].RunID); !reflect.DeepEqual(got, map[string]string{"a": "success/1", "after": "none/0"}) {
			t.Errorf("blocked run 01-01: %v, want after waiting (none) and no late", got)
		}
	})
}

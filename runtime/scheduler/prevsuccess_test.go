package scheduler_test

import (
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// TestPrevSuccessReadsTheStore finds the latest successful run before a
// logical date, as Airflow's get_previous_dagrun_success: failed runs and
// later runs do not count, other DAGs' runs neither, none before the first.
func TestPrevSuccessReadsTheStore(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-10T00:00:00Z")
		e.register(dagSpec{id: "daily", schedule: "None", tasks: "a"}, now)
		e.register(dagSpec{id: "other", schedule: "None", tasks: "a"}, now)
		mark := func(dagID, day string, st dags.DagRunState) {
			t.Helper()
			run, err := e.sched.Trigger(e.ctx, scheduler.TriggerParams{DAGID: dagID, LogicalDate: at(day + "T00:00:00Z")}, now)
			if err != nil {
				t.Fatal(err)
			}
			start := at(day + "T01:00:00Z")
			if _, err := s.RunSetState(e.ctx, &store.RunSetStateParams{DagID: dagID, RunID: run.RunID, To: st, StartDate: start, EndDate: start.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		mark("daily", "2024-01-01", dags.DagRunStateSuccess)
		mark("daily", "2024-01-02", dags.DagRunStateSuccess)
		mark("daily", "2024-01-03", dags.DagRunStateFailed)
		mark("daily", "2024-01-05", dags.DagRunStateSuccess)
		mark("other", "2024-01-03", dags.DagRunStateSuccess)
		runs := e.sched.DagRuns()
		p, err := runs.PrevSuccess(e.ctx, "daily", at("2024-01-04T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		if p == nil || !p.StartDate.Equal(at("2024-01-02T01:00:00Z")) || !p.EndDate.Equal(at("2024-01-02T01:01:00Z")) || !p.DataIntervalStart.Equal(at("2024-01-02T00:00:00Z")) {
			t.Errorf("previous success before 01-04 = %+v, want the run of 01-02", p)
		}
		if p, err := runs.PrevSuccess(e.ctx, "daily", at("2024-01-02T00:00:00Z")); err != nil || p == nil || !p.StartDate.Equal(at("2024-01-01T01:00:00Z")) {
			t.Errorf("previous success before 01-02 = %+v, %v; want the run of 01-01 (not the run itself)", p, err)
		}
		if p, err := runs.PrevSuccess(e.ctx, "daily", at("2024-01-01T00:00:00Z")); err != nil || p != nil {
			t.Errorf("previous success before the first run = %+v, %v; want none", p, err)
		}
	})
}

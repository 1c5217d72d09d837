package branch

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func TestLatestOnly(t *testing.T) {
	t.Parallel()
	day := func(d, h int) time.Time { return time.Date(2024, 1, d, h, 0, 0, 0, time.UTC) }
	// latest_only >> [a, b]; a >> c
	d := buildDAG(t, map[string]string{"latest_only": KindLatestOnly, "a": "empty", "b": "empty", "c": "empty"},
		[]edge{{"latest_only", "a"}, {"latest_only", "b"}, {"a", "c"}})
	d.Schedule = dags.MustParseSchedule("@daily")
	d.StartDate = day(1, 0)
	scheduledJan1 := operators.RunInfo{DAGID: "etl", RunType: dags.RunTypeScheduled, LogicalDate: day(1, 0),
		DataIntervalStart: day(1, 0), DataIntervalEnd: day(2, 0)}
	manual := scheduledJan1
	manual.RunType = dags.RunTypeManual
	backfill := scheduledJan1
	backfill.RunType = dags.RunTypeBackfill
	unscheduled := buildDAG(t, map[string]string{"latest_only": KindLatestOnly, "a": "empty"}, []edge{{"latest_only", "a"}})
	for _, tc := range []struct {
		name string
		dag  *dags.DAG
		run  operators.RunInfo
		now  time.Time
		skip []string
	}{
		{"the run of the last complete interval is the latest", d, scheduledJan1, day(2, 6), nil},
		{"still the latest up to the end of the next interval", d, scheduledJan1, day(3, 0), nil},
		{"a run whose next interval is over is not", d, scheduledJan1, day(3, 1), []string{"a", "b"}},
		{"an old backfill run is not", d, backfill, day(20, 0), []string{"a", "b"}},
		{"a manual run always proceeds", d, manual, day(20, 0), nil},
		{"a DAG without a schedule has no next run: proceeds", unscheduled, scheduledJan1, day(20, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &operators.Call{DAG: tc.dag, Task: tc.dag.Task("latest_only"), Run: tc.run}
			res, err := (&LatestOnly{Now: func() time.Time { return tc.now }}).Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if res.State != dags.TaskStateSuccess || !slices.Equal(res.Skip, tc.skip) {
				t.Errorf("got state %s skip %v (%s), want success skip %v", res.State, res.Skip, res.Message, tc.skip)
			}
		})
	}
}

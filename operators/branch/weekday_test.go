package branch

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func TestDayOfWeek(t *testing.T) {
	t.Parallel()
	// make_choice >> [yes, no]; 2024-01-13 is a Saturday, 2024-01-15 a Monday.
	d := buildDAG(t, map[string]string{"make_choice": KindDayOfWeek, "yes": "empty", "no": "empty"},
		[]edge{{"make_choice", "yes"}, {"make_choice", "no"}})
	sat := time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
	mon := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		weekDay    any
		useLogical bool
		logical    time.Time
		now        time.Time
		skip       []string
	}{
		{"today is the day", "Monday", false, sat, mon.Add(3 * time.Hour), []string{"no"}},
		{"today is not the day", "Monday", false, mon, sat.Add(3 * time.Hour), []string{"yes"}},
		{"a set of days, any case", []any{"SATURDAY", "sunday"}, false, mon, sat, []string{"no"}},
		{"the logical date, not today", "Monday", true, sat, mon, []string{"yes"}},
		{"the logical date is the day", []any{"Saturday", "Sunday"}, true, sat, mon, []string{"no"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := *d.Task("make_choice")
			task.Config = map[string]any{"follow_task_ids_if_true": "yes", "follow_task_ids_if_false": []any{"no"},
				"week_day": tc.weekDay, "use_task_logical_date": tc.useLogical}
			c := &operators.Call{DAG: d, Task: &task, Run: operators.RunInfo{DAGID: "etl", LogicalDate: tc.logical}}
			res, err := (&DayOfWeek{Now: func() time.Time { return tc.now }}).Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if res.State != dags.TaskStateSuccess || !slices.Equal(res.Skip, tc.skip) {
				t.Errorf("got state %s skip %v (%s), want success skip %v", res.State, res.Skip, res.Message, tc.skip)
			}
		})
	}
	t.Run("the DAG's timezone decides what today is", func(t *testing.T) {
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		dz := buildDAG(t, map[string]string{"make_choice": KindDayOfWeek, "yes": "empty", "no": "empty"},
			[]edge{{"make_choice", "yes"}, {"make_choice", "no"}})
		dz.Timezone = tokyo
		task := *dz.Task("make_choice")
		task.Config = map[string]any{"follow_task_ids_if_true": "yes", "follow_task_ids_if_false": "no", "week_day": "Monday"}
		// Sunday 20:00 UTC is Monday 05:00 in Tokyo.
		now := time.Date(2024, 1, 14, 20, 0, 0, 0, time.UTC)
		c := &operators.Call{DAG: dz, Task: &task}
		res, err := (&DayOfWeek{Now: func() time.Time { return now }}).Execute(context.Background(), c)
		if err != nil || !slices.Equal(res.Skip, []string{"no"}) {
			t.Fatalf("got %v, %v; want skip [no]", res, err)
		}
	})
	t.Run("an unknown day fails the task", func(t *testing.T) {
		task := *d.Task("make_choice")
		task.Config = map[string]any{"follow_task_ids_if_true": "yes", "follow_task_ids_if_false": "no", "week_day": "Moonday"}
		_, err := (&DayOfWeek{}).Execute(context.Background(), &operators.Call{DAG: d, Task: &task})
		if err == nil {
			t.Fatal("an unknown week day ran")
		}
	})
}

package branch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
)

// TestDateTime follows Airflow's BranchDateTimeOperator tests: datetime
// and time-of-day targets, one bound only, an upper time of day before the
// lower (the range crosses midnight), and use_task_logical_date.
func TestDateTime(t *testing.T) {
	t.Parallel()
	d := buildDAG(t, map[string]string{"datetime_branch": KindDateTime, "date_in_range": "empty", "date_outside_range": "empty"},
		[]edge{{"datetime_branch", "date_in_range"}, {"datetime_branch", "date_outside_range"}})
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	in, out := []string{"date_outside_range"}, []string{"date_in_range"} // what is skipped
	for _, tc := range []struct {
		name         string
		lower, upper any
		now          string
		logical      string // with use_task_logical_date
		skip         []string
	}{
		{"in a datetime range", "2020-07-07 10:00:00", "2020-07-07 11:00:00", "2020-07-07T10:30:00Z", "", in},
		{"after a datetime range", "2020-07-07 10:00:00", "2020-07-07 11:00:00", "2020-07-07T12:00:00Z", "", out},
		{"before a datetime range", "2020-07-07 10:00:00", "2020-07-07 11:00:00", "2020-07-07T09:00:00Z", "", out},
		{"in a time range", "10:00", "11:00:00", "2020-07-07T10:30:00Z", "", in},
		{"outside a time range", "10:00", "11:00", "2020-07-07T12:00:00Z", "", out},
		{"upper only", nil, "11:00", "2020-07-07T10:59:59Z", "", in},
		{"lower only, before it", "10:00", nil, "2020-07-07T09:59:59Z", "", out},
		{"a range over midnight, evening", "15:00", "00:00", "2020-07-07T20:00:00Z", "", in},
		{"a range over midnight, morning", "15:00", "00:00", "2020-07-07T09:00:00Z", "", out},
		{"the logical date, not now", "10:00", "11:00", "2020-07-07T20:00:00Z", "2020-07-07T10:15:00Z", in},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := *d.Task("datetime_branch")
			task.Config = map[string]any{"follow_task_ids_if_true": []any{"date_in_range"}, "follow_task_ids_if_false": "date_outside_range"}
			if tc.lower != nil {
				task.Config["target_lower"] = tc.lower
			}
			if tc.upper != nil {
				task.Config["target_upper"] = tc.upper
			}
			c := &operators.Call{DAG: d, Task: &task}
			if tc.logical != "" {
				task.Config["use_task_logical_date"] = true
				c.Run.LogicalDate = at(tc.logical)
			}
			res, err := (&DateTime{Now: func() time.Time { return at(tc.now) }}).Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Skip, tc.skip) {
				t.Errorf("skip %v (%s), want %v", res.Skip, res.Message, tc.skip)
			}
		})
	}
	t.Run("a time of day is a wall-clock time of the DAG's timezone", func(t *testing.T) {
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		dz := buildDAG(t, map[string]string{"datetime_branch": KindDateTime, "date_in_range": "empty", "date_outside_range": "empty"},
			[]edge{{"datetime_branch", "date_in_range"}, {"datetime_branch", "date_outside_range"}})
		dz.Timezone = tokyo
		task := *dz.Task("datetime_branch")
		// 10:00-11:00 in Tokyo is 01:00-02:00 UTC.
		task.Config = map[string]any{"follow_task_ids_if_true": "date_in_range", "follow_task_ids_if_false": "date_outside_range",
			"target_lower": "10:00", "target_upper": "11:00"}
		res, err := (&DateTime{Now: func() time.Time { return at("2020-07-07T01:30:00Z") }}).Execute(context.Background(), &operators.Call{DAG: dz, Task: &task})
		if err != nil || !slices.Equal(res.Skip, in) {
			t.Fatalf("got %v, %v; want skip %v", res, err, in)
		}
	})
	t.Run("no bound, or a bad one, is an error when the file is parsed", func(t *testing.T) {
		spec := (&DateTime{}).Spec()
		for cfg, want := range map[string]map[string]any{
			"at least one must be given":   {"follow_task_ids_if_true": "a", "follow_task_ids_if_false": "b"},
			"neither a time of day":        {"target_lower": "teatime"},
			`"25:00" is neither a time of`: {"target_upper": "25:00"},
		} {
			if err := spec.Check(want); err == nil || !strings.Contains(err.Error(), cfg) {
				t.Errorf("Check(%v) = %v, want %q", want, err, cfg)
			}
		}
	})
}

package dags

import (
	"slices"
	"testing"
	"time"
)

func TestDatasetCondEval(t *testing.T) {
	t.Parallel()
	a, b, c := DatasetLeaf("s3://a"), DatasetLeaf("s3://b"), DatasetLeaf("s3://c")
	// (a | b) & c, as Airflow's (a | b) & c.
	cond := DatasetCond{Op: DatasetAll, Of: []DatasetCond{{Op: DatasetAny, Of: []DatasetCond{a, b}}, c}}
	for _, tc := range []struct {
		updated []string
		want    bool
	}{
		{nil, false},
		{[]string{"s3://a"}, false},
		{[]string{"s3://c"}, false},
		{[]string{"s3://a", "s3://c"}, true},
		{[]string{"s3://b", "s3://c"}, true},
		{[]string{"s3://a", "s3://b"}, false},
		{[]string{"s3://other", "s3://c"}, false},
	} {
		if got := cond.Eval(func(u string) bool { return slices.Contains(tc.updated, u) }); got != tc.want {
			t.Errorf("(a | b) & c with %v updated = %v, want %v", tc.updated, got, tc.want)
		}
	}
	if got, want := cond.String(), "(s3://a | s3://b) & s3://c"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := cond.URIs(); !slices.Equal(got, []string{"s3://a", "s3://b", "s3://c"}) {
		t.Errorf("URIs() = %v", got)
	}
	if err := (DatasetCond{Op: DatasetAny}).Check(); err == nil {
		t.Error("an empty condition passed Check")
	}
}

func TestDatasetsOfSchedule(t *testing.T) {
	t.Parallel()
	a, b, c := DatasetLeaf("s3://a"), DatasetLeaf("s3://b"), DatasetLeaf("s3://c")
	nested := DatasetCond{Op: DatasetAny, Of: []DatasetCond{a, {Op: DatasetAll, Of: []DatasetCond{b, c, a}}}}
	orTime, err := DatasetOrTimeSchedule(nested, MustParseSchedule("0 1 * * 3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DatasetOrTimeSchedule(nested, MustParseSchedule("@once")); err == nil {
		t.Error("DatasetOrTimeSchedule took @once as its timetable")
	}
	for _, tc := range []struct {
		s    Schedule
		str  string
		uris []string
	}{
		{DatasetSchedule([]string{"s3://a", "s3://b", "s3://a"}), "Dataset: s3://a, s3://b", []string{"s3://a", "s3://b"}},
		{DatasetCondSchedule(nested), "Dataset: s3://a | (s3://b & s3://c & s3://a)", []string{"s3://a", "s3://b", "s3://c"}},
		{orTime, "Dataset: s3://a | (s3://b & s3://c & s3://a); or time: 0 1 * * 3", []string{"s3://a", "s3://b", "s3://c"}},
	} {
		if got := tc.s.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
		uris, ok := DatasetsOfSchedule(tc.s.String())
		if !ok || !slices.Equal(uris, tc.uris) {
			t.Errorf("DatasetsOfSchedule(%q) = %v, %v; want %v", tc.s.String(), uris, ok, tc.uris)
		}
	}
	if !orTime.Periodic() || orTime.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), nil).IsZero() {
		t.Error("a dataset-or-time schedule lost its timetable")
	}
	if _, ok := DatasetsOfSchedule("0 1 * * 3"); ok {
		t.Error("a cron schedule has datasets")
	}
}

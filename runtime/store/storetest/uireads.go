package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testRunDates checks that RunDates returns a DAG's runs in a logical
// date range, newest first, with their states, capped by Limit.
func testRunDates(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for i := range 5 {
		mustRun(t, s, "d1", fmt.Sprintf("r%d", i), i)
	}
	mustRun(t, s, "d2", "r1", 1)
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "d1", RunID: "r2", To: dags.DagRunStateFailed}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RunDates(ctx, &store.RunDatesParams{DagID: "d1", From: base.AddDate(0, 0, 1), To: base.AddDate(0, 0, 4)})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RunDate{
		{RunID: "r3", LogicalDate: store.Truncate(base.AddDate(0, 0, 3)), State: dags.DagRunStateQueued},
		{RunID: "r2", LogicalDate: store.Truncate(base.AddDate(0, 0, 2)), State: dags.DagRunStateFailed},
		{RunID: "r1", LogicalDate: store.Truncate(base.AddDate(0, 0, 1)), State: dags.DagRunStateQueued},
	}
	if len(got) != len(want) {
		t.Fatalf("RunDates = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].RunID != want[i].RunID || !got[i].LogicalDate.Equal(want[i].LogicalDate) || got[i].LogicalDate.Location() != time.UTC || got[i].State != want[i].State {
			t.Errorf("RunDates[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	all, err := s.RunDates(ctx, &store.RunDatesParams{DagID: "d1", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].RunID != "r4" || all[1].RunID != "r3" {
		t.Errorf("RunDates with limit 2 = %+v, want r4, r3", all)
	}
	none, err := s.RunDates(ctx, &store.RunDatesParams{DagID: "nope"})
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("RunDates of an unknown DAG = %v, %v; want empty, nil", none, err)
	}
	if _, err := s.RunDates(ctx, &store.RunDatesParams{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RunDates without a DAG: %v, want ErrInvalid", err)
	}
}

// testTaskSpans checks that TaskSpans sums up each task's started and
// ended instances per run (a mapped task from its first start to its last
// end), only for the runs asked for.
func testTaskSpans(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	min := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }
	for _, run := range []string{"r1", "r2", "r3"} {
		mustRun(t, s, "d", run, map[string]int{"r1": 0, "r2": 1, "r3": 2}[run])
		mustTIs(t, s, "d", run, dags.TaskStateNone, "a", "b", "c")
	}
	mustRun(t, s, "other", "r1", 0)
	mustTIs(t, s, "other", "r1", dags.TaskStateNone, "a")
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "d", RunID: "r1", Tasks: []store.TaskInstanceCreate{
		{TaskID: "m", MapIndex: 0}, {TaskID: "m", MapIndex: 1}}}); err != nil {
		t.Fatal(err)
	}
	set := func(dagID, runID, taskID string, mapIndex int, to dags.TaskState, start, end time.Time) {
		t.Helper()
		if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: mapIndex},
			To: to, TryNumber: 1, StartDate: start, EndDate: end}); err != nil {
			t.Fatalf("set %s/%s/%s[%d]: %v", dagID, runID, taskID, mapIndex, err)
		}
	}
	set("d", "r1", "a", store.NoMapIndex, dags.TaskStateSuccess, min(1), min(2))
	set("d", "r1", "b", store.NoMapIndex, dags.TaskStateRunning, min(1), time.Time{}) // not ended: absent
	set("d", "r1", "m", 0, dags.TaskStateSuccess, min(3), min(5))
	set("d", "r1", "m", 1, dags.TaskStateFailed, min(2), min(4))
	set("d", "r2", "a", store.NoMapIndex, dags.TaskStateSuccess, min(10), min(12))
	set("d", "r3", "a", store.NoMapIndex, dags.TaskStateSuccess, min(20), min(22))     // run not asked for
	set("other", "r1", "a", store.NoMapIndex, dags.TaskStateSuccess, min(30), min(32)) // other DAG

	got, err := s.TaskSpans(ctx, &store.TaskSpansParams{DagID: "d", RunIDs: []string{"r1", "r2", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TaskSpan{
		{RunID: "r1", TaskID: "a", Start: min(1), End: min(2)},
		{RunID: "r1", TaskID: "m", Start: min(2), End: min(5)},
		{RunID: "r2", TaskID: "a", Start: min(10), End: min(12)},
	}
	if len(got) != len(want) {
		t.Fatalf("TaskSpans = %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.RunID != w.RunID || g.TaskID != w.TaskID || !g.Start.Equal(store.Truncate(w.Start)) || !g.End.Equal(store.Truncate(w.End)) || g.Start.Location() != time.UTC {
			t.Errorf("TaskSpans[%d] = %+v, want %+v", i, g, w)
		}
	}
	none, err := s.TaskSpans(ctx, &store.TaskSpansParams{DagID: "d", RunIDs: []string{}})
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("TaskSpans of no runs = %v, %v; want empty, nil", none, err)
	}
	if _, err := s.TaskSpans(ctx, &store.TaskSpansParams{RunIDs: []string{"r1"}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("TaskSpans without a DAG: %v, want ErrInvalid", err)
	}
}

// testDAGListFilters checks the DAG list's search and tag filters in
// DAGList, DAGCount and DAGTags, and RunCountsByDAG.
func testDAGListFilters(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for _, d := range []store.DAGUpsertParams{
		{DagID: "etl_daily", DisplayName: "Nightly load", Tags: []string{"team-a", "prod"}},
		{DagID: "weeklyReport", Tags: []string{"team-b"}},
		{DagID: "x100%", Tags: []string{`say "hi"`}},
		{DagID: "held", Tags: []string{"team-a"}, IsPausedUponCreation: true},
		{DagID: "other", DisplayName: "ETL helper"},
	} {
		if _, err := s.DAGUpsert(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		p    store.DAGListParams
		want []string
	}{
		{"search in ids and display names, ignoring case", store.DAGListParams{Search: "ETL"}, []string{"etl_daily", "other"}},
		{"search ignoring the id's case", store.DAGListParams{Search: "REPORT"}, []string{"weeklyReport"}},
		{"search in a display name only", store.DAGListParams{Search: "nightly"}, []string{"etl_daily"}},
		{"search for _ matches it literally", store.DAGListParams{Search: "_"}, []string{"etl_daily"}},
		{"search for % matches it literally", store.DAGListParams{Search: "0%"}, []string{"x100%"}},
		{"search for a backslash", store.DAGListParams{Search: `\`}, nil},
		{"one tag", store.DAGListParams{Tags: []string{"team-a"}}, []string{"etl_daily", "held"}},
		{"any of two tags", store.DAGListParams{Tags: []string{"team-b", "prod"}}, []string{"etl_daily", "weeklyReport"}},
		{"a tag is matched whole", store.DAGListParams{Tags: []string{"team"}}, nil},
		{"a tag with quotes", store.DAGListParams{Tags: []string{`say "hi"`}}, []string{"x100%"}},
		{"tag, search and paused together", store.DAGListParams{Tags: []string{"team-a"}, Search: "e", Paused: ptr(false)}, []string{"etl_daily"}},
		{"filters and paging", store.DAGListParams{Search: "e", Limit: 2, Offset: 1}, []string{"held", "other"}},
	} {
		list, err := s.DAGList(ctx, &tt.p)
		if err != nil {
			t.Fatalf("DAGList %s: %v", tt.name, err)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.DagID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("DAGList %s = %v, want %v", tt.name, got, tt.want)
		}
		want := len(tt.want)
		if tt.p.Limit > 0 {
			want = 4 // etl_daily, held, other, weeklyReport
		}
		if n, err := s.DAGCount(ctx, &tt.p); err != nil || n != want {
			t.Errorf("DAGCount %s = %d, %v; want %d", tt.name, n, err, want)
		}
	}
	if tags, err := s.DAGTags(ctx, &store.DAGListParams{}); err != nil || !slices.Equal(tags, []string{"prod", `say "hi"`, "team-a", "team-b"}) {
		t.Errorf("DAGTags = %q, %v; want every tag once, sorted", tags, err)
	}
	if tags, err := s.DAGTags(ctx, &store.DAGListParams{Paused: ptr(true)}); err != nil || !slices.Equal(tags, []string{"team-a"}) {
		t.Errorf("DAGTags of the paused DAGs = %q, %v; want [team-a]", tags, err)
	}

	mustRun(t, s, "etl_daily", "r1", 0)
	mustRun(t, s, "etl_daily", "r2", 1)
	mustRun(t, s, "etl_daily", "r3", 2)
	mustRun(t, s, "other", "r1", 0)
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl_daily", RunID: "r2", To: dags.DagRunStateFailed}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.RunCountsByDAG(ctx, &store.RunCountsByDAGParams{DagIDs: []string{"etl_daily", "held"}})
	want := map[string]map[dags.DagRunState]int{"etl_daily": {dags.DagRunStateQueued: 2, dags.DagRunStateFailed: 1}}
	if err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("RunCountsByDAG = %v, %v; want %v (other's runs not counted)", counts, err, want)
	}
	if none, err := s.RunCountsByDAG(ctx, &store.RunCountsByDAGParams{}); err != nil || none == nil || len(none) != 0 {
		t.Errorf("RunCountsByDAG of no DAGs = %v, %v; want empty, nil", none, err)
	}
}

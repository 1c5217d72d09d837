package storetest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testRuns(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	conf := map[string]any{"n": int64(3), "f": 1.5, "list": []any{"a", int64(1), nil, true}, "nested": map[string]any{"k": "v"}}
	r, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "manual__1", RunType: dags.RunTypeManual,
		LogicalDate: base, DataIntervalStart: base, DataIntervalEnd: base.Add(time.Hour), Conf: conf, SourceHash: "h1", QueuedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	want := &store.DagRun{DagID: "etl", RunID: "manual__1", RunType: dags.RunTypeManual, State: dags.DagRunStateQueued,
		LogicalDate: store.Truncate(base), DataIntervalStart: store.Truncate(base), DataIntervalEnd: store.Truncate(base.Add(time.Hour)),
		Conf: conf, SourceHash: "h1", QueuedAt: store.Truncate(base), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("RunCreate =\n%+v\nwant\n%+v", r, want)
	}
	got, err := s.RunGet(ctx, "etl", "manual__1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("RunGet =\n%+v\nwant\n%+v", got, r)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want a UTC time", got.CreatedAt)
	}
	if _, err := s.RunGet(ctx, "etl", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunGet(nope): err = %v, want ErrNotFound", err)
	}

	invalid := []struct {
		name string
		p    store.RunCreateParams
		want error
	}{
		{"no run id", store.RunCreateParams{DagID: "etl", RunType: dags.RunTypeManual, LogicalDate: base}, store.ErrInvalid},
		{"unknown run type", store.RunCreateParams{DagID: "etl", RunID: "x", RunType: "cron", LogicalDate: base}, store.ErrInvalid},
		{"unknown state", store.RunCreateParams{DagID: "etl", RunID: "x", RunType: dags.RunTypeManual, State: "paused", LogicalDate: base}, store.ErrInvalid},
		{"no logical date", store.RunCreateParams{DagID: "etl", RunID: "x", RunType: dags.RunTypeManual}, store.ErrInvalid},
		{"conf not JSON", store.RunCreateParams{DagID: "etl", RunID: "x", RunType: dags.RunTypeManual, LogicalDate: base,
			Conf: map[string]any{"c": make(chan int)}}, store.ErrInvalid},
		{"conf over 1 MiB", store.RunCreateParams{DagID: "etl", RunID: "x", RunType: dags.RunTypeManual, LogicalDate: base,
			Conf: map[string]any{"big": strings.Repeat("x", store.MaxConfBytes)}}, store.ErrTooLarge},
	}
	for _, tt := range invalid {
		if _, err := s.RunCreate(ctx, &tt.p); !errors.Is(err, tt.want) {
			t.Errorf("RunCreate %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.RunGet(ctx, "etl", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused run was stored: %v", err)
	}
	// A conf just under the limit is accepted.
	okConf := map[string]any{"big": strings.Repeat("x", store.MaxConfBytes-20)}
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "big", RunType: dags.RunTypeManual, LogicalDate: base, Conf: okConf}); err != nil {
		t.Errorf("conf under the limit: %v", err)
	}

	// RunCount counts queued and running runs per DAG.
	mustRun(t, s, "etl", "s1", 1)
	mustRun(t, s, "other", "s1", 1)
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "s1", To: dags.DagRunStateSuccess}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.RunCount(ctx, &store.RunCountParams{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"etl": 2, "other": 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("RunCount = %v, want %v", counts, want)
	}
	counts, err = s.RunCount(ctx, &store.RunCountParams{DagID: "etl", States: []dags.DagRunState{dags.DagRunStateSuccess}})
	if err != nil || !reflect.DeepEqual(counts, map[string]int{"etl": 1}) {
		t.Errorf("RunCount(etl, success) = %v, %v", counts, err)
	}
}

func testRunUniqueness(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "scheduled__1", 0)
	tests := []struct {
		name string
		p    store.RunCreateParams
		want error
	}{
		{"same run id", store.RunCreateParams{DagID: "etl", RunID: "scheduled__1", RunType: dags.RunTypeManual, LogicalDate: base.Add(time.Hour)}, store.ErrConflict},
		{"scheduled run for a taken logical date", store.RunCreateParams{DagID: "etl", RunID: "scheduled__2", RunType: dags.RunTypeScheduled, LogicalDate: base}, store.ErrConflict},
		{"manual run for the same logical date", store.RunCreateParams{DagID: "etl", RunID: "manual__1", RunType: dags.RunTypeManual, LogicalDate: base}, nil},
		{"same run id in another DAG", store.RunCreateParams{DagID: "other", RunID: "scheduled__1", RunType: dags.RunTypeScheduled, LogicalDate: base}, nil},
	}
	for _, tt := range tests {
		_, err := s.RunCreate(ctx, &tt.p)
		if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want != nil && !strings.Contains(err.Error(), "etl") {
			t.Errorf("%s: error %q does not name the DAG", tt.name, err)
		}
	}
}

func testRunStateGuards(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	start := base.Add(time.Minute)
	r, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r", From: []dags.DagRunState{dags.DagRunStateQueued},
		To: dags.DagRunStateRunning, StartDate: start})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != dags.DagRunStateRunning || !r.StartDate.Equal(store.Truncate(start)) {
		t.Errorf("after queued → running: %+v", r)
	}
	// A second scheduler with the same stale view loses and changes nothing.
	_, err = s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r", From: []dags.DagRunState{dags.DagRunStateQueued},
		To: dags.DagRunStateFailed, EndDate: base.Add(time.Hour)})
	if !errors.Is(err, store.ErrStale) || !strings.Contains(err.Error(), "running") {
		t.Errorf("stale run transition: err = %v, want ErrStale naming the current state", err)
	}
	if got, _ := s.RunGet(ctx, "etl", "r"); got.State != dags.DagRunStateRunning || !got.EndDate.IsZero() {
		t.Errorf("stale transition changed the run: %+v", got)
	}
	end := base.Add(2 * time.Hour)
	r, err = s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r",
		From: []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning}, To: dags.DagRunStateSuccess, EndDate: end})
	if err != nil || r.State != dags.DagRunStateSuccess || !r.EndDate.Equal(store.Truncate(end)) || !r.StartDate.Equal(store.Truncate(start)) {
		t.Errorf("running → success: %+v, %v", r, err)
	}
	// Clearing a finished run (any state → queued) drops its end date.
	r, err = s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r", To: dags.DagRunStateQueued})
	if err != nil || r.State != dags.DagRunStateQueued || !r.EndDate.IsZero() {
		t.Errorf("cleared run: %+v, %v", r, err)
	}
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "nope", To: dags.DagRunStateQueued}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunSetState(nope): err = %v, want ErrNotFound", err)
	}
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r", To: "bogus"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RunSetState to an unknown state: err = %v, want ErrInvalid", err)
	}
}

func testRunList(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for i := range 5 {
		mustRun(t, s, "etl", "scheduled__"+string(rune('a'+i)), i)
	}
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "manual__x", RunType: dags.RunTypeManual, LogicalDate: base.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, "other", "scheduled__a", 0)
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "scheduled__b", To: dags.DagRunStateRunning}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    store.RunListParams
		want []string
	}{
		{"one DAG, newest first", store.RunListParams{DagID: "etl"},
			[]string{"scheduled__e", "scheduled__d", "scheduled__c", "manual__x", "scheduled__b", "scheduled__a"}},
		{"by state", store.RunListParams{DagID: "etl", States: []dags.DagRunState{dags.DagRunStateRunning}}, []string{"scheduled__b"}},
		{"by type", store.RunListParams{RunTypes: []dags.RunType{dags.RunTypeManual}}, []string{"manual__x"}},
		{"date range", store.RunListParams{DagID: "etl", RunTypes: []dags.RunType{dags.RunTypeScheduled},
			LogicalDateFrom: base.AddDate(0, 0, 1), LogicalDateTo: base.AddDate(0, 0, 3)}, []string{"scheduled__c", "scheduled__b"}},
		{"limit and offset", store.RunListParams{DagID: "etl", Limit: 2, Offset: 1}, []string{"scheduled__d", "scheduled__c"}},
		{"oldest first", store.RunListParams{DagID: "etl", OldestFirst: true, Limit: 3}, []string{"scheduled__a", "scheduled__b", "manual__x"}},
		{"every DAG", store.RunListParams{LogicalDateTo: base.AddDate(0, 0, 1)}, []string{"scheduled__a", "scheduled__a"}},
	}
	for _, tt := range tests {
		list, err := s.RunList(ctx, &tt.p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range list {
			got = append(got, r.RunID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RunList %s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func testCorruptConf(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "bad", 0)
	mustRun(t, s, "etl", "good", 1)
	h.Exec(t, s, `UPDATE dag_run SET conf = '{"unterminated": ' WHERE run_id = 'bad'`)
	_, err := s.RunGet(ctx, "etl", "bad")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "etl/bad") {
		t.Errorf("RunGet of a corrupt conf: err = %v, want ErrCorrupt naming the run", err)
	}
	if _, err := s.RunGet(ctx, "etl", "good"); err != nil {
		t.Errorf("another run is affected: %v", err)
	}
	list, err := s.RunList(ctx, &store.RunListParams{DagID: "etl"})
	if err != nil || len(list) != 2 {
		t.Fatalf("RunList with one corrupt conf = %d runs, %v; want both", len(list), err)
	}
	for _, r := range list {
		if (r.RunID == "bad") != (r.ConfError != "") {
			t.Errorf("run %s: ConfError = %q", r.RunID, r.ConfError)
		}
	}
	// The run's state can still be changed.
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "bad", To: dags.DagRunStateFailed}); err != nil {
		t.Errorf("RunSetState on a run with a corrupt conf: %v", err)
	}
}

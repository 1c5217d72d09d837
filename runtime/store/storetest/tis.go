package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testTaskInstancesCreate(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	run := mustRun(t, s, "etl", "r", 0)
	p := &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r", Tasks: []store.TaskInstanceCreate{
		{TaskID: "extract", MapIndex: store.NoMapIndex},
		{TaskID: "load", MapIndex: 0, State: dags.TaskStateScheduled, MaxTries: 4, Pool: "db", PoolSlots: 2, PriorityWeight: 7, Queue: "big", Operator: "sql"},
		{TaskID: "load", MapIndex: 1},
	}}
	n, err := s.TaskInstancesCreate(ctx, p)
	if err != nil || n != 3 {
		t.Fatalf("TaskInstancesCreate = %d, %v; want 3", n, err)
	}
	ti := mustTI(t, s, key("etl", "r", "extract"))
	want := store.TaskInstance{TaskInstanceKey: key("etl", "r", "extract"), State: dags.TaskStateNone, MaxTries: 1,
		Pool: store.DefaultPool, PoolSlots: 1, Queue: dags.DefaultQueue, LogicalDate: run.LogicalDate, UpdatedAt: ti.UpdatedAt}
	if !reflect.DeepEqual(*ti, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *ti, want)
	}
	ti = mustTI(t, s, store.TaskInstanceKey{DagID: "etl", RunID: "r", TaskID: "load", MapIndex: 0})
	if ti.State != dags.TaskStateScheduled || ti.MaxTries != 4 || ti.Pool != "db" || ti.PoolSlots != 2 || ti.PriorityWeight != 7 ||
		ti.Queue != "big" || ti.Operator != "sql" || ti.MapIndex != 0 {
		t.Errorf("mapped instance = %+v", ti)
	}
	// Creating again is harmless: existing instances are kept as they are.
	p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: "report", MapIndex: store.NoMapIndex})
	p.Tasks[1].State = dags.TaskStateNone
	if n, err := s.TaskInstancesCreate(ctx, p); err != nil || n != 1 {
		t.Errorf("second TaskInstancesCreate = %d, %v; want 1 new", n, err)
	}
	if ti := mustTI(t, s, store.TaskInstanceKey{DagID: "etl", RunID: "r", TaskID: "load", MapIndex: 0}); ti.State != dags.TaskStateScheduled {
		t.Errorf("re-creating changed an existing instance: %s", ti.State)
	}
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "nope",
		Tasks: []store.TaskInstanceCreate{{TaskID: "a", MapIndex: -1}}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("instances for a missing run: err = %v, want ErrNotFound", err)
	}
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r",
		Tasks: []store.TaskInstanceCreate{{TaskID: "a", MapIndex: -1, State: "weird"}}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown state: err = %v, want ErrInvalid", err)
	}
	if _, err := s.TaskInstanceGet(ctx, key("etl", "r", "nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TaskInstanceGet(nope): err = %v, want ErrNotFound", err)
	}
}

func testTaskInstanceSetState(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "t")
	k := key("etl", "r", "t")
	step := func(p store.TaskInstanceSetStateParams) *store.TaskInstance {
		t.Helper()
		p.Key = k
		ti, err := s.TaskInstanceSetState(ctx, &p)
		if err != nil {
			t.Fatalf("%v → %s: %v", p.From, p.To, err)
		}
		if got := mustTI(t, s, k); !reflect.DeepEqual(got, ti) {
			t.Errorf("returned instance differs from the stored one:\n%+v\n%+v", ti, got)
		}
		return ti
	}
	none, sched, queued, running := dags.TaskStateNone, dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning
	ti := step(store.TaskInstanceSetStateParams{From: []dags.TaskState{none}, To: sched})
	if ti.State != sched || ti.TryNumber != 0 {
		t.Errorf("scheduled: %+v", ti)
	}
	qAt := base.Add(time.Second)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{sched}, To: queued, QueuedAt: qAt})
	if !ti.QueuedAt.Equal(store.Truncate(qAt)) {
		t.Errorf("queued_at = %v", ti.QueuedAt)
	}
	start := base.Add(2 * time.Second)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{queued}, To: running, TryNumber: 1, Hostname: "w1", PID: 42, StartDate: start})
	if ti.TryNumber != 1 || ti.Hostname != "w1" || ti.PID != 42 || !ti.StartDate.Equal(store.Truncate(start)) ||
		!ti.HeartbeatAt.Equal(store.Truncate(start)) || !ti.EndDate.IsZero() || ti.Duration != 0 {
		t.Errorf("running: %+v", ti)
	}
	// A failed try with retries left: up_for_retry with a next retry time
	// and a duration computed from the start date.
	end := start.Add(1500 * time.Millisecond)
	retryAt := end.Add(5 * time.Minute)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{running}, FromTryNumber: 1, To: dags.TaskStateUpForRetry,
		EndDate: end, NextRetryAt: retryAt})
	if !ti.EndDate.Equal(store.Truncate(end)) || ti.Duration != store.Truncate(end).Sub(store.Truncate(start)) ||
		!ti.NextRetryAt.Equal(store.Truncate(retryAt)) || ti.Hostname != "w1" || ti.TryNumber != 1 {
		t.Errorf("up_for_retry: %+v (duration %v)", ti, ti.Duration)
	}
	// Back to scheduled: the retry time is cleared.
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{dags.TaskStateUpForRetry}, To: sched})
	if !ti.NextRetryAt.IsZero() {
		t.Errorf("next retry kept after rescheduling: %v", ti.NextRetryAt)
	}
	step(store.TaskInstanceSetStateParams{From: []dags.TaskState{sched}, To: queued})
	// The second try starts: the old end date and duration go away.
	start2 := end.Add(time.Minute)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{queued}, To: running, TryNumber: 2, Hostname: "w2", PID: 7, StartDate: start2})
	if !ti.EndDate.IsZero() || ti.Duration != 0 || ti.Hostname != "w2" || ti.TryNumber != 2 {
		t.Errorf("second try running: %+v", ti)
	}
	end2 := start2.Add(3 * time.Second)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{running}, FromTryNumber: 2, To: dags.TaskStateSuccess, EndDate: end2, MaxTries: 5})
	if ti.State != dags.TaskStateSuccess || ti.Duration != 3*time.Second || ti.MaxTries != 5 {
		t.Errorf("success: %+v", ti)
	}
	// A scheduler marking a never-started instance upstream_failed: it
	// has an end date but no duration.
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "down")
	ti, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("etl", "r", "down"), From: []dags.TaskState{none},
		To: dags.TaskStateUpstreamFailed, EndDate: end2})
	if err != nil || ti.Duration != 0 || ti.StartDate.IsZero() != true || !ti.EndDate.Equal(store.Truncate(end2)) {
		t.Errorf("upstream_failed: %+v, %v", ti, err)
	}
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("etl", "r", "t"), To: "bogus"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown state: err = %v, want ErrInvalid", err)
	}
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("etl", "r", "nope"), To: sched}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing instance: err = %v, want ErrNotFound", err)
	}
}

func testTaskInstanceStale(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, "t")
	k := key("etl", "r", "t")
	win := &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateQueued}, To: dags.TaskStateRunning,
		TryNumber: 1, Hostname: "w1", PID: 1, StartDate: base}
	if _, err := s.TaskInstanceSetState(ctx, win); err != nil {
		t.Fatal(err)
	}
	before := mustTI(t, s, k)
	tests := []struct {
		name string
		p    store.TaskInstanceSetStateParams
	}{
		{"a duplicate delivery of the same try", store.TaskInstanceSetStateParams{From: []dags.TaskState{dags.TaskStateQueued},
			To: dags.TaskStateRunning, TryNumber: 1, Hostname: "w2", PID: 2, StartDate: base.Add(time.Second)}},
		{"a result for an older try", store.TaskInstanceSetStateParams{From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 0 + 7,
			To: dags.TaskStateSuccess, EndDate: base.Add(time.Hour)}},
		{"a scheduler's stale view", store.TaskInstanceSetStateParams{From: []dags.TaskState{dags.TaskStateNone, dags.TaskStateScheduled},
			To: dags.TaskStateQueued}},
	}
	for _, tt := range tests {
		p := tt.p
		p.Key = k
		_, err := s.TaskInstanceSetState(ctx, &p)
		if !errors.Is(err, store.ErrStale) {
			t.Errorf("%s: err = %v, want ErrStale", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), "running") || !strings.Contains(err.Error(), k.String()) {
			t.Errorf("%s: error %q should name the instance and its current state", tt.name, err)
		}
		if after := mustTI(t, s, k); !reflect.DeepEqual(after, before) {
			t.Errorf("%s changed the instance:\n%+v\n%+v", tt.name, before, after)
		}
	}
}

func testTaskInstancesSetStates(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "a", "b", "c")
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "d")
	none := []dags.TaskState{dags.TaskStateNone}
	ps := []*store.TaskInstanceSetStateParams{
		{Key: key("etl", "r", "a"), From: none, To: dags.TaskStateScheduled},
		{Key: key("etl", "r", "b"), From: none, To: dags.TaskStateSkipped, EndDate: base},
		{Key: key("etl", "r", "d"), From: none, To: dags.TaskStateScheduled}, // stale: d is running
		{Key: key("etl", "r", "missing"), From: none, To: dags.TaskStateScheduled},
		{Key: key("etl", "r", "c"), From: none, To: dags.TaskStateUpstreamFailed},
	}
	applied, err := s.TaskInstancesSetStates(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, false, true}; !slices.Equal(applied, want) {
		t.Errorf("applied = %v, want %v", applied, want)
	}
	for id, want := range map[string]dags.TaskState{"a": dags.TaskStateScheduled, "b": dags.TaskStateSkipped, "c": dags.TaskStateUpstreamFailed, "d": dags.TaskStateRunning} {
		if got := mustTI(t, s, key("etl", "r", id)).State; got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	if _, err := s.TaskInstancesSetStates(ctx, []*store.TaskInstanceSetStateParams{{Key: key("etl", "r", "a"), To: "nope"}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("batch with an unknown state: err = %v, want ErrInvalid", err)
	}
	if applied, err := s.TaskInstancesSetStates(ctx, nil); err != nil || len(applied) != 0 {
		t.Errorf("empty batch = %v, %v", applied, err)
	}
}

func tiIDs(tis []*store.TaskInstance) []string {
	var out []string
	for _, ti := range tis {
		out = append(out, ti.RunID+"/"+ti.TaskID)
	}
	return out
}

func testTaskInstanceList(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r1", 0)
	mustRun(t, s, "etl", "r2", 1)
	mustRun(t, s, "other", "r1", 0)
	mustTIs(t, s, "etl", "r1", dags.TaskStateNone, "a", "b")
	mustTIs(t, s, "etl", "r2", dags.TaskStateQueued, "a")
	mustTIs(t, s, "other", "r1", dags.TaskStateNone, "x")
	run := func(taskKey store.TaskInstanceKey, host string, start time.Time) {
		t.Helper()
		if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: taskKey, To: dags.TaskStateRunning,
			TryNumber: 1, Hostname: host, StartDate: start}); err != nil {
			t.Fatal(err)
		}
	}
	run(key("etl", "r1", "a"), "w1", base)
	run(key("other", "r1", "x"), "w1", base.Add(time.Hour))
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("etl", "r1", "b"), To: dags.TaskStateUpForRetry,
		NextRetryAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    store.TaskInstanceListParams
		want []string
	}{
		{"a run", store.TaskInstanceListParams{DagID: "etl", RunID: "r1"}, []string{"r1/a", "r1/b"}},
		{"running by dag", store.TaskInstanceListParams{DagID: "etl", States: []dags.TaskState{dags.TaskStateRunning}}, []string{"r1/a"}},
		{"a task across runs", store.TaskInstanceListParams{DagID: "etl", TaskID: "a"}, []string{"r1/a", "r2/a"}},
		{"zombie candidates", store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateRunning}, HeartbeatBefore: base.Add(time.Minute)}, []string{"r1/a"}},
		{"retries due", store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateUpForRetry}, RetryDueBefore: base.Add(time.Minute)}, []string{"r1/b"}},
		{"retries not yet due", store.TaskInstanceListParams{RetryDueBefore: base}, nil},
		{"pool and queue", store.TaskInstanceListParams{Pool: store.DefaultPool, Queue: dags.DefaultQueue, States: []dags.TaskState{dags.TaskStateQueued}}, []string{"r2/a"}},
		{"limit and offset", store.TaskInstanceListParams{DagID: "etl", Limit: 1, Offset: 1}, []string{"r1/b"}},
		{"logical date from", store.TaskInstanceListParams{LogicalDateFrom: base.AddDate(0, 0, 1)}, []string{"r2/a"}},
		{"logical date to, exclusive", store.TaskInstanceListParams{DagID: "etl", LogicalDateTo: base.AddDate(0, 0, 1)}, []string{"r1/a", "r1/b"}},
		{"start date range, to exclusive", store.TaskInstanceListParams{StartDateFrom: base, StartDateTo: base.Add(time.Hour)}, []string{"r1/a"}},
		{"start date from leaves out the unstarted", store.TaskInstanceListParams{DagID: "etl", StartDateFrom: base.Add(-time.Hour)}, []string{"r1/a"}},
		{"both dates and a state", store.TaskInstanceListParams{LogicalDateFrom: base, LogicalDateTo: base.AddDate(0, 0, 1), StartDateTo: base.AddDate(0, 0, 1),
			States: []dags.TaskState{dags.TaskStateRunning}}, []string{"r1/a", "r1/x"}},
	}
	for _, tt := range tests {
		list, err := s.TaskInstanceList(ctx, &tt.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := tiIDs(list); !slices.Equal(got, tt.want) {
			t.Errorf("TaskInstanceList %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A heartbeat moves an instance out of the zombie candidates.
	if err := s.TaskInstanceHeartbeat(ctx, &store.TaskInstanceHeartbeatParams{Key: key("etl", "r1", "a"), TryNumber: 1, At: base.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	list, err := s.TaskInstanceList(ctx, &store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateRunning}, HeartbeatBefore: base.Add(time.Minute)})
	if err != nil || len(list) != 0 {
		t.Errorf("zombie candidates after a heartbeat = %v, %v", tiIDs(list), err)
	}
}

func testClaim(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "old", 0)
	mustRun(t, s, "etl", "new", 5)
	create := func(runID, taskID string, weight int, pool, queue string, state dags.TaskState) {
		t.Helper()
		if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: runID, Tasks: []store.TaskInstanceCreate{
			{TaskID: taskID, MapIndex: store.NoMapIndex, State: state, PriorityWeight: weight, Pool: pool, Queue: queue}}}); err != nil {
			t.Fatal(err)
		}
	}
	sched := dags.TaskStateScheduled
	create("new", "heavy", 10, "", "", sched)
	create("old", "light", 1, "", "", sched)
	create("new", "light", 1, "", "", sched)
	create("old", "heavy_waiting", 100, "", "", dags.TaskStateNone) // not scheduled: never claimed
	create("old", "db", 50, "db", "", sched)
	create("old", "gpu", 60, "", "gpu", sched)

	at := base.Add(time.Hour)
	got, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 1, Pool: "db", QueuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if ids := tiIDs(got); !slices.Equal(ids, []string{"old/db"}) {
		t.Errorf("claim in pool db = %v", ids)
	}
	got, err = s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 10, Queue: "gpu", QueuedAt: at})
	if err != nil || !slices.Equal(tiIDs(got), []string{"old/gpu"}) {
		t.Errorf("claim in queue gpu = %v, %v", tiIDs(got), err)
	}
	got, err = s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 2, QueuedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	// Highest weight first, then the oldest logical date.
	if ids := tiIDs(got); !slices.Equal(ids, []string{"new/heavy", "old/light"}) {
		t.Errorf("claim order = %v, want [new/heavy old/light]", ids)
	}
	for _, ti := range got {
		if ti.State != dags.TaskStateQueued || !ti.QueuedAt.Equal(store.Truncate(at)) {
			t.Errorf("claimed %s: state %s queued_at %v", ti.TaskInstanceKey, ti.State, ti.QueuedAt)
		}
		if stored := mustTI(t, s, ti.TaskInstanceKey); stored.State != dags.TaskStateQueued {
			t.Errorf("claimed %s is stored as %s", ti.TaskInstanceKey, stored.State)
		}
	}
	got, err = s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 10})
	if err != nil || !slices.Equal(tiIDs(got), []string{"new/light"}) {
		t.Errorf("last claim = %v, %v; want [new/light]", tiIDs(got), err)
	}
	got, err = s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 10})
	if err != nil || len(got) != 0 {
		t.Errorf("claim with nothing scheduled = %v, %v", tiIDs(got), err)
	}
	if _, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("claim without a limit: err = %v, want ErrInvalid", err)
	}
}

// testConcurrentClaims races 8 claimers over 200 scheduled instances: every
// instance is claimed exactly once.
func testConcurrentClaims(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	const runs, perRun, claimers = 4, 50, 8
	for r := range runs {
		runID := fmt.Sprintf("r%d", r)
		mustRun(t, s, "etl", runID, r)
		p := &store.TaskInstancesCreateParams{DagID: "etl", RunID: runID}
		for i := range perRun {
			p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: fmt.Sprintf("t%02d", i), MapIndex: store.NoMapIndex,
				State: dags.TaskStateScheduled, PriorityWeight: i % 5})
		}
		if _, err := s.TaskInstancesCreate(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[store.TaskInstanceKey]int{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 1 + c%3})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, ti := range got {
					seen[ti.TaskInstanceKey]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claimer: %v", err)
	}
	if len(seen) != runs*perRun {
		t.Errorf("claimed %d distinct instances, want %d", len(seen), runs*perRun)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", k, n)
		}
	}
	counts, err := s.TaskInstanceCounts(ctx, &store.TaskInstanceCountsParams{DagID: "etl", States: []dags.TaskState{dags.TaskStateScheduled}})
	if err != nil || len(counts) != 0 {
		t.Errorf("scheduled instances left: %v, %v", counts, err)
	}
}

func testHeartbeat(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, "t")
	k := key("etl", "r", "t")
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateRunning, TryNumber: 1, StartDate: base}); err != nil {
		t.Fatal(err)
	}
	at := base.Add(30 * time.Second)
	if err := s.TaskInstanceHeartbeat(ctx, &store.TaskInstanceHeartbeatParams{Key: k, TryNumber: 1, At: at}); err != nil {
		t.Fatal(err)
	}
	if ti := mustTI(t, s, k); !ti.HeartbeatAt.Equal(store.Truncate(at)) {
		t.Errorf("heartbeat_at = %v, want %v", ti.HeartbeatAt, at)
	}
	tests := []struct {
		name string
		p    store.TaskInstanceHeartbeatParams
		want error
	}{
		{"an older try", store.TaskInstanceHeartbeatParams{Key: k, TryNumber: 0, At: at}, store.ErrStale},
		{"a missing instance", store.TaskInstanceHeartbeatParams{Key: key("etl", "r", "nope"), TryNumber: 1}, store.ErrNotFound},
	}
	for _, tt := range tests {
		if err := s.TaskInstanceHeartbeat(ctx, &tt.p); !errors.Is(err, tt.want) {
			t.Errorf("heartbeat of %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// A user marks the task failed: the worker's next heartbeat says stop.
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateFailed, EndDate: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.TaskInstanceHeartbeat(ctx, &store.TaskInstanceHeartbeatParams{Key: k, TryNumber: 1, At: at}); !errors.Is(err, store.ErrStale) {
		t.Errorf("heartbeat after the task was failed: err = %v, want ErrStale", err)
	}
}

func testCounts(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r1", 0)
	mustRun(t, s, "etl", "r2", 1)
	mustRun(t, s, "other", "r1", 0)
	mustTIs(t, s, "etl", "r1", dags.TaskStateRunning, "a", "b")
	mustTIs(t, s, "etl", "r1", dags.TaskStateQueued, "c")
	mustTIs(t, s, "etl", "r2", dags.TaskStateRunning, "a")
	mustTIs(t, s, "other", "r1", dags.TaskStateSuccess, "x")
	active := []dags.TaskState{dags.TaskStateRunning, dags.TaskStateQueued}
	got, err := s.TaskInstanceCounts(ctx, &store.TaskInstanceCountsParams{States: active})
	if err != nil {
		t.Fatal(err)
	}
	want := []*store.TaskInstanceCount{
		{DagID: "etl", RunID: "r1", State: dags.TaskStateQueued, Count: 1},
		{DagID: "etl", RunID: "r1", State: dags.TaskStateRunning, Count: 2},
		{DagID: "etl", RunID: "r2", State: dags.TaskStateRunning, Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TaskInstanceCounts = %v, want %v", fmtCounts(got), fmtCounts(want))
	}
	got, err = s.TaskInstanceCounts(ctx, &store.TaskInstanceCountsParams{DagID: "other", RunID: "r1"})
	if err != nil || len(got) != 1 || got[0].State != dags.TaskStateSuccess || got[0].Count != 1 {
		t.Errorf("counts of other/r1 = %v, %v", fmtCounts(got), err)
	}
}

func fmtCounts(cs []*store.TaskInstanceCount) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s/%s %s=%d", c.DagID, c.RunID, c.State, c.Count))
	}
	return out
}

func testTaskInstanceExpand(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r", Tasks: []store.TaskInstanceCreate{
		{TaskID: "m", MapIndex: store.NoMapIndex, MaxTries: 3, Pool: "db", PoolSlots: 2, PriorityWeight: 5, Queue: "q", Operator: "task"},
		{TaskID: "one", MapIndex: store.NoMapIndex},
	}}); err != nil {
		t.Fatal(err)
	}
	from := []dags.TaskState{dags.TaskStateNone, dags.TaskStateScheduled}
	if err := s.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: key("etl", "r", "m"), From: from, Count: 3}); err != nil {
		t.Fatalf("TaskInstanceExpand: %v", err)
	}
	rows, err := s.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "etl", RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		if r.TaskID == "m" {
			got = append(got, fmt.Sprintf("%d:%s:%d:%s:%d:%d:%s", r.MapIndex, r.State, r.MaxTries, r.Pool, r.PoolSlots, r.PriorityWeight, r.Queue))
		}
	}
	slices.Sort(got)
	want := []string{"0:none:3:db:2:5:q", "1:none:3:db:2:5:q", "2:none:3:db:2:5:q"}
	if !slices.Equal(got, want) {
		t.Errorf("expanded rows = %v, want %v (map index -1 gone, settings copied)", got, want)
	}
	// A second expansion (another scheduler) finds nothing to expand.
	if err := s.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: key("etl", "r", "m"), From: from, Count: 3}); !errors.Is(err, store.ErrStale) {
		t.Errorf("second expansion: err = %v, want ErrStale", err)
	}
	// Count 1 leaves a single task instance with map index 0.
	if err := s.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: key("etl", "r", "one"), From: from, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if rows, err = s.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "etl", RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.TaskID == "one" {
			n++
			if r.MapIndex != 0 {
				t.Errorf("one expanded into map index %d, want 0", r.MapIndex)
			}
		}
	}
	if n != 1 {
		t.Errorf("expanding into 1 made %d task instances", n)
	}
	for _, bad := range []*store.TaskInstanceExpandParams{
		{Key: key("etl", "r", "x"), From: from, Count: 0},
		{Key: key("etl", "r", "x"), From: from, Count: dags.MaxMapLength + 1},
		{Key: store.TaskInstanceKey{DagID: "etl", RunID: "r", TaskID: "m", MapIndex: 2}, From: from, Count: 2},
	} {
		if err := s.TaskInstanceExpand(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("TaskInstanceExpand(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func testTaskInstanceStates(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustRun(t, s, "etl", "other", 1)
	for _, runID := range []string{"r", "other"} {
		if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: runID, Tasks: []store.TaskInstanceCreate{
			{TaskID: "b", MapIndex: store.NoMapIndex, MaxTries: 2},
			{TaskID: "a", MapIndex: 1},
			{TaskID: "a", MapIndex: 0, State: dags.TaskStateScheduled},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	retry := store.Truncate(base.Add(time.Minute))
	for _, p := range []store.TaskInstanceSetStateParams{
		{To: dags.TaskStateScheduled},
		{To: dags.TaskStateQueued},
		{To: dags.TaskStateRunning, TryNumber: 1, StartDate: base},
		{To: dags.TaskStateUpForRetry, EndDate: base, NextRetryAt: retry},
	} {
		p.Key = key("etl", "r", "b")
		if _, err := s.TaskInstanceSetState(ctx, &p); err != nil {
			t.Fatalf("→ %s: %v", p.To, err)
		}
	}
	got, err := s.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: "etl", RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TaskInstanceState{
		{TaskID: "a", MapIndex: 0, State: dags.TaskStateScheduled},
		{TaskID: "a", MapIndex: 1, State: dags.TaskStateNone},
		{TaskID: "b", MapIndex: store.NoMapIndex, State: dags.TaskStateUpForRetry, TryNumber: 1, NextRetryAt: retry},
	}
	if len(got) != len(want) {
		t.Fatalf("TaskInstanceStates = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.TaskID != w.TaskID || g.MapIndex != w.MapIndex || g.State != w.State || g.TryNumber != w.TryNumber || !g.NextRetryAt.Equal(w.NextRetryAt) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if got, err := s.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: "etl", RunID: "nope"}); err != nil || len(got) != 0 {
		t.Errorf("states of a missing run = %v, %v; want none", got, err)
	}

	// Filters: the scheduler reads only the task instances it decides over.
	ids := func(p *store.TaskInstanceStatesParams) string {
		t.Helper()
		p.DagID, p.RunID = "etl", "r"
		got, err := s.TaskInstanceStates(ctx, p)
		if err != nil {
			t.Fatalf("TaskInstanceStates(%+v): %v", p, err)
		}
		var out []string
		for _, g := range got {
			out = append(out, fmt.Sprintf("%s[%d]=%s", g.TaskID, g.MapIndex, g.State))
		}
		if p.States != nil {
			slices.Sort(out) // no order is promised with states
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name string
		p    store.TaskInstanceStatesParams
		want string
	}{
		{"by task, every map index", store.TaskInstanceStatesParams{TaskIDs: []string{"a", "zz"}}, "a[0]=scheduled a[1]=none"},
		{"by task, quotes in ids", store.TaskInstanceStatesParams{TaskIDs: []string{`b"'`, "b"}}, "b[-1]=up_for_retry"},
		{"no task", store.TaskInstanceStatesParams{TaskIDs: []string{}}, ""},
		{"by state", store.TaskInstanceStatesParams{States: []dags.TaskState{dags.TaskStateNone, dags.TaskStateUpForRetry}}, "a[1]=none b[-1]=up_for_retry"},
		{"by task and state", store.TaskInstanceStatesParams{TaskIDs: []string{"a", "b"}, States: []dags.TaskState{dags.TaskStateScheduled}}, "a[0]=scheduled"},
		{"no state", store.TaskInstanceStatesParams{States: []dags.TaskState{}}, ""},
		{"limited", store.TaskInstanceStatesParams{Limit: 1}, "a[0]=scheduled"},
	} {
		if got := ids(&c.p); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// Is any task instance of the run unfinished? One row answers.
	if got := ids(&store.TaskInstanceStatesParams{States: []dags.TaskState{dags.TaskStateUpForRetry, dags.TaskStateScheduled}, Limit: 1}); got != "a[0]=scheduled" && got != "b[-1]=up_for_retry" {
		t.Errorf("one task instance up for retry or scheduled: got %q", got)
	}

	// By priority: a page of the most urgent waiting task instances (what
	// a run at its max_active_tasks reads when a slot frees).
	mustRun(t, s, "etl", "prio", 2)
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "prio", Tasks: []store.TaskInstanceCreate{
		{TaskID: "low", MapIndex: store.NoMapIndex, PriorityWeight: 1},
		{TaskID: "mid2", MapIndex: store.NoMapIndex, PriorityWeight: 5},
		{TaskID: "mid1", MapIndex: store.NoMapIndex, PriorityWeight: 5},
		{TaskID: "top", MapIndex: store.NoMapIndex, PriorityWeight: 9, State: dags.TaskStateScheduled},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		limit int
		want  string
	}{{2, "mid1 mid2"}, {0, "mid1 mid2 low"}} {
		got, err := s.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: "etl", RunID: "prio",
			States: []dags.TaskState{dags.TaskStateNone}, Limit: c.limit, ByPriority: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range got {
			out = append(out, g.TaskID)
		}
		if strings.Join(out, " ") != c.want {
			t.Errorf("by priority, limit %d: got %q, want %q", c.limit, out, c.want)
		}
	}
}

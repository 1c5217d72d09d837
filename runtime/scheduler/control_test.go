package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

func fail(queue.Message) dags.TaskState { return dags.TaskStateFailed }

func (e *env) ti(dagID, runID, taskID string) *store.TaskInstance {
	e.t.Helper()
	ti, err := e.store.TaskInstanceGet(e.ctx, store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: store.NoMapIndex})
	if err != nil {
		e.t.Fatal(err)
	}
	return ti
}

func (e *env) run(dagID, runID string) *store.DagRun {
	e.t.Helper()
	r, err := e.store.RunGet(e.ctx, dagID, runID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func keyNames(keys []store.TaskInstanceKey) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.TaskID
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestClearFailedTaskRunsAgainWithAFreshBudget(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "clr", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b",
			tweak: func(d *dags.DAG) { d.Task("a").Retries = 1; d.Task("a").RetryDelay = 0 }}, now)
		e.tick(now)
		e.work(now, func(queue.Message) dags.TaskState { return dags.TaskStateUpForRetry })
		e.tick(now.Add(2 * time.Minute)) // the retry
		e.work(now, fail)
		run := e.runs("clr")[0]
		if got := e.states("clr", run.RunID); run.State != dags.DagRunStateFailed || got["a"] != "failed/2" || got["b"] != "upstream_failed/0" {
			t.Fatalf("before clearing: run %s, states %v", run.State, got)
		}
		key := store.TaskInstanceKey{DagID: "clr", RunID: run.RunID, TaskID: "a", MapIndex: store.NoMapIndex}
		if err := s.XComSet(e.ctx, &store.XComSetParams{TaskInstanceKey: key, Key: store.ReturnValueKey, Value: "old"}); err != nil {
			t.Fatal(err)
		}

		keys, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "clr", TaskRegex: "^a$", Downstream: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := keyNames(keys); got != "a b" {
			t.Fatalf("cleared %q, want a b", got)
		}
		a := e.ti("clr", run.RunID, "a")
		if a.State != dags.TaskStateNone || a.TryNumber != 2 || a.MaxTries != 4 || !a.NextRetryAt.IsZero() {
			t.Fatalf("a after clear: %s try %d max %d retry at %s; want none, try 2 kept, max 4 (2 + 1 retry + 1)", a.State, a.TryNumber, a.MaxTries, a.NextRetryAt)
		}
		if _, err := s.XComGet(e.ctx, &store.XComGetParams{TaskInstanceKey: key, Key: store.ReturnValueKey}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a's XCom after clear: %v, want it deleted", err)
		}
		if r := e.run("clr", run.RunID); r.State != dags.DagRunStateQueued || !r.EndDate.IsZero() {
			t.Fatalf("run after clear: %s ended %s, want queued without an end date", r.State, r.EndDate)
		}

		later := now.Add(time.Hour)
		if st := e.tick(later); st.RunsStarted != 1 {
			t.Fatalf("tick %+v: want the cleared run started again", st)
		}
		// The first new try fails and is retried: the budget is whole again.
		ran := e.work(later, func(m queue.Message) dags.TaskState {
			if m.TaskID == "a" && m.TryNumber == 3 {
				return dags.TaskStateUpForRetry
			}
			return dags.TaskStateSuccess
		})
		e.tick(later.Add(2 * time.Minute))
		ran = append(ran, e.work(later, succeed)...)
		if got := strings.Join(ran, " "); got != "a:3 a:4 b:1" {
			t.Fatalf("ran %s, want a:3 (retried) a:4 b:1", got)
		}
		if r := e.run("clr", run.RunID); r.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success", r.State)
		}
	})
}

func TestClearSelection(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-03T00:00:10Z")
	e.register(dagSpec{id: "sel", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a b c x", edges: "a>>b b>>c"}, now)
	e.tick(now)
	e.work(now, func(m queue.Message) dags.TaskState {
		if m.TaskID == "b" {
			return dags.TaskStateFailed
		}
		return dags.TaskStateSuccess
	})
	runs := e.runs("sel")
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	first, second := runs[0], runs[1]
	for _, r := range runs {
		if got := e.states("sel", r.RunID); got["b"] != "failed/1" || got["c"] != "upstream_failed/0" || got["x"] != "success/1" {
			t.Fatalf("run %s states %v", r.RunID, got)
		}
	}
	tests := []struct {
		name string
		p    scheduler.ClearParams
		want string // task ids cleared, over both runs
	}{
		{"every task", scheduler.ClearParams{}, "a a b b c c x x"},
		{"a regex matches anywhere in the id", scheduler.ClearParams{TaskRegex: "b|x"}, "b b x x"},
		{"downstream adds what follows", scheduler.ClearParams{TaskRegex: "^b$", Downstream: true}, "b b c c"},
		{"upstream adds what precedes", scheduler.ClearParams{TaskRegex: "^b$", Upstream: true}, "a a b b"},
		{"both directions", scheduler.ClearParams{TaskRegex: "^b$", Upstream: true, Downstream: true}, "a a b b c c"},
		{"only failed keeps failed and upstream_failed", scheduler.ClearParams{OnlyFailed: true}, "b b c c"},
		{"only failed after widening", scheduler.ClearParams{TaskRegex: "^a$", Downstream: true, OnlyFailed: true}, "b b c c"},
		{"a date range", scheduler.ClearParams{TaskRegex: "^x$", StartDate: second.LogicalDate, EndDate: second.LogicalDate}, "x"},
		{"an end date", scheduler.ClearParams{TaskRegex: "^x$", EndDate: first.LogicalDate}, "x"},
		{"a run id", scheduler.ClearParams{TaskRegex: "^x$", RunID: first.RunID}, "x"},
		{"no match", scheduler.ClearParams{TaskRegex: "^zzz$"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.DAGID, tc.p.DryRun = "sel", true
			keys, err := e.sched.Clear(e.ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyNames(keys); got != tc.want {
				t.Errorf("would clear %q, want %q", got, tc.want)
			}
		})
	}
	// The dry runs changed nothing.
	for _, r := range runs {
		if got := e.states("sel", r.RunID); got["b"] != "failed/1" || got["a"] != "success/1" {
			t.Fatalf("a dry run changed run %s: %v", r.RunID, got)
		}
		if got := e.run("sel", r.RunID); got.State != dags.DagRunStateFailed {
			t.Fatalf("a dry run changed run %s to %s", r.RunID, got.State)
		}
	}
	if _, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "sel", TaskRegex: "("}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad regex: %v, want ErrInvalid", err)
	}
	// A real clear of one run leaves the other alone.
	keys, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "sel", RunID: second.RunID, OnlyFailed: true})
	if err != nil || keyNames(keys) != "b c" {
		t.Fatalf("cleared %v, %v; want b c", keys, err)
	}
	if e.run("sel", first.RunID).State != dags.DagRunStateFailed || e.run("sel", second.RunID).State != dags.DagRunStateQueued {
		t.Fatalf("runs %s and %s, want failed and queued", e.run("sel", first.RunID).State, e.run("sel", second.RunID).State)
	}
}

func TestClearRunningTask(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "live", schedule: "@daily", start: "2024-01-01", tasks: "a"}, now)
	e.tick(now)
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "c", Max: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive %v %v", ds, err)
	}
	d := ds[0]
	key := store.TaskInstanceKey{DagID: "live", RunID: d.RunID, TaskID: "a", MapIndex: store.NoMapIndex}
	if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
		FromTryNumber: 1, To: dags.TaskStateRunning, StartDate: now}); err != nil {
		t.Fatal(err)
	}
	keys, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "live"})
	if err != nil || keyNames(keys) != "a" {
		t.Fatalf("cleared %v, %v", keys, err)
	}
	// The worker learns it at its next heartbeat, and cannot record.
	err = e.store.TaskInstanceHeartbeat(e.ctx, &store.TaskInstanceHeartbeatParams{Key: key, TryNumber: 1, At: now})
	if !errors.Is(err, store.ErrStale) {
		t.Fatalf("heartbeat of the cleared try: %v, want ErrStale", err)
	}
	_, err = e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateRunning},
		FromTryNumber: 1, To: dags.TaskStateSuccess, EndDate: now})
	if !errors.Is(err, store.ErrStale) {
		t.Fatalf("recording the cleared try: %v, want ErrStale", err)
	}
	if err := e.queue.Ack(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.tick(now)
	if got := e.states("live", d.RunID)["a"]; got != "queued/2" {
		t.Fatalf("a is %s, want queued again as try 2", got)
	}
}

func TestMarkState(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "mark", schedule: "@daily", start: "2024-01-01", tasks: "a b c", edges: "a>>b b>>c"}, now)
		e.tick(now)
		e.work(now, fail)
		run := e.runs("mark")[0]
		if run.State != dags.DagRunStateFailed {
			t.Fatalf("run %s", run.State)
		}
		keys, err := e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "mark", RunID: run.RunID, TaskID: "a", State: dags.TaskStateSuccess})
		if err != nil || keyNames(keys) != "a" {
			t.Fatalf("marked %v, %v; want a", keys, err)
		}
		if got := e.states("mark", run.RunID); got["a"] != "success/1" || got["b"] != "scheduled/1" || got["c"] != "none/0" {
			t.Fatalf("states %v: want a success and b scheduled at once (its upstream_failed cleared)", got)
		}
		if r := e.run("mark", run.RunID); r.State != dags.DagRunStateRunning {
			t.Fatalf("run %s, want running again", r.State)
		}
		e.tick(now)
		if ran := strings.Join(e.work(now, succeed), " "); ran != "b:1 c:1" {
			t.Fatalf("ran %s, want b:1 c:1", ran)
		}
		if r := e.run("mark", run.RunID); r.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success", r.State)
		}

		// Marking failed with downstream finishes the run failed at once.
		keys, err = e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "mark", RunID: run.RunID, TaskID: "b", State: dags.TaskStateFailed, Downstream: true})
		if err != nil || keyNames(keys) != "b c" {
			t.Fatalf("marked %v, %v; want b c", keys, err)
		}
		if r := e.run("mark", run.RunID); r.State != dags.DagRunStateFailed {
			t.Fatalf("run %s, want failed", r.State)
		}
		// Marking the failed leaf success makes the run succeed.
		if _, err := e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "mark", RunID: run.RunID, TaskID: "b", State: dags.TaskStateSuccess}); err != nil {
			t.Fatal(err)
		}
		if got := e.states("mark", run.RunID); got["b"] != "success/1" || got["c"] != "scheduled/2" {
			t.Fatalf("states %v: want c (failed by the mark) scheduled again", got)
		}
		if _, err := e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "mark", RunID: run.RunID, TaskID: "c", State: dags.TaskStateSuccess}); err != nil {
			t.Fatal(err)
		}
		if r := e.run("mark", run.RunID); r.State != dags.DagRunStateSuccess {
			t.Fatalf("run %s, want success", r.State)
		}

		for _, bad := range []scheduler.MarkParams{
			{DAGID: "mark", RunID: run.RunID, TaskID: "a", State: dags.TaskStateSkipped},
			{DAGID: "mark", RunID: run.RunID, TaskID: "nope", State: dags.TaskStateSuccess},
		} {
			if _, err := e.sched.MarkState(e.ctx, bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("mark %+v: %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "mark", RunID: "nope", TaskID: "a", State: dags.TaskStateSuccess}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown run: %v, want ErrNotFound", err)
		}
	})
}

// backfillRun is what one Backfill call did while the test played its
// worker.
type backfillRun struct {
	res        *scheduler.BackfillResult
	err        error
	ran        []string
	reports    []scheduler.BackfillProgress
	maxRunning int // the most backfill runs seen running at once
}

// backfill runs Backfill while playing a worker that finishes each try as
// outcome says, as the worker's AfterTry would: advance, then dispatch.
// onProgress, when set, sees each report (and may cancel the call).
func (e *env) backfill(ctx context.Context, p scheduler.BackfillParams, outcome func(queue.Message) dags.TaskState, onProgress func(scheduler.BackfillProgress)) *backfillRun {
	e.t.Helper()
	if p.Poll == 0 {
		p.Poll = 5 * time.Millisecond
	}
	out := &backfillRun{}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		out.res, out.err = e.sched.Backfill(ctx, p, func(pr scheduler.BackfillProgress) {
			mu.Lock()
			out.reports = append(out.reports, pr)
			mu.Unlock()
			if onProgress != nil {
				onProgress(pr)
			}
		})
	}()
	watch := func() {
		n, err := e.store.RunList(e.ctx, &store.RunListParams{DagID: p.DAGID, States: []dags.DagRunState{dags.DagRunStateRunning}, RunTypes: []dags.RunType{dags.RunTypeBackfill}})
		if err != nil {
			e.t.Fatal(err)
		}
		out.maxRunning = max(out.maxRunning, len(n))
	}
	for {
		select {
		case <-done:
			mu.Lock()
			defer mu.Unlock()
			return out
		default:
		}
		watch()
		ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "test", Max: 10, Block: 10 * time.Millisecond})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, d := range ds {
			now := time.Now()
			key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
			_, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
				FromTryNumber: d.TryNumber, To: dags.TaskStateRunning, StartDate: now})
			if err == nil {
				watch()
				p := &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: d.TryNumber, To: outcome(d.Message), EndDate: now}
				if _, err := e.store.TaskInstanceSetState(e.ctx, p); err != nil {
					e.t.Fatalf("finish %s: %v", key, err)
				}
				out.ran = append(out.ran, fmt.Sprintf("%s/%s:%d", strings.SplitN(d.RunID, "__", 2)[1][:10], d.TaskID, d.TryNumber))
			} else if !errors.Is(err, store.ErrStale) {
				e.t.Fatalf("start %s: %v", key, err)
			}
			if err := e.queue.Ack(e.ctx, d); err != nil {
				e.t.Fatal(err)
			}
			var st scheduler.TickStats
			if err := e.sched.Advance(e.ctx, d.DAGID, d.RunID, now, &st); err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.sched.DispatchDAG(e.ctx, d.DAGID, now); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func runSummary(runs []*store.DagRun) string {
	var out []string
	for _, r := range runs {
		out = append(out, fmt.Sprintf("%s:%s:%s", r.LogicalDate.Format("01-02"), r.RunType, r.State))
	}
	return strings.Join(out, " ")
}

func TestBackfillRunsExactlyTheScheduleIntervals(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		d := e.register(dagSpec{id: "bf", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b"}, at("2024-01-01T00:00:00Z"))
		// A manual run already holds one of the dates: it is kept.
		manual, err := e.sched.Trigger(e.ctx, scheduler.TriggerParams{DAGID: "bf", LogicalDate: at("2024-01-04T00:00:00Z")}, at("2024-01-10T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		// A scheduler daemon ticks all along: it must not start queued
		// backfill runs.
		ctx, cancel := context.WithCancel(e.ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = e.sched.Tick(ctx, time.Now())
				time.Sleep(2 * time.Millisecond)
			}
		}()
		p := scheduler.BackfillParams{DAGID: "bf", Start: at("2024-01-02T00:00:00Z"), End: at("2024-01-06T00:00:00Z"), MaxActiveRuns: 2}
		b := e.backfill(e.ctx, p, succeed, nil)
		cancel()
		wg.Wait()
		if b.err != nil {
			t.Fatal(b.err)
		}
		if !b.res.Complete || b.res.Done != 5 || b.res.Failed != 0 || b.res.Created != 4 || len(b.res.Runs) != 5 {
			t.Fatalf("result %+v", b.res)
		}
		var runs []*store.DagRun
		for _, r := range e.runs("bf") {
			if !r.LogicalDate.Before(p.Start) && !r.LogicalDate.After(p.End) { // leave the daemon's own runs out
				runs = append(runs, r)
			}
		}
		if got := runSummary(runs); got != "01-02:backfill:success 01-03:backfill:success 01-04:manual:success 01-05:backfill:success 01-06:backfill:success" {
			t.Fatalf("runs %s", got)
		}
		want, err := d.DagRunsBetween(p.Start, p.End, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range runs {
			if !r.LogicalDate.Equal(want[i].LogicalDate) {
				t.Errorf("run %s at %s, the schedule says %s", r.RunID, r.LogicalDate, want[i].LogicalDate)
			}
			if r.RunType == dags.RunTypeBackfill && (!r.DataIntervalStart.Equal(want[i].DataIntervalStart) || !r.DataIntervalEnd.Equal(want[i].DataIntervalEnd)) {
				t.Errorf("run %s covers [%s, %s), the schedule says [%s, %s)", r.RunID, r.DataIntervalStart, r.DataIntervalEnd, want[i].DataIntervalStart, want[i].DataIntervalEnd)
			}
			if r.RunType == dags.RunTypeBackfill && r.RunID != dags.RunID(dags.RunTypeBackfill, r.LogicalDate) {
				t.Errorf("run id %s", r.RunID)
			}
		}
		if runs[2].RunID != manual.RunID {
			t.Errorf("01-04 is run %s, want the manual run %s kept", runs[2].RunID, manual.RunID)
		}
		if b.maxRunning > 2 {
			t.Errorf("saw %d backfill runs running at once, want at most 2", b.maxRunning)
		}
		for _, r := range b.reports {
			if r.Running > 2 {
				t.Errorf("report %+v: more than 2 running", r)
			}
		}
		if n := len(b.reports); n != 6 || b.reports[0].Done != 0 || b.reports[5].Done != 5 || b.reports[5].Finished == nil {
			t.Errorf("reports %+v, want the first (0 done) and one per finished run", b.reports)
		}
		for i := 1; i < len(b.reports); i++ {
			if b.reports[i].Done != i || b.reports[i].Total != 5 {
				t.Errorf("report %d: %+v", i, b.reports[i])
			}
		}
	})
}

func TestBackfillDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	e.register(dagSpec{id: "dry", schedule: "0 6 * * *", start: "2024-01-01", tasks: "a"}, at("2024-01-01T00:00:00Z"))
	res, err := e.sched.Backfill(e.ctx, scheduler.BackfillParams{DAGID: "dry", Start: at("2024-01-01T00:00:00Z"), End: at("2024-01-03T06:00:00Z"), DryRun: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Dates {
		got = append(got, d.Format("01-02T15"))
	}
	if strings.Join(got, " ") != "01-01T06 01-02T06 01-03T06" {
		t.Fatalf("dates %v, want the three 06:00 ticks, both ends included", got)
	}
	if runs := e.runs("dry"); len(runs) != 0 {
		t.Fatalf("a dry run created %d runs", len(runs))
	}
	if _, err := e.sched.Backfill(e.ctx, scheduler.BackfillParams{DAGID: "dry", Start: at("2024-01-03T00:00:00Z"), End: at("2024-01-01T00:00:00Z"), DryRun: true}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("reversed range: %v, want ErrInvalid", err)
	}
}

func TestBackfillResumesAfterAnInterruption(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	e.register(dagSpec{id: "resume", schedule: "@daily", tasks: "a"}, at("2024-01-01T00:00:00Z"))
	p := scheduler.BackfillParams{DAGID: "resume", Start: at("2024-01-01T00:00:00Z"), End: at("2024-01-05T00:00:00Z"), MaxActiveRuns: 1}

	// Ctrl-C before anything started: the runs exist, all queued, and a
	// scheduler tick leaves them queued.
	ctx, cancel := context.WithCancel(e.ctx)
	b := e.backfill(ctx, p, succeed, func(scheduler.BackfillProgress) { cancel() })
	if !errors.Is(b.err, context.Canceled) || b.res.Complete || b.res.Created != 5 {
		t.Fatalf("interrupted at once: %v %+v", b.err, b.res)
	}
	if st := e.tick(time.Now()); st.RunsStarted != 0 {
		t.Fatalf("a tick started %d queued backfill runs", st.RunsStarted)
	}
	if got := runSummary(e.runs("resume")); strings.Count(got, "queued") != 5 {
		t.Fatalf("runs %s, want 5 queued", got)
	}

	// Ctrl-C after the first run finished: nothing more starts.
	ctx, cancel = context.WithCancel(e.ctx)
	b = e.backfill(ctx, p, succeed, func(pr scheduler.BackfillProgress) {
		if pr.Done == 1 {
			cancel()
		}
	})
	if !errors.Is(b.err, context.Canceled) || b.res.Done != 1 || b.res.Created != 0 {
		t.Fatalf("interrupted after one run: %v %+v", b.err, b.res)
	}
	if got := runSummary(e.runs("resume")); got != "01-01:backfill:success 01-02:backfill:queued 01-03:backfill:queued 01-04:backfill:queued 01-05:backfill:queued" {
		t.Fatalf("runs %s", got)
	}

	// The same command again finishes the rest, creating nothing twice.
	b = e.backfill(e.ctx, p, succeed, nil)
	if b.err != nil || !b.res.Complete || b.res.Created != 0 || b.res.Done != 5 {
		t.Fatalf("resumed: %v %+v", b.err, b.res)
	}
	if b.reports[0].Done != 1 {
		t.Errorf("first report %+v, want the finished run counted done at once", b.reports[0])
	}
	if got := strings.Join(b.ran, " "); got != "2024-01-02/a:1 2024-01-03/a:1 2024-01-04/a:1 2024-01-05/a:1" {
		t.Errorf("ran %s, want the four remaining runs, oldest first", got)
	}
	if b.maxRunning > 1 {
		t.Errorf("%d runs at once, want 1", b.maxRunning)
	}
	if n := len(e.runs("resume")); n != 5 {
		t.Fatalf("%d runs, want 5", n)
	}
}

func TestBackfillRerunsFailedTasksAndResetsRuns(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.register(dagSpec{id: "again", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b"}, at("2024-01-01T00:00:00Z"))
		p := scheduler.BackfillParams{DAGID: "again", Start: at("2024-01-01T00:00:00Z"), End: at("2024-01-03T00:00:00Z")}
		b := e.backfill(e.ctx, p, func(m queue.Message) dags.TaskState {
			if strings.Contains(m.RunID, "01-02") && m.TaskID == "a" {
				return dags.TaskStateFailed
			}
			return dags.TaskStateSuccess
		}, nil)
		if b.err != nil || b.res.Failed != 1 || b.res.Done != 3 {
			t.Fatalf("first backfill: %v %+v", b.err, b.res)
		}

		// Without flags, a second call only counts the finished runs.
		b = e.backfill(e.ctx, p, succeed, nil)
		if b.err != nil || len(b.ran) != 0 || b.res.Failed != 1 {
			t.Fatalf("plain second call ran %v (%v %+v), want nothing", b.ran, b.err, b.res)
		}

		p.RerunFailedTasks = true
		b = e.backfill(e.ctx, p, succeed, nil)
		if b.err != nil || b.res.Reset != 1 || b.res.Failed != 0 {
			t.Fatalf("rerun failed tasks: %v %+v", b.err, b.res)
		}
		if got := strings.Join(b.ran, " "); got != "2024-01-02/a:2 2024-01-02/b:1" {
			t.Fatalf("ran %s, want only the failed run's failed tasks", got)
		}

		p.RerunFailedTasks, p.ResetRuns = false, true
		b = e.backfill(e.ctx, p, succeed, nil)
		if b.err != nil || b.res.Reset != 3 || b.res.Done != 3 {
			t.Fatalf("reset runs: %v %+v", b.err, b.res)
		}
		sort.Strings(b.ran)
		if got := strings.Join(b.ran, " "); got != "2024-01-01/a:2 2024-01-01/b:2 2024-01-02/a:3 2024-01-02/b:2 2024-01-03/a:2 2024-01-03/b:2" {
			t.Fatalf("ran %s, want every task of every run again", got)
		}
		if got := runSummary(e.runs("again")); got != "01-01:backfill:success 01-02:backfill:success 01-03:backfill:success" {
			t.Fatalf("runs %s", got)
		}
	})
}

func TestClearedBackfillRunRestartsWithoutABackfill(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	// No start date: the scheduler makes no runs of its own, a backfill may.
	e.register(dagSpec{id: "bfc", schedule: "@daily", tasks: "a"}, at("2024-01-01T00:00:00Z"))
	b := e.backfill(e.ctx, scheduler.BackfillParams{DAGID: "bfc", Start: at("2024-01-01T00:00:00Z"), End: at("2024-01-01T00:00:00Z")}, succeed, nil)
	if b.err != nil || !b.res.Complete {
		t.Fatalf("%v %+v", b.err, b.res)
	}
	if _, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "bfc"}); err != nil {
		t.Fatal(err)
	}
	run := e.runs("bfc")[0]
	if run.State != dags.DagRunStateRunning {
		t.Fatalf("cleared backfill run is %s, want running (no tick starts queued backfill runs)", run.State)
	}
	now := time.Now()
	e.tick(now)
	if ran := strings.Join(e.work(now, succeed), " "); ran != "a:2" {
		t.Fatalf("ran %s", ran)
	}
	if got := e.run("bfc", run.RunID).State; got != dags.DagRunStateSuccess {
		t.Fatalf("run %s", got)
	}
}

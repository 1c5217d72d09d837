package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// versions is a DAGSource over DAGs registered by hash.
type versions struct {
	mu   sync.Mutex
	dags map[string]*dags.DAG // by dag id + "@" + hash
}

func (v *versions) DAG(_ context.Context, dagID, hash string) (*dags.DAG, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, ok := v.dags[dagID+"@"+hash]
	if !ok {
		return nil, fmt.Errorf("no DAG %s in version %s", dagID, hash)
	}
	return d, nil
}

type env struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	queue *memqueue.Queue
	src   *versions
	sched *scheduler.Scheduler
}

func setup(t *testing.T, s store.Store) *env {
	t.Helper()
	q := memqueue.New()
	t.Cleanup(func() { q.Close() })
	src := &versions{dags: map[string]*dags.DAG{}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &env{t: t, ctx: context.Background(), store: s, queue: q, src: src,
		sched: scheduler.New(s, q, src, logger, scheduler.Config{})}
}

// dagSpec builds a DAG: tasks "a b c" with edges "a>>b b>>c" and settings.
type dagSpec struct {
	id       string
	schedule string
	start    string
	catchup  bool
	tasks    string
	edges    string
	op       string // operator of every task (default "bash")
	tweak    func(*dags.DAG)
}

func (e *env) register(spec dagSpec, now time.Time) *dags.DAG {
	e.t.Helper()
	d := dags.New(spec.id, dags.Pos{File: spec.id + ".star", Line: 1})
	d.Schedule = dags.MustParseSchedule(spec.schedule)
	if spec.start != "" {
		var err error
		if d.StartDate, err = dags.ParseDate(spec.start, time.UTC); err != nil {
			e.t.Fatal(err)
		}
	}
	d.Catchup = spec.catchup
	op := spec.op
	if op == "" {
		op = dags.OperatorBash
	}
	for i, id := range strings.Fields(spec.tasks) {
		d.AddTask(dags.NewTask(id, op, dags.Pos{File: spec.id + ".star", Line: i + 2}))
	}
	for _, edge := range strings.Fields(spec.edges) {
		ends := strings.Split(edge, ">>")
		d.Connect(ends[0], ends[1], dags.Pos{})
	}
	if spec.tweak != nil {
		spec.tweak(d)
	}
	if fs := d.Finalize(); len(fs) > 0 {
		e.t.Fatal(fs)
	}
	hash := fmt.Sprintf("hash-%s-%d", spec.id, len(e.src.dags))
	d.SourceHash = hash
	e.src.mu.Lock()
	e.src.dags[spec.id+"@"+hash] = d
	e.src.mu.Unlock()
	if _, err := e.store.DAGUpsert(e.ctx, &store.DAGUpsertParams{DagID: d.ID, File: d.File, SourceHash: hash, Schedule: d.Schedule.String(),
		MaxActiveRuns: d.MaxActiveRuns, MaxActiveTasks: d.MaxActiveTasks, IsPausedUponCreation: d.IsPausedUponCreation}); err != nil {
		e.t.Fatal(err)
	}
	if next, ok := d.NextDagRun(nil, now); ok {
		if err := e.store.DAGSetNextRun(e.ctx, &store.DAGSetNextRunParams{DagID: d.ID, Next: store.NextRun{LogicalDate: next.LogicalDate,
			DataIntervalStart: next.DataIntervalStart, DataIntervalEnd: next.DataIntervalEnd, CreateAfter: next.RunAfter}}); err != nil {
			e.t.Fatal(err)
		}
	}
	return d
}

func (e *env) tick(now time.Time) scheduler.TickStats {
	e.t.Helper()
	st, err := e.sched.Tick(e.ctx, now)
	if err != nil {
		e.t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
	}
	return st
}

func (e *env) runs(dagID string) []*store.DagRun {
	e.t.Helper()
	runs, err := e.store.RunList(e.ctx, &store.RunListParams{DagID: dagID})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].LogicalDate.Before(runs[j].LogicalDate) })
	return runs
}

func (e *env) states(dagID, runID string) map[string]string {
	e.t.Helper()
	tis, err := e.store.TaskInstanceList(e.ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, ti := range tis {
		out[ti.TaskID] = fmt.Sprintf("%s/%d", ti.State, ti.TryNumber)
	}
	return out
}

// work plays a worker: it takes every queued message and finishes its try
// with the outcome the function gives.
func (e *env) work(now time.Time, outcome func(m queue.Message) dags.TaskState) []string {
	e.t.Helper()
	var ran []string
	for {
		ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "test", Queues: []string{"default"}, Max: 100})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(ds) == 0 {
			return ran
		}
		for _, d := range ds {
			key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
			if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
				FromTryNumber: d.TryNumber, To: dags.TaskStateRunning, StartDate: now}); err != nil {
				e.t.Fatalf("start %s: %v", key, err)
			}
			to := outcome(d.Message)
			p := &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: d.TryNumber, To: to, EndDate: now}
			if to == dags.TaskStateUpForRetry || to == dags.TaskStateUpForReschedule {
				p.NextRetryAt = now.Add(time.Minute)
			}
			if _, err := e.store.TaskInstanceSetState(e.ctx, p); err != nil {
				e.t.Fatalf("finish %s: %v", key, err)
			}
			ran = append(ran, fmt.Sprintf("%s:%d", d.TaskID, d.TryNumber))
			if err := e.queue.Ack(e.ctx, d); err != nil {
				e.t.Fatal(err)
			}
			// What the worker's mini-scheduler does: decide what follows
			// this task instance only.
			var st scheduler.TickStats
			if err := e.sched.AdvanceTasks(e.ctx, d.DAGID, d.RunID, []string{d.TaskID}, nil, now, &st); err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.sched.Dispatch(e.ctx, now); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func succeed(queue.Message) dags.TaskState { return dags.TaskStateSuccess }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func logicalDates(runs []*store.DagRun) string {
	var out []string
	for _, r := range runs {
		out = append(out, r.LogicalDate.Format("01-02T15"))
	}
	return strings.Join(out, " ")
}

func TestCatchupCreatesEveryMissedInterval(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-04T01:00:00Z")
		e.register(dagSpec{id: "daily", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a"}, now)
		st := e.tick(now)
		if st.RunsCreated != 3 {
			t.Fatalf("created %d runs, want 3 ([01-01,01-02) [01-02,01-03) [01-03,01-04))", st.RunsCreated)
		}
		runs := e.runs("daily")
		if got := logicalDates(runs); got != "01-01T00 01-02T00 01-03T00" {
			t.Fatalf("logical dates %s", got)
		}
		if runs[0].RunID != "scheduled__2024-01-01T00:00:00+00:00" || runs[0].RunType != dags.RunTypeScheduled {
			t.Errorf("run id %s type %s", runs[0].RunID, runs[0].RunType)
		}
		if !runs[2].DataIntervalEnd.Equal(at("2024-01-04T00:00:00Z")) {
			t.Errorf("last data interval ends %s", runs[2].DataIntervalEnd)
		}
		dag, err := s.DAGGet(e.ctx, "daily")
		if err != nil {
			t.Fatal(err)
		}
		if !dag.Next.LogicalDate.Equal(at("2024-01-04T00:00:00Z")) || !dag.Next.CreateAfter.Equal(at("2024-01-05T00:00:00Z")) {
			t.Errorf("next run %+v, want logical 01-04 created after 01-05", dag.Next)
		}
		// Nothing new until the next interval ends; then exactly one.
		if st := e.tick(at("2024-01-04T23:59:00Z")); st.RunsCreated != 0 {
			t.Errorf("created %d runs before the interval ended", st.RunsCreated)
		}
		if st := e.tick(at("2024-01-05T00:00:00Z")); st.RunsCreated != 1 {
			t.Errorf("created %d runs when the interval ended, want 1", st.RunsCreated)
		}
	})
}

func TestNoCatchupCreatesOnlyTheLatestInterval(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-11T10:00:00Z")
	e.register(dagSpec{id: "daily", schedule: "@daily", start: "2024-01-01", tasks: "a"}, now)
	e.tick(now)
	if got := logicalDates(e.runs("daily")); got != "01-10T00" {
		t.Fatalf("runs %q, want only 01-10 (Airflow's worked example)", got)
	}
}

func TestMaxActiveRunsKeepsTheRestQueued(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-06T00:30:00Z")
	e.register(dagSpec{id: "limited", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a",
		tweak: func(d *dags.DAG) { d.MaxActiveRuns = 2 }}, now)
	e.tick(now)
	count := func() map[dags.DagRunState]int {
		out := map[dags.DagRunState]int{}
		for _, r := range e.runs("limited") {
			out[r.State]++
		}
		return out
	}
	if c := count(); c[dags.DagRunStateRunning] != 2 || c[dags.DagRunStateQueued] != 3 {
		t.Fatalf("states %v, want 2 running and 3 queued", c)
	}
	e.work(now, succeed)
	e.tick(now)
	c := count()
	if c[dags.DagRunStateSuccess] != 2 || c[dags.DagRunStateRunning] != 2 || c[dags.DagRunStateQueued] != 1 {
		t.Fatalf("after the first two finished: %v, want 2 success, 2 running, 1 queued", c)
	}
	// The oldest queued runs start first.
	for _, r := range e.runs("limited")[:4] {
		if r.State == dags.DagRunStateQueued {
			t.Errorf("run %s is still queued while a newer one runs", r.RunID)
		}
	}
}

func TestRunGoesThroughItsTasksInOrder(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "chain", schedule: "@daily", start: "2024-01-01", tasks: "a b c", edges: "a>>b b>>c"}, now)
		st := e.tick(now)
		if st.RunsCreated != 1 || st.RunsStarted != 1 || st.Queued != 1 {
			t.Fatalf("first tick %+v: want 1 run created and started, a queued", st)
		}
		ran := e.work(now, succeed)
		if got := strings.Join(ran, " "); got != "a:1 b:1 c:1" {
			t.Fatalf("ran %s, want a:1 b:1 c:1 (the mini-scheduler queues each next task)", got)
		}
		run := e.runs("chain")[0]
		if run.State != dags.DagRunStateSuccess {
			t.Fatalf("run state %s", run.State)
		}
		if !run.EndDate.Equal(now) {
			t.Errorf("end date %s", run.EndDate)
		}
	})
}

func TestFailureRetriesThenFailsDownstream(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "flaky", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b",
		tweak: func(d *dags.DAG) { d.Task("a").Retries = 1 }}, now)
	e.tick(now)
	ran := e.work(now, func(m queue.Message) dags.TaskState {
		if m.TryNumber < 2 {
			return dags.TaskStateUpForRetry
		}
		return dags.TaskStateFailed
	})
	if got := strings.Join(ran, " "); got != "a:1" {
		t.Fatalf("ran %s before the retry delay, want a:1", got)
	}
	// The retry is not due before NextRetryAt (a minute later).
	if st := e.tick(now.Add(30 * time.Second)); st.Queued != 0 {
		t.Fatalf("queued %d before the retry was due", st.Queued)
	}
	later := now.Add(2 * time.Minute)
	e.tick(later)
	ran = e.work(later, func(queue.Message) dags.TaskState { return dags.TaskStateFailed })
	if got := strings.Join(ran, " "); got != "a:2" {
		t.Fatalf("ran %s, want the second try a:2", got)
	}
	run := e.runs("flaky")[0]
	if got := e.states("flaky", run.RunID); got["a"] != "failed/2" || got["b"] != "upstream_failed/0" {
		t.Fatalf("states %v", got)
	}
	if run.State != dags.DagRunStateFailed {
		t.Errorf("run %s, want failed", run.State)
	}
}

func TestEmptyTasksFinishWithoutAWorker(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "empties", schedule: "@daily", start: "2024-01-01", tasks: "a b c d", edges: "a>>b b>>c a>>d", op: dags.OperatorEmpty}, now)
	st := e.tick(now)
	if st.Queued != 0 || st.RunsFinished != 1 {
		t.Fatalf("tick %+v: want the run finished in one tick with nothing queued", st)
	}
	run := e.runs("empties")[0]
	if got := e.states("empties", run.RunID); got["c"] != "success/0" || got["d"] != "success/0" {
		t.Fatalf("states %v", got)
	}
}

func TestPoolSlotsAndPriority(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	if err := e.store.PoolSet(e.ctx, &store.PoolSetParams{Name: "tiny", Slots: 2}); err != nil {
		t.Fatal(err)
	}
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "pooled", schedule: "@daily", start: "2024-01-01", tasks: "low mid high other",
		tweak: func(d *dags.DAG) {
			for id, w := range map[string]int{"low": 1, "mid": 5, "high": 10} {
				d.Task(id).Pool = "tiny"
				d.Task(id).PriorityWeight = w
			}
		}}, now)
	st := e.tick(now)
	if st.Queued != 3 {
		t.Fatalf("queued %d, want 2 of the pool's 3 and the one outside it", st.Queued)
	}
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "c", Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.TaskID)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "high,mid,other" {
		t.Fatalf("queued %v, want the two highest-priority pool tasks and other", got)
	}
}

func TestMaxActiveTasksLimitsARun(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "wide", schedule: "@daily", start: "2024-01-01", tasks: "t1 t2 t3 t4 t5",
		tweak: func(d *dags.DAG) { d.MaxActiveTasks = 2 }}, now)
	if st := e.tick(now); st.Queued != 2 {
		t.Fatalf("queued %d, want max_active_tasks = 2", st.Queued)
	}
	ran := e.work(now, succeed)
	if len(ran) != 5 {
		t.Fatalf("ran %v, want all 5 in the end", ran)
	}
}

func TestZombieIsRetried(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "zombie", schedule: "@daily", start: "2024-01-01", tasks: "a",
		tweak: func(d *dags.DAG) { d.Task("a").Retries = 1; d.Task("a").RetryDelay = 0 }}, now)
	e.tick(now)
	ds, _ := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "c", Max: 1})
	key := store.TaskInstanceKey{DagID: "zombie", RunID: ds[0].RunID, TaskID: "a", MapIndex: -1}
	if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
		To: dags.TaskStateRunning, StartDate: now}); err != nil {
		t.Fatal(err)
	}
	// The worker dies: no heartbeat for longer than the zombie timeout.
	st := e.tick(now.Add(scheduler.DefaultZombieTimeout + time.Minute))
	if st.Zombies != 1 {
		t.Fatalf("zombies %d, want 1", st.Zombies)
	}
	if got := e.states("zombie", ds[0].RunID)["a"]; got != "queued/2" {
		t.Fatalf("a is %s, want it retried and queued again as try 2", got)
	}
}

func TestDagrunTimeoutFailsTheRun(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "slow", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b",
		tweak: func(d *dags.DAG) { d.DagrunTimeout = time.Hour }}, now)
	e.tick(now)
	st := e.tick(now.Add(2 * time.Hour))
	if st.TimedOut != 1 {
		t.Fatalf("timed out %d runs, want 1", st.TimedOut)
	}
	run := e.runs("slow")[0]
	if run.State != dags.DagRunStateFailed {
		t.Fatalf("run %s", run.State)
	}
	if got := e.states("slow", run.RunID); got["a"] != "skipped/1" || got["b"] != "skipped/0" {
		t.Fatalf("states %v, want unfinished tasks skipped", got)
	}
}

func TestPausedDAGGetsNoRunsAndTriggeredRunsWait(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-05T00:00:10Z")
	e.register(dagSpec{id: "paused", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a"}, now)
	if err := e.store.DAGSetPaused(e.ctx, "paused", true); err != nil {
		t.Fatal(err)
	}
	if st := e.tick(now); st.RunsCreated != 0 {
		t.Fatalf("a paused DAG got %d runs", st.RunsCreated)
	}
	run, err := e.sched.Trigger(e.ctx, scheduler.TriggerParams{DAGID: "paused", Conf: map[string]any{"x": int64(1)}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.RunID, "manual__2024-01-05T00:00:10") || run.Conf["x"] != int64(1) {
		t.Fatalf("manual run %s conf %v", run.RunID, run.Conf)
	}
	e.tick(now)
	if got, _ := e.store.RunGet(e.ctx, "paused", run.RunID); got.State != dags.DagRunStateQueued {
		t.Fatalf("a manual run of a paused DAG is %s, want queued", got.State)
	}
	if err := e.store.DAGSetPaused(e.ctx, "paused", false); err != nil {
		t.Fatal(err)
	}
	st := e.tick(now)
	if st.RunsCreated != 4 {
		t.Errorf("after unpausing, created %d scheduled runs, want the 4 missed intervals", st.RunsCreated)
	}
	if got, _ := e.store.RunGet(e.ctx, "paused", run.RunID); got.State != dags.DagRunStateRunning {
		t.Errorf("manual run is %s after unpausing, want running", got.State)
	}
}

func TestTwoSchedulersNeverDuplicateWork(t *testing.T) {
	t.Parallel()
	s := testdb.Postgres(t)
	a, b := setup(t, s), setup(t, s)
	b.src, b.queue = a.src, a.queue
	b.sched = scheduler.New(s, a.queue, a.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
	now := at("2024-01-11T00:00:10Z")
	a.register(dagSpec{id: "ha", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "x y z"}, now)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, e := range []*env{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := e.sched.Tick(e.ctx, now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(a.runs("ha")); n != 10 {
		t.Fatalf("%d runs, want exactly 10", n)
	}
	seen := map[string]int{}
	for {
		ds, err := a.queue.Receive(a.ctx, queue.ReceiveParams{Consumer: "c", Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			seen[d.RunID+"/"+d.TaskID]++
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d distinct task instances queued, want 30 (10 runs x 3 tasks)", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s queued %d times", k, n)
		}
	}
}

func TestDependsOnPastWaitsForThePreviousRun(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-03T00:00:10Z")
	e.register(dagSpec{id: "dop", schedule: "@daily", start: "2024-01-01", catchup: true, tasks: "a",
		tweak: func(d *dags.DAG) { d.Task("a").DependsOnPast = true }}, now)
	st := e.tick(now)
	if st.RunsCreated != 2 || st.Queued != 1 {
		t.Fatalf("tick %+v: want 2 runs and only the first run's task queued", st)
	}
	runs := e.runs("dop")
	ran := e.work(now, func(queue.Message) dags.TaskState { return dags.TaskStateFailed })
	if len(ran) != 1 {
		t.Fatalf("ran %v", ran)
	}
	e.tick(now)
	if got := e.states("dop", runs[1].RunID)["a"]; got != "none/0" {
		t.Fatalf("second run's a is %s while the first run's a failed; want none/0 (waiting)", got)
	}
	// A user marks the first one successful: the second may go.
	key := store.TaskInstanceKey{DagID: "dop", RunID: runs[0].RunID, TaskID: "a", MapIndex: -1}
	if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, To: dags.TaskStateSuccess}); err != nil {
		t.Fatal(err)
	}
	// A change made straight in the database raises no event: the sweep
	// finds it.
	e.tick(now.Add(scheduler.DefaultSweepInterval))
	if got := e.states("dop", runs[1].RunID)["a"]; got != "queued/1" {
		t.Fatalf("second run's a is %s after the first succeeded; want queued/1", got)
	}
}

// pausingStore holds the first TaskInstanceStates of a run, after reading
// it, until released: an advance that decided from a list that is already
// old.
type pausingStore struct {
	store.Store
	once    sync.Once
	read    chan struct{}
	release chan struct{}
}

func (p *pausingStore) TaskInstanceStates(ctx context.Context, q *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	tis, err := p.Store.TaskInstanceStates(ctx, q)
	p.once.Do(func() {
		close(p.read)
		<-p.release
	})
	return tis, err
}

func TestMiniSchedulingCallsDuringAnAdvanceAreNotLost(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour)
	e.register(dagSpec{id: "wide", schedule: "@hourly", start: now.Add(-time.Hour).Format(time.RFC3339), tasks: "t1 t2 t3 join",
		edges: "t1>>join t2>>join t3>>join"}, now.Add(time.Minute))
	e.tick(now.Add(time.Minute))
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "c", Max: 100})
	if err != nil || len(ds) != 3 {
		t.Fatalf("received %d messages (%v), want the 3 roots", len(ds), err)
	}
	finish := func(d queue.Delivery) {
		key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
		for _, to := range []dags.TaskState{dags.TaskStateRunning, dags.TaskStateSuccess} {
			if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, To: to, StartDate: now, EndDate: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ps := &pausingStore{Store: e.store, read: make(chan struct{}), release: make(chan struct{})}
	e.sched.Store = ps
	// The first try finishes and its advance reads the run while the
	// others still run; the other two finish while that advance decides.
	finish(ds[0])
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.sched.AdvanceAndDispatch(e.ctx, store.TaskInstanceKey{DagID: ds[0].DAGID, RunID: ds[0].RunID, TaskID: ds[0].TaskID, MapIndex: ds[0].MapIndex})
	}()
	<-ps.read
	for _, d := range ds[1:] {
		finish(d)
		e.sched.AdvanceAndDispatch(e.ctx, store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}) // coalesced: returns at once
	}
	close(ps.release)
	<-done
	if got := e.states("wide", ds[0].RunID)["join"]; got != "queued/1" {
		t.Fatalf("join is %s after every upstream finished; want queued/1 (the coalesced calls must advance again)", got)
	}
}

// rowCounter counts the task instance rows the scheduler reads to decide.
type rowCounter struct {
	store.Store
	rows atomic.Int64
}

func (c *rowCounter) TaskInstanceStates(ctx context.Context, p *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	rows, err := c.Store.TaskInstanceStates(ctx, p)
	c.rows.Add(int64(len(rows)))
	return rows, err
}

// A run at its max_active_tasks: each freed slot goes to the most urgent
// waiting task (Airflow queues by priority weight), found in a page of the
// run's waiting task instances, not by reading the whole run.
func TestMaxActiveTasksFreedSlotReadsAPage(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	now := at("2024-01-02T00:00:10Z")
	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%03d", i)
	}
	e.register(dagSpec{id: "wide", schedule: "@daily", start: "2024-01-01", tasks: strings.Join(ids, " "),
		tweak: func(d *dags.DAG) {
			d.MaxActiveTasks = 4
			for i, id := range ids {
				d.Task(id).PriorityWeight = (i*7)%10 + 1
			}
		}}, now)
	if st := e.tick(now); st.Queued != 4 {
		t.Fatalf("queued %d, want max_active_tasks = 4", st.Queued)
	}
	rc := &rowCounter{Store: e.store}
	e.sched.Store = rc
	var prios []int
	ran := e.work(now, func(m queue.Message) dags.TaskState {
		prios = append(prios, m.Priority)
		return dags.TaskStateSuccess
	})
	if len(ran) != n {
		t.Fatalf("ran %d task instances, want %d", len(ran), n)
	}
	if runs := e.runs("wide"); len(runs) != 1 || runs[0].State != dags.DagRunStateSuccess {
		t.Fatalf("run %+v, want it succeeded", runs)
	}
	// The first four were scheduled by the run's first advance; every
	// freed slot since went to the most urgent task left.
	for i := 5; i < len(prios); i++ {
		if prios[i] > prios[i-1] {
			t.Fatalf("task %d started with priority %d after one of %d: %v", i, prios[i], prios[i-1], prios)
		}
	}
	// Reading the whole run after each try would be n rows a try; a page
	// (64 rows), the active ones and the finished one are far fewer.
	if per := float64(rc.rows.Load()) / n; per > n/3 {
		t.Errorf("read %.0f task instance rows per finished try, want well below the run's %d", per, n)
	}
}

package executor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

const (
	testDAG    = "d"
	testHash   = "hash-v1"
	testHost   = "test-host"
	waitLonger = 15 * time.Second
)

var logicalDate = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// runSeq numbers the runs of the tests, so that tests may share a store.
var runSeq atomic.Int32

// fakeSource is a DAGSource with one stored version; other hashes are
// "gone".
type fakeSource struct{ dag *dags.DAG }

func (f fakeSource) DAG(_ context.Context, dagID, hash string) (*dags.DAG, error) {
	if hash != testHash || dagID != f.dag.ID {
		return nil, fmt.Errorf("DAG version %s: %w", hash, store.ErrNotFound)
	}
	return f.dag, nil
}

func (f fakeSource) Functions(_ context.Context, hash string) (operators.FunctionRunner, error) {
	if hash != testHash {
		return nil, fmt.Errorf("DAG version %s: %w", hash, store.ErrNotFound)
	}
	return nil, nil
}

// env is one worker over a real store and an in-process queue, with a DAG
// whose task ids are also their operator kinds.
type env struct {
	t      *testing.T
	run    string
	st     store.Store
	q      *memqueue.Queue
	w      *executor.Worker
	dag    *dags.DAG
	calls  sync.Map // task id -> *atomic.Int32: operator calls
	after  atomic.Int32
	notify *memqueue.Notifier
}

// task describes one task of the test DAG.
type task struct {
	id      string
	op      operators.OperatorFunc
	retries int
}

func newEnv(t *testing.T, st store.Store, tasks ...task) *env {
	t.Helper()
	e := &env{t: t, run: fmt.Sprintf("r%d", runSeq.Add(1)), st: st, q: memqueue.New(), notify: memqueue.NewNotifier()}
	t.Cleanup(func() { e.q.Close(); e.notify.Close() })
	reg := operators.NewRegistry()
	d := dags.New(testDAG, dags.Pos{File: "d.star", Line: 1})
	var creates []store.TaskInstanceCreate
	for _, tk := range tasks {
		n := new(atomic.Int32)
		e.calls.Store(tk.id, n)
		op := tk.op
		if op == nil {
			op = func(context.Context, *operators.Call) (*operators.Result, error) { return operators.Success(nil), nil }
		}
		reg.Register(tk.id, operators.OperatorFunc(func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			n.Add(1)
			return op(ctx, c)
		}))
		dt := dags.NewTask(tk.id, tk.id, dags.Pos{File: "d.star", Line: 2})
		dt.Retries = tk.retries
		dt.RetryDelay = 7 * time.Second
		d.AddTask(dt)
		creates = append(creates, store.TaskInstanceCreate{TaskID: tk.id, MapIndex: store.NoMapIndex, MaxTries: tk.retries + 1, Operator: tk.id})
	}
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatalf("test DAG: %v", fs)
	}
	e.dag = d
	ctx := context.Background()
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{DagID: testDAG, RunID: e.run, RunType: dags.RunTypeManual,
		LogicalDate: logicalDate, SourceHash: testHash, Conf: map[string]any{"who": "conf"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: testDAG, RunID: e.run, Tasks: creates}); err != nil {
		t.Fatal(err)
	}
	e.w = &executor.Worker{
		Store: st, Queue: e.q, DAGs: fakeSource{dag: d}, Runner: &executor.TryRunner{Registry: reg},
		Notifier:          e.notify,
		AfterTry:          func(context.Context, store.TaskInstanceKey) { e.after.Add(1) },
		Concurrency:       4,
		Hostname:          testHost,
		Logs:              tasklog.New(st, t.TempDir(), testHost),
		HeartbeatInterval: 50 * time.Millisecond,
		ReclaimIdle:       time.Minute,
		DrainGrace:        5 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return e
}

// testLog writes the worker's own log to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (e *env) key(taskID string) store.TaskInstanceKey {
	return store.TaskInstanceKey{DagID: testDAG, RunID: e.run, TaskID: taskID, MapIndex: store.NoMapIndex}
}

// calls returns how many times the operator of taskID ran.
func (e *env) callsOf(taskID string) int {
	n, _ := e.calls.Load(taskID)
	return int(n.(*atomic.Int32).Load())
}

// setState moves a task instance as the scheduler would.
func (e *env) setState(taskID string, from, to dags.TaskState, try int) {
	e.t.Helper()
	if _, err := e.st.TaskInstanceSetState(context.Background(), &store.TaskInstanceSetStateParams{
		Key: e.key(taskID), From: []dags.TaskState{from}, To: to, TryNumber: try,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// readyTry schedules and queues try `try` of taskID, as the scheduler
// does, and returns its message.
func (e *env) readyTry(taskID string, try int) queue.Message {
	e.t.Helper()
	e.setState(taskID, dags.TaskStateNone, dags.TaskStateScheduled, try)
	e.setState(taskID, dags.TaskStateScheduled, dags.TaskStateQueued, 0)
	return queue.Message{DAGID: testDAG, RunID: e.run, TaskID: taskID, MapIndex: store.NoMapIndex, TryNumber: try, SourceHash: testHash}
}

// queueTry readies a try and enqueues its message.
func (e *env) queueTry(taskID string, try int) queue.Message {
	e.t.Helper()
	m := e.readyTry(taskID, try)
	e.enqueue(m)
	return m
}

func (e *env) enqueue(ms ...queue.Message) {
	e.t.Helper()
	if err := e.q.Enqueue(context.Background(), ms...); err != nil {
		e.t.Fatal(err)
	}
}

// start runs the worker until the returned stop is called (or the test
// ends); stop waits for Run to return and checks its error.
func (e *env) start() (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run = %v", err)
				}
			case <-time.After(waitLonger):
				e.t.Fatal("Run did not return after its context ended")
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// ti returns the stored task instance.
func (e *env) ti(taskID string) *store.TaskInstance {
	e.t.Helper()
	ti, err := e.st.TaskInstanceGet(context.Background(), e.key(taskID))
	if err != nil {
		e.t.Fatal(err)
	}
	return ti
}

// waitState waits until taskID is in one of states and returns it.
func (e *env) waitState(taskID string, states ...dags.TaskState) *store.TaskInstance {
	e.t.Helper()
	deadline := time.Now().Add(waitLonger)
	for {
		ti := e.ti(taskID)
		for _, s := range states {
			if ti.State == s {
				return ti
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s is %s, want one of %v", taskID, ti.State, states)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDrained waits until the queue holds nothing, ready or pending.
func (e *env) waitDrained() {
	e.t.Helper()
	deadline := time.Now().Add(waitLonger)
	for {
		ready, pending, err := e.q.Depth(context.Background(), queue.DefaultQueue)
		if err != nil {
			e.t.Fatal(err)
		}
		if ready == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("queue not drained: %d ready, %d pending", ready, pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logOf returns the stored log of one try.
func (e *env) logOf(taskID string, try int) string {
	e.t.Helper()
	var out []byte
	var off int64
	for {
		c, err := e.w.Logs.Read(context.Background(), &store.TaskLogReadParams{Key: e.key(taskID), TryNumber: try, Offset: off})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c.Data...)
		if len(c.Data) == 0 || c.NextOffset == off {
			return string(out)
		}
		off = c.NextOffset
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLonger)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestWorkerRecordsASuccessfulTry(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		if err := st.VariableSet(ctx, &store.VariableSetParams{Key: "api_key", Value: "s3cr3t-api-key", Secret: true}); err != nil {
			t.Fatal(err)
		}
		var pulled any
		var conf any
		e := newEnv(t, st, task{id: "up"}, task{id: "work", op: func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			c.Logf("connecting with password hunter2-pw")
			v, ok, err := c.Variables.Get(ctx, "api_key")
			if err != nil || !ok {
				return nil, fmt.Errorf("variable: %v %v", ok, err)
			}
			c.Logf("using key %s", v)
			if pulled, _, err = c.XCom.Pull(ctx, "up", "return_value"); err != nil {
				return nil, err
			}
			if _, ok, err := c.XCom.Pull(ctx, "nobody", "return_value"); ok || err != nil {
				return nil, fmt.Errorf("pull of a missing xcom = %v, %v", ok, err)
			}
			conf = c.Params["who"]
			time.Sleep(20 * time.Millisecond)
			fmt.Fprint(c.Log, "last line without a newline")
			return operators.Success(map[string]any{"rows": 3}), nil
		}})
		e.w.Masker = secrets.NewMasker("hunter2-pw")
		// An upstream XCom to pull, and a stale XCom of an earlier try that must go.
		if err := st.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: e.key("up"), Key: "return_value", Value: "from-up"}); err != nil {
			t.Fatal(err)
		}
		if err := st.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: e.key("work"), Key: "stale", Value: 1}); err != nil {
			t.Fatal(err)
		}
		events, err := e.notify.Subscribe(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		e.queueTry("work", 1)
		e.start()
		ti := e.waitState("work", dags.TaskStateSuccess)
		e.waitDrained()

		if ti.TryNumber != 1 || ti.Hostname != testHost || ti.PID != os.Getpid() {
			t.Errorf("try %d on %s pid %d, want try 1 on %s pid %d", ti.TryNumber, ti.Hostname, ti.PID, testHost, os.Getpid())
		}
		if ti.StartDate.IsZero() || ti.EndDate.Before(ti.StartDate) || ti.Duration < 20*time.Millisecond {
			t.Errorf("start %v end %v duration %v", ti.StartDate, ti.EndDate, ti.Duration)
		}
		if pulled != "from-up" || conf != "conf" {
			t.Errorf("pulled %v, params.who %v", pulled, conf)
		}
		x, err := st.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: e.key("work"), Key: "return_value"})
		if err != nil || fmt.Sprint(x.Value) != "map[rows:3]" {
			t.Errorf("return_value = %v, %v", x, err)
		}
		if _, err := st.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: e.key("work"), Key: "stale"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stale xcom of an earlier try: %v, want it cleared", err)
		}
		log := e.logOf("work", 1)
		for _, want := range []string{"starting try 1 of 1 on test-host", "connecting with password ***\n", "using key ***\n", "last line without a newline\n"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if strings.Contains(log, "hunter2-pw") || strings.Contains(log, "s3cr3t-api-key") {
			t.Errorf("log shows a secret:\n%s", log)
		}
		local, err := os.ReadFile(filepath.Join(e.w.Logs.Dir, "dag_id=d", "run_id="+e.run, "task_id=work", "attempt=1.log"))
		if err != nil || string(local) != log {
			t.Errorf("log file = %q, %v; want the log read back %q", local, err, log)
		}
		if row, err := st.TaskLogFileGet(ctx, e.key("work"), 1); err != nil || row.Size != int64(len(log)) || row.Hostname != testHost {
			t.Errorf("index row = %+v, %v; want size %d on %s", row, err, len(log), testHost)
		}
		if n := e.after.Load(); n != 1 {
			t.Errorf("AfterTry called %d times, want 1", n)
		}
		select {
		case ev := <-events:
			if ev.Kind != queue.EventTaskFinished || ev.TaskID != "work" || ev.RunID != e.run || ev.MapIndex != store.NoMapIndex {
				t.Errorf("event %+v", ev)
			}
		case <-time.After(waitLonger):
			t.Error("no task finished event")
		}
	})
}

func TestWorkerRecordsFailures(t *testing.T) {
	t.Parallel()
	boom := func(context.Context, *operators.Call) (*operators.Result, error) { return nil, errors.New("boom") }
	final := func(context.Context, *operators.Call) (*operators.Result, error) {
		return nil, operators.Fail(errors.New("no point retrying"))
	}
	cases := []struct {
		name    string
		op      operators.OperatorFunc
		retries int
		try     int
		// maxTries overrides the stored max_tries (retries+1).
		maxTries int
		want     dags.TaskState
	}{
		{"a failed try with retries left is up for retry", boom, 2, 1, 0, dags.TaskStateUpForRetry},
		{"the second of three tries is up for retry", boom, 2, 2, 0, dags.TaskStateUpForRetry},
		{"the last try fails", boom, 2, 3, 0, dags.TaskStateFailed},
		{"a task without retries fails", boom, 0, 1, 0, dags.TaskStateFailed},
		{"a final error fails despite retries", final, 3, 1, 0, dags.TaskStateFailed},
		{"the store's max_tries wins over the task's retries", boom, 0, 1, 2, dags.TaskStateUpForRetry},
	}
	testdb.Each(t, func(t *testing.T, st store.Store) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, st, task{id: "t", op: c.op, retries: c.retries})
				if c.maxTries > 0 { // as after a clear or an interrupted try
					if _, err := st.TaskInstanceSetState(context.Background(), &store.TaskInstanceSetStateParams{
						Key: e.key("t"), To: dags.TaskStateNone, MaxTries: c.maxTries}); err != nil {
						t.Fatal(err)
					}
				}
				e.queueTry("t", c.try)
				e.start()
				ti := e.waitState("t", dags.TaskStateUpForRetry, dags.TaskStateFailed)
				if ti.State != c.want {
					t.Fatalf("state %s, want %s; log:\n%s", ti.State, c.want, e.logOf("t", c.try))
				}
				if ti.TryNumber != c.try {
					t.Errorf("try number %d, want %d (unchanged)", ti.TryNumber, c.try)
				}
				if c.want == dags.TaskStateUpForRetry {
					if want := ti.EndDate.Add(7 * time.Second); !ti.NextRetryAt.Equal(want) {
						t.Errorf("next retry at %v, want end + 7s = %v", ti.NextRetryAt, want)
					}
				} else if !ti.NextRetryAt.IsZero() {
					t.Errorf("a failed task has a next retry at %v", ti.NextRetryAt)
				}
				if log := e.logOf("t", c.try); !strings.Contains(log, "error: ") {
					t.Errorf("log lacks the error:\n%s", log)
				}
			})
		}
	})
}

func TestWorkerAppliesTheSkipsOfABranch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t),
		task{id: "branch", op: func(context.Context, *operators.Call) (*operators.Result, error) {
			return &operators.Result{Skip: []string{"none", "scheduled", "retrying", "done", "queued"}, Message: "follow kept"}, nil
		}},
		task{id: "kept"}, task{id: "none"}, task{id: "scheduled"}, task{id: "retrying"}, task{id: "done"}, task{id: "queued"})
	e.setState("scheduled", dags.TaskStateNone, dags.TaskStateScheduled, 1)
	e.setState("retrying", dags.TaskStateNone, dags.TaskStateUpForRetry, 1)
	e.setState("done", dags.TaskStateNone, dags.TaskStateSuccess, 1)
	e.setState("queued", dags.TaskStateNone, dags.TaskStateScheduled, 1)
	e.setState("queued", dags.TaskStateScheduled, dags.TaskStateQueued, 1)
	e.queueTry("branch", 1)
	e.start()
	e.waitState("branch", dags.TaskStateSuccess)
	want := map[string]dags.TaskState{
		"kept": dags.TaskStateNone, "none": dags.TaskStateSkipped, "scheduled": dags.TaskStateSkipped,
		"retrying": dags.TaskStateSkipped, "done": dags.TaskStateSuccess, "queued": dags.TaskStateQueued,
	}
	for id, st := range want {
		ti := e.ti(id)
		if ti.State != st {
			t.Errorf("%s is %s, want %s", id, ti.State, st)
		}
		if st == dags.TaskStateSkipped && ti.EndDate.IsZero() {
			t.Errorf("skipped %s has no end date", id)
		}
	}
	if log := e.logOf("branch", 1); !strings.Contains(log, "follow kept") {
		t.Errorf("log lacks the branch message:\n%s", log)
	}
}

func TestWorkerRunsADuplicateDeliveryOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		release := make(chan struct{})
		e := newEnv(t, st, task{id: "t", op: func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			<-release
			return operators.Success("once"), nil
		}})
		e.w.Concurrency = 3
		m := e.queueTry("t", 1)
		e.enqueue(m, m) // delivered again while the first delivery runs
		e.start()
		waitFor(t, "the first try to start", func() bool { return e.callsOf("t") == 1 })
		waitFor(t, "the duplicates to be dropped", func() bool {
			_, pending, _ := e.q.Depth(context.Background(), queue.DefaultQueue)
			return pending == 1
		})
		close(release)
		e.waitState("t", dags.TaskStateSuccess)
		e.enqueue(m) // and once more after it finished
		e.waitDrained()
		if n := e.callsOf("t"); n != 1 {
			t.Errorf("operator ran %d times, want 1", n)
		}
		if n := e.after.Load(); n != 1 {
			t.Errorf("AfterTry called %d times, want 1", n)
		}
		if ti := e.ti("t"); ti.TryNumber != 1 {
			t.Errorf("try number %d, want 1", ti.TryNumber)
		}
	})
}

func TestWorkerStopsATryMarkedByAUser(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		started := make(chan struct{})
		stopped := make(chan time.Time, 1)
		e := newEnv(t, st, task{id: "t", retries: 3, op: func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			close(started)
			<-ctx.Done()
			stopped <- time.Now()
			return nil, ctx.Err()
		}})
		e.queueTry("t", 1)
		e.start()
		<-started
		e.waitState("t", dags.TaskStateRunning)
		marked := time.Now()
		if _, err := st.TaskInstanceSetState(context.Background(), &store.TaskInstanceSetStateParams{
			Key: e.key("t"), From: []dags.TaskState{dags.TaskStateRunning}, To: dags.TaskStateFailed, EndDate: marked,
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-stopped:
			// Two heartbeats are 100 ms; allow for a slow, race-enabled run.
			if d := at.Sub(marked); d > 500*time.Millisecond {
				t.Errorf("try stopped %s after it was marked, want within about two heartbeats", d)
			}
		case <-time.After(waitLonger):
			t.Fatal("the try was not cancelled")
		}
		e.waitDrained()
		ti := e.ti("t")
		if ti.State != dags.TaskStateFailed || !ti.NextRetryAt.IsZero() {
			t.Errorf("%s with next retry %v: the user's mark was overwritten", ti.State, ti.NextRetryAt)
		}
		if n := e.after.Load(); n != 0 {
			t.Errorf("AfterTry called %d times for an unrecorded try", n)
		}
		waitFor(t, "the stop note in the log", func() bool { return strings.Contains(e.logOf("t", 1), "try stopped") })
	})
}

func TestWorkerShutdown(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		sleep    time.Duration // how long the task runs unless cancelled
		grace    time.Duration
		want     dags.TaskState
		maxTries int
	}{
		{"a try that outlives the drain grace is interrupted and retried", time.Hour, 100 * time.Millisecond, dags.TaskStateUpForRetry, 2},
		{"a try that ends within the drain grace is recorded", 200 * time.Millisecond, 10 * time.Second, dags.TaskStateSuccess, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{})
			e := newEnv(t, testdb.SQLite(t), task{id: "t", op: func(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
				close(started)
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(c.sleep):
					return operators.Success(nil), nil
				}
			}})
			e.w.DrainGrace = c.grace
			e.queueTry("t", 1)
			stop := e.start()
			<-started
			e.waitState("t", dags.TaskStateRunning)
			stopAt := time.Now()
			stop()
			if d := time.Since(stopAt); d > c.grace+2*time.Second {
				t.Errorf("Run took %s to return", d)
			}
			ti := e.ti("t")
			if ti.State != c.want || ti.MaxTries != c.maxTries || ti.TryNumber != 1 {
				t.Fatalf("%s at try %d with max tries %d, want %s with max tries %d", ti.State, ti.TryNumber, ti.MaxTries, c.want, c.maxTries)
			}
			e.waitDrained() // acknowledged
			if n := e.after.Load(); n != 1 {
				t.Errorf("AfterTry called %d times, want 1", n)
			}
			log := e.logOf("t", 1)
			if c.want == dags.TaskStateUpForRetry {
				if ti.NextRetryAt.Before(stopAt.Truncate(time.Microsecond)) || ti.NextRetryAt.After(time.Now()) {
					t.Errorf("next retry at %v, want the time of the interruption (after %v)", ti.NextRetryAt, stopAt)
				}
				if !strings.Contains(log, "interrupted by worker shutdown") {
					t.Errorf("log lacks the interruption:\n%s", log)
				}
			} else if strings.Contains(log, "interrupted") {
				t.Errorf("a try that finished says it was interrupted:\n%s", log)
			}
		})
	}
}

func TestWorkerRespectsItsConcurrency(t *testing.T) {
	t.Parallel()
	var active, peak atomic.Int32
	// Tries wait until two ran at once (or 10 s): on a loaded machine a
	// try's 60 ms could end before the worker started the next one.
	two := make(chan struct{})
	var twoOnce sync.Once
	op := func(context.Context, *operators.Call) (*operators.Result, error) {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= 2 {
			twoOnce.Do(func() { close(two) })
		}
		select {
		case <-two:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(60 * time.Millisecond)
		active.Add(-1)
		return operators.Success(nil), nil
	}
	var tasks []task
	for i := range 7 {
		tasks = append(tasks, task{id: fmt.Sprintf("t%d", i), op: op})
	}
	e := newEnv(t, testdb.SQLite(t), tasks...)
	e.w.Concurrency = 2
	for _, tk := range tasks {
		e.queueTry(tk.id, 1)
	}
	e.start()
	var seen atomic.Int32
	waitFor(t, "every task to finish", func() bool {
		if n := int32(len(e.w.Running())); n > seen.Load() {
			seen.Store(n)
		}
		for _, tk := range tasks {
			if e.ti(tk.id).State != dags.TaskStateSuccess {
				return false
			}
		}
		return true
	})
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrent tries %d, want 2", p)
	}
	if n := seen.Load(); n < 1 || n > 2 {
		t.Errorf("Running() showed up to %d tries, want 1 or 2", n)
	}
	e.waitDrained()
	if n := e.after.Load(); n != int32(len(tasks)) {
		t.Errorf("AfterTry called %d times, want %d", n, len(tasks))
	}
	if r := e.w.Running(); len(r) != 0 {
		t.Errorf("Running() = %v after every try ended", r)
	}
}

func TestWorkerFailsTriesItCannotLoad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, task, hash, want string
	}{
		{"a DAG version that is gone", "t", "hash-gone", "cannot run: DAG d version hash-gone"},
		{"a task that the DAG version lacks", "extra", testHash, `cannot run: task "extra" is not in DAG d`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testdb.SQLite(t), task{id: "t", retries: 3})
			if _, err := e.st.TaskInstancesCreate(context.Background(), &store.TaskInstancesCreateParams{DagID: testDAG, RunID: e.run,
				Tasks: []store.TaskInstanceCreate{{TaskID: "extra", MapIndex: store.NoMapIndex, MaxTries: 4}}}); err != nil {
				t.Fatal(err)
			}
			m := e.readyTry(c.task, 1)
			m.SourceHash = c.hash
			e.enqueue(m)
			e.start()
			ti := e.waitState(c.task, dags.TaskStateFailed, dags.TaskStateUpForRetry)
			if ti.State != dags.TaskStateFailed {
				t.Errorf("state %s, want failed without a retry", ti.State)
			}
			if log := e.logOf(c.task, 1); !strings.Contains(log, c.want) {
				t.Errorf("log lacks %q:\n%s", c.want, log)
			}
			if n := e.callsOf("t"); n != 0 {
				t.Errorf("operator ran %d times", n)
			}
		})
	}
}

func TestWorkerKeepsEveryLogLine(t *testing.T) {
	t.Parallel()
	var want strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&want, "line %05d %s\n", i, strings.Repeat("x", 40))
	}
	want.WriteString(strings.Repeat("y", 100<<10)) // a long last line without an end
	e := newEnv(t, testdb.SQLite(t), task{id: "t", op: func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		text := want.String()
		for len(text) > 0 { // odd-sized writes that split lines
			n := min(len(text), 777)
			if _, err := c.Log.Write([]byte(text[:n])); err != nil {
				return nil, err
			}
			text = text[n:]
		}
		return operators.Success(nil), nil
	}})
	e.queueTry("t", 1)
	e.start()
	e.waitState("t", dags.TaskStateSuccess)
	log := e.logOf("t", 1)
	_, body, _ := strings.Cut(log, "\n") // after the worker's first line
	if body != want.String()+"\n" {
		t.Errorf("stored log has %d bytes after the first line, want %d", len(body), want.Len()+1)
	}
}

func TestWorkerReclaimsTheDeliveriesOfADeadConsumer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), task{id: "t"})
	e.w.ReclaimIdle = 200 * time.Millisecond
	e.queueTry("t", 1)
	ds, err := e.q.Receive(context.Background(), queue.ReceiveParams{Consumer: "dead-worker"})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive = %v, %v", ds, err)
	}
	e.start()
	e.waitState("t", dags.TaskStateSuccess)
	e.waitDrained()
	if n := e.callsOf("t"); n != 1 {
		t.Errorf("operator ran %d times, want 1", n)
	}
}

func TestWorkerRefusesABadConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), task{id: "t"})
	cases := []struct {
		name  string
		tweak func(w *executor.Worker)
		want  string
	}{
		{"no store", func(w *executor.Worker) { w.Store = nil }, "no Store"},
		{"no queue", func(w *executor.Worker) { w.Queue = nil }, "no Queue"},
		{"no DAG source", func(w *executor.Worker) { w.DAGs = nil }, "no DAGs"},
		{"no runner", func(w *executor.Worker) { w.Runner = nil }, "no TryRunner"},
		{"a lease shorter than three heartbeats", func(w *executor.Worker) { w.ReclaimIdle = 2 * w.HeartbeatInterval }, "at least three heartbeat"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &executor.Worker{Store: e.w.Store, Queue: e.w.Queue, DAGs: e.w.DAGs, Runner: e.w.Runner, HeartbeatInterval: time.Second}
			c.tweak(w)
			if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// BenchmarkWorkerTries measures the worker's throughput on no-op tries over
// SQLite: win, clear XComs, run, flush the log, record, ack. The tries are
// the map indexes of one task.
func BenchmarkWorkerTries(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			st := testdb.SQLite(b)
			ctx := context.Background()
			q := memqueue.New()
			defer q.Close()
			reg := operators.NewRegistry()
			reg.Register("noop", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
				return operators.Success(nil), nil
			}))
			d := dags.New(testDAG, dags.Pos{File: "d.star", Line: 1})
			d.AddTask(dags.NewTask("t", "noop", dags.Pos{File: "d.star", Line: 2}))
			d.Finalize()
			if _, err := st.RunCreate(ctx, &store.RunCreateParams{DagID: testDAG, RunID: "bench", RunType: dags.RunTypeManual, LogicalDate: logicalDate}); err != nil {
				b.Fatal(err)
			}
			creates := make([]store.TaskInstanceCreate, b.N)
			msgs := make([]queue.Message, b.N)
			for i := range creates {
				creates[i] = store.TaskInstanceCreate{TaskID: "t", MapIndex: i, State: dags.TaskStateScheduled}
				msgs[i] = queue.Message{DAGID: testDAG, RunID: "bench", TaskID: "t", MapIndex: i, TryNumber: 1, SourceHash: testHash}
			}
			if _, err := st.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: testDAG, RunID: "bench", Tasks: creates}); err != nil {
				b.Fatal(err)
			}
			var ps []*store.TaskInstanceSetStateParams
			for i := range creates {
				ps = append(ps, &store.TaskInstanceSetStateParams{Key: store.TaskInstanceKey{DagID: testDAG, RunID: "bench", TaskID: "t", MapIndex: i},
					To: dags.TaskStateQueued, TryNumber: 1})
			}
			if _, err := st.TaskInstancesSetStates(ctx, ps); err != nil {
				b.Fatal(err)
			}
			if err := q.Enqueue(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			var done atomic.Int32
			all := make(chan struct{})
			w := &executor.Worker{Store: st, Queue: q, DAGs: fakeSource{dag: d}, Runner: &executor.TryRunner{Registry: reg},
				Concurrency: conc, Hostname: testHost, Logger: slog.New(slog.DiscardHandler),
				AfterTry: func(context.Context, store.TaskInstanceKey) {
					if int(done.Add(1)) == b.N {
						close(all)
					}
				}}
			runCtx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			b.ResetTimer()
			go func() { errc <- w.Run(runCtx) }()
			<-all
			b.StopTimer()
			cancel()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tries/s")
		})
	}
}

// outageStore is a real store that, while down, fails the calls a worker
// makes to start and record tries as an unreachable database does.
type outageStore struct {
	store.Store
	down  atomic.Bool
	pings atomic.Int32
	// failedEnds counts the ends of tries refused while down.
	failedEnds atomic.Int32
}

var errUnreachable = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (o *outageStore) TaskInstanceSetState(ctx context.Context, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	if o.down.Load() {
		return nil, errUnreachable
	}
	return o.Store.TaskInstanceSetState(ctx, p)
}

func (o *outageStore) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	if o.down.Load() {
		o.failedEnds.Add(1)
		return nil, errUnreachable
	}
	return o.Store.TaskInstanceEnd(ctx, p)
}

func (o *outageStore) TaskInstancesEnd(ctx context.Context, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	if o.down.Load() {
		o.failedEnds.Add(1)
		return nil, errUnreachable
	}
	return o.Store.TaskInstancesEnd(ctx, ps)
}

func (o *outageStore) Ping(ctx context.Context) error {
	o.pings.Add(1)
	if o.down.Load() {
		return errUnreachable
	}
	return o.Store.Ping(ctx)
}

// TestWorkerRecordsATryThatEndedDuringAnOutage is issue 13's item 4 from
// the worker's side: a try that ends while the database is unreachable is
// recorded once it answers again, as a success at its first try, not run
// again.
func TestWorkerRecordsATryThatEndedDuringAnOutage(t *testing.T) {
	t.Parallel()
	o := &outageStore{Store: testdb.SQLite(t)}
	started, release := make(chan struct{}), make(chan struct{})
	e := newEnv(t, o, task{id: "a", op: func(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
		close(started)
		<-release
		return operators.Success(nil), nil
	}})
	m := e.readyTry("a", 1)
	e.start()
	e.enqueue(m)
	<-started
	o.down.Store(true)
	close(release)
	waitFor(t, "the worker to retry recording the end", func() bool { return o.failedEnds.Load() >= 2 })
	if ti := e.ti("a"); ti.State != dags.TaskStateRunning {
		t.Fatalf("during the outage a is %s, want still running in the store", ti.State)
	}
	o.down.Store(false)
	if ti := e.waitState("a", dags.TaskStateSuccess, dags.TaskStateFailed); ti.State != dags.TaskStateSuccess || ti.TryNumber != 1 {
		t.Errorf("a: %s at try %d, want success at try 1", ti.State, ti.TryNumber)
	}
	if n := e.callsOf("a"); n != 1 {
		t.Errorf("a ran %d times, want once", n)
	}
	e.waitDrained()
}

func TestWorkerTakesNoWorkWhileTheStoreIsUnreachable(t *testing.T) {
	t.Parallel()
	o := &outageStore{Store: testdb.SQLite(t)}
	e := newEnv(t, o, task{id: "a"}, task{id: "b"})
	ma, mb := e.readyTry("a", 1), e.readyTry("b", 1)
	o.down.Store(true)
	e.start()
	e.enqueue(ma)
	waitFor(t, "the worker to ping the store", func() bool { return o.pings.Load() > 0 })
	e.enqueue(mb)
	time.Sleep(300 * time.Millisecond)
	ready, pending, err := e.q.Depth(context.Background(), queue.DefaultQueue)
	if err != nil {
		t.Fatal(err)
	}
	if ready != 1 || pending != 1 {
		t.Errorf("during the outage the queue has %d ready, %d pending; want b left ready and only a taken", ready, pending)
	}
	o.down.Store(false)
	for _, id := range []string{"a", "b"} {
		if ti := e.waitState(id, dags.TaskStateSuccess, dags.TaskStateFailed); ti.State != dags.TaskStateSuccess || ti.TryNumber != 1 {
			t.Errorf("%s: %s at try %d, want success at try 1", id, ti.State, ti.TryNumber)
		}
		if n := e.callsOf(id); n != 1 {
			t.Errorf("%s ran %d times, want once", id, n)
		}
	}
	e.waitDrained()
}

func TestWorkerListsItselfInTheStore(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	block := func(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return operators.Success(nil), nil
	}
	st := testdb.SQLite(t)
	e := newEnv(t, st, task{id: "slow", op: block})
	e.w.Queues = []string{"default", "gpu"}
	e.w.Consumer = "listed:1"
	e.queueTry("slow", 1)
	stop := e.start()
	list := func() []*store.Worker {
		ws, err := st.WorkerList(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	waitFor(t, "the worker to report a running try", func() bool {
		ws := list()
		return len(ws) == 1 && ws[0].Running == 1
	})
	w := list()[0]
	if w.Consumer != "listed:1" || w.Hostname != testHost || strings.Join(w.Queues, ",") != "default,gpu" || w.Slots != 4 {
		t.Errorf("listed as %+v", w)
	}
	first := w.LastHeartbeat
	waitFor(t, "a later heartbeat", func() bool { return list()[0].LastHeartbeat.After(first) })
	close(release)
	e.waitState("slow", dags.TaskStateSuccess)
	stop()
	if ws := list(); len(ws) != 0 {
		t.Errorf("after a clean shutdown the store lists %+v, want no worker", ws[0])
	}
}

// logCountingStore records the appends to task logs and counts the ends
// of tries that reach the store.
type logCountingStore struct {
	store.Store
	ends    atomic.Int32
	mu      sync.Mutex
	appends []string
}

func (c *logCountingStore) TaskLogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	c.mu.Lock()
	c.appends = append(c.appends, string(p.Data))
	c.mu.Unlock()
	return c.Store.TaskLogAppend(ctx, p)
}

func (c *logCountingStore) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	c.ends.Add(1)
	return c.Store.TaskInstanceEnd(ctx, p)
}

// TestTryEndIsOneTransaction checks that the tail of a try's log reaches
// the store in the transaction that records its outcome (issue 12: one
// transaction per task end, no commit per log line): an unterminated last
// line waits for the end, so it is never appended on its own.
func TestTryEndIsOneTransaction(t *testing.T) {
	t.Parallel()
	c := &logCountingStore{Store: testdb.SQLite(t)}
	say := func(_ context.Context, call *operators.Call) (*operators.Result, error) {
		call.Logf("a line")
		fmt.Fprint(call.Log, "last words")
		return operators.Success(nil), nil
	}
	e := newEnv(t, c, task{id: "a", op: say})
	e.enqueue(e.readyTry("a", 1))
	e.start()
	if ti := e.waitState("a", dags.TaskStateSuccess, dags.TaskStateFailed); ti.State != dags.TaskStateSuccess {
		t.Fatalf("a is %s, want success", ti.State)
	}
	e.waitDrained()
	if log := e.logOf("a", 1); !strings.Contains(log, "a line\n") || !strings.HasSuffix(log, "last words\n") {
		t.Errorf("log = %q, want it to hold both lines", log)
	}
	if n := c.ends.Load(); n != 1 {
		t.Errorf("the try's end took %d transactions, want 1", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.appends {
		if strings.Contains(a, "last words") {
			t.Errorf("the log's tail was appended in a transaction of its own: %q", a)
		}
	}
}

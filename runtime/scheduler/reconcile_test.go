package scheduler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue/redistest"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// loseOne receives one message and acknowledges it without running it, as
// if Redis had lost it; it returns the lost message.
func (e *env) loseOne() queue.Message {
	e.t.Helper()
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "lossy", Max: 1})
	if err != nil || len(ds) != 1 {
		e.t.Fatalf("receive: %v, %d deliveries", err, len(ds))
	}
	if err := e.queue.Ack(e.ctx, ds[0]); err != nil {
		e.t.Fatal(err)
	}
	return ds[0].Message
}

func (e *env) reconcile(s *scheduler.Scheduler, queuedBefore time.Time) int {
	e.t.Helper()
	n, err := s.Reconcile(e.ctx, queuedBefore)
	if err != nil {
		e.t.Fatalf("Reconcile: %v", err)
	}
	return n
}

func TestReconcileQueuesAgainOnlyWhatTheQueueLost(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "lossy", schedule: "@daily", start: "2024-01-01", tasks: "a b"}, now)
		if st := e.tick(now); st.Queued != 2 {
			t.Fatalf("first tick queued %d, want 2", st.Queued)
		}
		lost := e.loseOne()
		if n := e.reconcile(e.sched, now); n != 0 {
			t.Errorf("Reconcile(queued before now) = %d, want 0: nothing was queued before now", n)
		}
		// Two schedulers reconcile at once: the lost try goes back once.
		other := scheduler.New(s, e.queue, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i, sc := range []*scheduler.Scheduler{e.sched, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := sc.Reconcile(e.ctx, now.Add(time.Second))
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != 1 {
			t.Fatalf("two schedulers queued again %v task instances, want 1 in all", counts)
		}
		want := map[string]string{"a": "queued/1", "b": "queued/1"}
		want[lost.TaskID] = "scheduled/1"
		if got := e.states("lossy", lost.RunID); got["a"] != want["a"] || got["b"] != want["b"] {
			t.Fatalf("states %v, want %v: only the lost one back to scheduled", got, want)
		}
		if n := e.reconcile(e.sched, now.Add(time.Second)); n != 0 {
			t.Errorf("Reconcile again = %d, want 0", n)
		}
		if st := e.tick(now.Add(2 * time.Second)); st.Queued != 1 {
			t.Errorf("the tick after queued %d, want the lost one", st.Queued)
		}
		ran := e.work(now.Add(2*time.Second), succeed)
		if len(ran) != 2 || ran[0] == ran[1] {
			t.Errorf("ran %v, want a:1 and b:1 once each", ran)
		}
		if run := e.runs("lossy")[0]; run.State != dags.DagRunStateSuccess {
			t.Errorf("run %s, want success", run.State)
		}
	})
}

func TestReconcileTakesOverADeliveryNoLongerExtended(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	e := setup(t, s)
	const after = 200 * time.Millisecond
	e.sched = scheduler.New(s, e.queue, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{ReconcileAfter: after})
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "dead", schedule: "@daily", start: "2024-01-01", tasks: "a"}, now)
	e.tick(now)
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "dies", Max: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive: %v, %d", err, len(ds))
	}
	if n := e.reconcile(e.sched, now.Add(time.Hour)); n != 0 {
		t.Fatalf("Reconcile of a fresh delivery = %d, want 0", n)
	}
	time.Sleep(after + 50*time.Millisecond)
	if n := e.reconcile(e.sched, now.Add(time.Hour)); n != 1 {
		t.Fatalf("Reconcile of a delivery idle for %s = %d, want 1", after, n)
	}
	// The consumer wakes up late: its compare-and-set loses.
	d := ds[0]
	_, err = s.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex},
		From: []dags.TaskState{dags.TaskStateQueued}, FromTryNumber: d.TryNumber, To: dags.TaskStateRunning})
	if !errors.Is(err, store.ErrStale) {
		t.Errorf("the late consumer's queued → running: %v, want ErrStale", err)
	}
}

// plainQueue hides a queue's Inventory.
type plainQueue struct{ queue.Queue }

func TestReconcileLeavesAQueueWithoutInventoryAlone(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	e := setup(t, s)
	e.sched = scheduler.New(s, plainQueue{e.queue}, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
	now := at("2024-01-02T00:00:10Z")
	e.register(dagSpec{id: "plain", schedule: "@daily", start: "2024-01-01", tasks: "a"}, now)
	e.tick(now)
	e.loseOne()
	if n := e.reconcile(e.sched, now.Add(time.Hour)); n != 0 {
		t.Errorf("Reconcile without an Inventory = %d, want 0", n)
	}
}

func TestTickReconcilesAtOnceWhenRedisLosesItsData(t *testing.T) {
	t.Parallel()
	s := testdb.Postgres(t)
	e := setup(t, s)
	opts := redistest.Options(t)
	q, err := redisqueue.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	e.sched = scheduler.New(s, q, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
	now := time.Now().UTC().Truncate(time.Second)
	e.register(dagSpec{id: "restart", schedule: "@daily", start: "2024-01-01", tasks: "a b c"}, now)
	if st := e.tick(now); st.Queued != 3 || st.Reconciled != 0 {
		t.Fatalf("first tick %+v, want 3 queued, none reconciled", st)
	}
	if st := e.tick(now.Add(time.Second)); st.Reconciled != 0 {
		t.Fatalf("second tick reconciled %d while Redis held everything", st.Reconciled)
	}
	// What a Redis restart without persistence does to the queue's keys.
	c := redistest.Client(t, opts.URL)
	if err := redistest.DeletePrefix(e.ctx, c, opts.Prefix); err != nil {
		t.Fatal(err)
	}
	st := e.tick(now.Add(2 * time.Second))
	if st.Reconciled != 3 || st.Queued != 3 {
		t.Fatalf("tick after the loss %+v, want 3 reconciled and queued again at once (not after %s)", st, scheduler.DefaultReconcileAfter)
	}
	ms, err := q.Held(e.ctx, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Errorf("Redis holds %d messages after reconciling, want 3", len(ms))
	}
	if st := e.tick(now.Add(3 * time.Second)); st.Reconciled != 0 || st.Queued != 0 {
		t.Errorf("the next tick %+v, want nothing more", st)
	}
}

// TestSchedulerReconcilesAtStart plays Redis restarted empty while no
// scheduler ran: the scheduler that starts next cannot tell from the epoch
// that anything was lost, so it reconciles every queued task instance on its
// first tick instead of waiting ReconcileAfter for them.
func TestSchedulerReconcilesAtStart(t *testing.T) {
	t.Parallel()
	s := testdb.Postgres(t)
	e := setup(t, s)
	opts := redistest.Options(t)
	newQueue := func() *redisqueue.Queue {
		q, err := redisqueue.New(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close() })
		return q
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	first := scheduler.New(s, newQueue(), e.src, logger, scheduler.Config{})
	now := time.Now().UTC().Truncate(time.Second)
	e.register(dagSpec{id: "cold", schedule: "@daily", start: "2024-01-01", tasks: "a b"}, now)
	if st, err := first.Tick(e.ctx, now); err != nil || st.Queued != 2 {
		t.Fatalf("first scheduler's tick: %+v, %v; want 2 queued", st, err)
	}
	// The scheduler stops; Redis restarts without its data.
	c := redistest.Client(t, opts.URL)
	if err := redistest.DeletePrefix(e.ctx, c, opts.Prefix); err != nil {
		t.Fatal(err)
	}
	q := newQueue()
	next := scheduler.New(s, q, e.src, logger, scheduler.Config{})
	st, err := next.Tick(e.ctx, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Reconciled != 2 || st.Queued != 2 {
		t.Fatalf("first tick of the new scheduler %+v, want 2 reconciled and queued again at once (not after %s)", st, scheduler.DefaultReconcileAfter)
	}
	if ms, err := q.Held(e.ctx, "", time.Minute); err != nil || len(ms) != 2 {
		t.Fatalf("Redis holds %d messages (%v), want 2", len(ms), err)
	}
	// A scheduler starting while Redis holds everything queues nothing twice.
	again := scheduler.New(s, newQueue(), e.src, logger, scheduler.Config{})
	if st, err := again.Tick(e.ctx, now.Add(2*time.Second)); err != nil || st.Reconciled != 0 || st.Queued != 0 {
		t.Fatalf("a third scheduler's first tick %+v, %v; want nothing reconciled or queued", st, err)
	}
}

// unreachableQueue is a real queue whose epoch cannot be read while down,
// as when Redis does not answer.
type unreachableQueue struct {
	*redisqueue.Queue
	down atomic.Bool
}

func (u *unreachableQueue) Epoch(ctx context.Context) (string, error) {
	if u.down.Load() {
		return "", errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return u.Queue.Epoch(ctx)
}

// TestSchedulerReconcilesWhenRedisAnswersAgain: a message lost while the
// scheduler could not reach Redis (its epoch unchanged) is queued again on
// the first tick after Redis answers, not ReconcileAfter later.
func TestSchedulerReconcilesWhenRedisAnswersAgain(t *testing.T) {
	t.Parallel()
	s := testdb.Postgres(t)
	e := setup(t, s)
	opts := redistest.Options(t)
	rq, err := redisqueue.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rq.Close() })
	q := &unreachableQueue{Queue: rq}
	e.sched = scheduler.New(s, q, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
	now := time.Now().UTC().Truncate(time.Second)
	e.register(dagSpec{id: "blip", schedule: "@daily", start: "2024-01-01", tasks: "a b"}, now)
	if st := e.tick(now); st.Queued != 2 {
		t.Fatalf("first tick %+v, want 2 queued", st)
	}
	q.down.Store(true)
	if _, err := e.sched.Tick(e.ctx, now.Add(time.Second)); err == nil {
		t.Fatal("a tick without Redis reported no error")
	}
	// A message vanishes meanwhile (acknowledged without running).
	ds, err := rq.Receive(e.ctx, queue.ReceiveParams{Consumer: "lossy", Max: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive: %v, %d", err, len(ds))
	}
	if err := rq.Ack(e.ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	q.down.Store(false)
	if st := e.tick(now.Add(2 * time.Second)); st.Reconciled != 1 || st.Queued != 1 {
		t.Fatalf("first tick after Redis answers again %+v, want the lost message reconciled and queued again", st)
	}
}

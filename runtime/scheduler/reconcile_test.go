package scheduler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
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

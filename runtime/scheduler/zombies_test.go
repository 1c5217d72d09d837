package scheduler_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// outageStore is a real store whose task-instance reads fail, while down,
// as they do when the database cannot be reached.
type outageStore struct {
	store.Store
	down atomic.Bool
}

var errUnreachable = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (o *outageStore) TaskInstanceList(ctx context.Context, p *store.TaskInstanceListParams) ([]*store.TaskInstance, error) {
	if o.down.Load() {
		return nil, errUnreachable
	}
	return o.Store.TaskInstanceList(ctx, p)
}

// startRunning takes every queued message and moves its try to running
// with a heartbeat at now, as a worker does.
func (e *env) startRunning(now time.Time) []store.TaskInstanceKey {
	e.t.Helper()
	ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "w", Max: 10})
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []store.TaskInstanceKey
	for _, d := range ds {
		key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
		if _, err := e.store.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
			FromTryNumber: d.TryNumber, To: dags.TaskStateRunning, StartDate: now}); err != nil {
			e.t.Fatal(err)
		}
		if err := e.store.TaskInstanceHeartbeat(e.ctx, &store.TaskInstanceHeartbeatParams{Key: key, TryNumber: d.TryNumber, At: now}); err != nil {
			e.t.Fatal(err)
		}
		keys = append(keys, key)
	}
	return keys
}

// TestZombieDefaultRetriesADeadWorkersTaskWithin30s: with the defaults
// (workers beat every 5 s) a try whose worker died is put up for retry by
// the first tick 25 s after its last heartbeat, and not a tick before.
func TestZombieDefaultRetriesADeadWorkersTaskWithin30s(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "dead", schedule: "@daily", start: "2024-01-01", tasks: "a",
			tweak: func(d *dags.DAG) { d.Task("a").Retries = 1; d.Task("a").RetryDelay = 0 }}, now)
		e.tick(now)
		e.startRunning(now)
		if st := e.tick(now.Add(scheduler.DefaultZombieTimeout - time.Second)); st.Zombies != 0 {
			t.Fatalf("%d zombies 1 s before the timeout, want none", st.Zombies)
		}
		if st := e.tick(now.Add(30 * time.Second)); st.Zombies != 1 {
			t.Fatalf("%d zombies 30 s after the last heartbeat, want the dead worker's try", st.Zombies)
		}
	})
}

// TestZombiesAreNotJudgedRightAfterTheSchedulersOwnOutage plays a database
// outage longer than the zombie timeout: workers could not record their
// heartbeats, so when the database answers again the scheduler waits a whole
// zombie timeout before it judges them. A try that finished during the
// outage is recorded by its worker meanwhile and is not run again; a try
// whose worker really died is still retried once the grace has passed.
func TestZombiesAreNotJudgedRightAfterTheSchedulersOwnOutage(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		o := &outageStore{Store: s}
		e := setup(t, o)
		now := at("2024-01-02T00:00:10Z")
		e.register(dagSpec{id: "outage", schedule: "@daily", start: "2024-01-01", tasks: "done dead",
			tweak: func(d *dags.DAG) {
				for _, id := range []string{"done", "dead"} {
					d.Task(id).Retries = 1
					d.Task(id).RetryDelay = 0
				}
			}}, now)
		e.tick(now)
		keys := e.startRunning(now)
		if len(keys) != 2 {
			t.Fatalf("started %d tries, want 2", len(keys))
		}
		run := keys[0].RunID

		o.down.Store(true)
		for _, d := range []time.Duration{10 * time.Second, time.Minute} {
			if _, err := e.sched.Tick(e.ctx, now.Add(d)); !errors.Is(err, errUnreachable) {
				t.Fatalf("tick during the outage: %v, want the store's error", err)
			}
		}
		back := now.Add(61 * time.Second)
		o.down.Store(false)
		if st := e.tick(back); st.Zombies != 0 {
			t.Fatalf("%d zombies judged the moment the database came back, want none", st.Zombies)
		}
		// The worker of "done" records the try it finished during the outage.
		if _, err := s.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{
			Key:  store.TaskInstanceKey{DagID: "outage", RunID: run, TaskID: "done", MapIndex: -1},
			From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 1, To: dags.TaskStateSuccess, EndDate: back.Add(3 * time.Second)}); err != nil {
			t.Fatalf("the worker could not record its finished try: %v", err)
		}
		if st := e.tick(back.Add(scheduler.DefaultZombieTimeout - time.Second)); st.Zombies != 0 {
			t.Fatalf("%d zombies within the grace, want none", st.Zombies)
		}
		if st := e.tick(back.Add(scheduler.DefaultZombieTimeout)); st.Zombies != 1 {
			t.Fatalf("%d zombies after the grace, want the dead worker's try", st.Zombies)
		}
		got := e.states("outage", run)
		if got["done"] != "success/1" || got["dead"] != "queued/2" {
			t.Fatalf("states %v, want done success/1 (not run again) and dead retried as queued/2", got)
		}
	})
}

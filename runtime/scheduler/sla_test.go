package scheduler_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// slaRecorder is the scheduler's Callbacks: it records the SLA misses it
// is told about.
type slaRecorder struct {
	mu     sync.Mutex
	misses []string
}

func (r *slaRecorder) RunFinished(context.Context, *store.DagRun) {}

func (r *slaRecorder) SLAMissed(_ context.Context, run *store.DagRun, ti *store.TaskInstance, miss *store.SLAMiss) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.misses = append(r.misses, run.RunID+"/"+miss.TaskID+"@"+miss.Deadline.Format("15:04")+":"+string(ti.State))
}

func (r *slaRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.misses...)
}

var _ scheduler.SLACallbacks = (*slaRecorder)(nil)

// TestSLAMissRecordedOnce: a daily run whose "slow" task is still running
// an hour after its interval ended misses its 1h SLA: one record and one
// callback, however many ticks and schedulers see it; "late" succeeded
// after its 10s deadline, a miss too; "fast" succeeded before its 30m
// deadline and "free" has no SLA, so neither misses.
func TestSLAMissRecordedOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		cbs := &slaRecorder{}
		e.sched.Callbacks = cbs
		e.sched.Config.ZombieTimeout = 24 * time.Hour // slow runs on without heartbeats
		start := at("2024-01-02T00:00:05Z")
		e.register(dagSpec{id: "sla", schedule: "@daily", start: "2024-01-01", tasks: "fast slow late free", tweak: func(d *dags.DAG) {
			d.Task("fast").SLA = 30 * time.Minute
			d.Task("slow").SLA = time.Hour
			d.Task("late").SLA = 10 * time.Second
			d.Callbacks.OnSLAMiss = []dags.Callback{{Function: "sla:sla_miss_callback"}}
		}}, start)
		e.tick(start)
		runs := e.runs("sla")
		if len(runs) != 1 {
			t.Fatalf("%d runs, want 1", len(runs))
		}
		runID := runs[0].RunID
		// A worker starts every task; fast and free finish, slow runs on.
		ds, err := e.queue.Receive(e.ctx, queue.ReceiveParams{Consumer: "w", Queues: []string{"default"}, Max: 10})
		if err != nil || len(ds) != 4 {
			t.Fatalf("received %d deliveries (%v), want 4", len(ds), err)
		}
		for _, d := range ds {
			key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
			if _, err := s.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateQueued},
				FromTryNumber: d.TryNumber, To: dags.TaskStateRunning, StartDate: start}); err != nil {
				t.Fatal(err)
			}
			if d.TaskID != "slow" {
				if _, err := s.TaskInstanceSetState(e.ctx, &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{dags.TaskStateRunning},
					FromTryNumber: d.TryNumber, To: dags.TaskStateSuccess, EndDate: start.Add(time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Before slow's deadline: fast succeeded in time, late after its
		// deadline of 00:00:10.
		e.tick(at("2024-01-02T00:45:00Z"))
		lateMiss := runID + "/late@00:00:success"
		if got := cbs.got(); len(got) != 1 || got[0] != lateMiss {
			t.Fatalf("misses at 00:45: %v, want [%s]", got, lateMiss)
		}
		// After it: one miss, however many ticks, and a second scheduler
		// on the same store does not record or call it again.
		other := scheduler.New(s, e.queue, e.src, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{ZombieTimeout: 24 * time.Hour})
		otherCbs := &slaRecorder{}
		other.Callbacks = otherCbs
		for _, now := range []string{"2024-01-02T01:00:30Z", "2024-01-02T01:00:35Z", "2024-01-02T01:01:00Z", "2024-01-02T02:00:00Z"} {
			e.tick(at(now))
			if _, err := other.Tick(e.ctx, at(now)); err != nil {
				t.Fatal(err)
			}
		}
		want := runID + "/slow@01:00:running"
		if got := cbs.got(); len(got) != 2 || got[1] != want {
			t.Errorf("callbacks %v, want [%s %s]", got, lateMiss, want)
		}
		if got := otherCbs.got(); len(got) != 0 {
			t.Errorf("the second scheduler called back %v, want nothing", got)
		}
		list, err := s.SLAMissList(e.ctx, &store.SLAMissListParams{DagID: "sla"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].TaskID != "slow" || list[1].TaskID != "late" || list[0].State != dags.TaskStateRunning ||
			!list[0].Deadline.Equal(at("2024-01-02T01:00:00Z")) || !list[0].RecordedAt.Equal(at("2024-01-02T01:00:30Z")) {
			t.Errorf("recorded misses %+v, want slow's (deadline 01:00, recorded 01:00:30) and late's", list)
		}
	})
}

// TestSLAIgnoresManualRuns: only scheduled runs have SLAs.
func TestSLAIgnoresManualRuns(t *testing.T) {
	t.Parallel()
	e := setup(t, testdb.SQLite(t))
	cbs := &slaRecorder{}
	e.sched.Callbacks = cbs
	now := at("2024-01-01T00:00:00Z")
	e.register(dagSpec{id: "manual", schedule: "@daily", start: "2030-01-01", tasks: "a", tweak: func(d *dags.DAG) {
		d.Task("a").SLA = time.Minute
		d.Callbacks.OnSLAMiss = []dags.Callback{{Function: "k"}}
	}}, now)
	if _, err := e.sched.Trigger(e.ctx, scheduler.TriggerParams{DAGID: "manual"}, now); err != nil {
		t.Fatal(err)
	}
	e.tick(now)
	e.tick(now.Add(3 * time.Hour))
	if got := cbs.got(); len(got) != 0 {
		t.Errorf("a manual run missed an SLA: %v", got)
	}
	if list, _ := e.store.SLAMissList(e.ctx, nil); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
}

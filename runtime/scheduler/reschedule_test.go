package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// TestRescheduleKeepsTheTryNumber drives up_for_reschedule with a fake
// clock: the task instance waits until its NextRetryAt, then is queued
// again at the same try number, and counts as unfinished meanwhile.
func TestRescheduleKeepsTheTryNumber(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-05T00:00:00Z")
		e.register(dagSpec{id: "waits", schedule: "@once", start: "2024-01-05", tasks: "sense after", edges: "sense>>after"}, now)
		e.tick(now)
		runID := e.runs("waits")[0].RunID
		rescheduleAt := now.Add(time.Minute)
		e.work(now, func(queue.Message) dags.TaskState { return dags.TaskStateUpForReschedule }) // NextRetryAt: now + 1m
		if got := e.states("waits", runID); got["sense"] != "up_for_reschedule/1" || got["after"] != "none/0" {
			t.Fatalf("after the first poke: %v", got)
		}
		e.tick(now.Add(59 * time.Second))
		if got := e.states("waits", runID)["sense"]; got != "up_for_reschedule/1" {
			t.Fatalf("before its time: sense is %s", got)
		}
		if run, _ := s.RunGet(e.ctx, "waits", runID); run.State != dags.DagRunStateRunning {
			t.Fatalf("run is %s while its sensor waits, want running", run.State)
		}
		e.tick(rescheduleAt)
		if got := e.states("waits", runID)["sense"]; got != "queued/1" {
			t.Fatalf("at its time: sense is %s, want queued at try 1", got)
		}
		if ran := e.work(rescheduleAt, succeed); strings.Join(ran, " ") != "sense:1 after:1" {
			t.Errorf("ran %v, want sense's try 1 again, then after", ran)
		}
		if run, _ := s.RunGet(e.ctx, "waits", runID); run.State != dags.DagRunStateSuccess {
			t.Errorf("run is %s, want success", run.State)
		}
	})
}

// workerDAGs is the DAG source of a real worker: the scheduler's versions
// and no Starlark functions.
type workerDAGs struct{ *versions }

func (workerDAGs) Functions(context.Context, string) (operators.FunctionRunner, error) {
	return nil, nil
}

// TestRescheduleFreesTheWorkerSlot runs a real file sensor in reschedule
// mode through the scheduler and a worker of one slot: the sensor pokes,
// goes up_for_reschedule, and the other task runs in the freed slot and
// creates the file; the sensor then succeeds at try 1, its first start
// kept.
func TestRescheduleFreesTheWorkerSlot(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		file := filepath.Join(t.TempDir(), "ready.flag")
		e := setup(t, s)
		now := time.Now()
		d := e.register(dagSpec{id: "slot", schedule: "None", tasks: "sense other after", edges: "sense>>after", op: "noop",
			tweak: func(d *dags.DAG) {
				sense := d.Task("sense")
				sense.Operator = sensors.FileKind
				sense.Config = map[string]any{"filepath": file, "mode": "reschedule", "poke_interval": "1s", "timeout": "1m"}
				sense.PriorityWeight = 10 // claimed first, so it holds the only slot first
				d.Task("other").Operator = "touch"
			}}, now)
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		reg := operators.NewRegistry()
		sensors.Register(reg)
		reg.Register("noop", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) { return nil, nil }))
		reg.Register("touch", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
			return nil, os.WriteFile(file, []byte("x"), 0o644)
		}))
		w := &executor.Worker{Store: s, Queue: e.queue, DAGs: workerDAGs{e.src}, Runner: &executor.TryRunner{Registry: reg, Logger: logger},
			AfterTry: e.sched.AdvanceAndDispatch, Concurrency: 1, Hostname: "w", HeartbeatInterval: 100 * time.Millisecond,
			ReclaimIdle: time.Minute, Logger: logger, Logs: tasklog.New(s, t.TempDir(), "w")}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.sched.Run(ctx) })
		wg.Go(func() { _ = w.Run(ctx) })
		defer wg.Wait()
		defer cancel()

		run, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: d.ID}, now)
		if err != nil {
			t.Fatal(err)
		}
		e.sched.Wake()
		seen := map[string]bool{}
		deadline := time.Now().Add(30 * time.Second)
		for {
			ti, err := s.TaskInstanceGet(ctx, store.TaskInstanceKey{DagID: d.ID, RunID: run.RunID, TaskID: "sense", MapIndex: store.NoMapIndex})
			if err != nil {
				t.Fatal(err)
			}
			seen[fmt.Sprintf("%s/%d", ti.State, ti.TryNumber)] = true
			r, err := s.RunGet(ctx, d.ID, run.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if r.State.Finished() {
				if r.State != dags.DagRunStateSuccess {
					t.Fatalf("run %s, want success; states %v", r.State, e.states(d.ID, run.RunID))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run still %s after 30s; states %v", r.State, e.states(d.ID, run.RunID))
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !seen["up_for_reschedule/1"] || seen["up_for_reschedule/2"] || seen["running/2"] {
			t.Errorf("sense went through %v; want up_for_reschedule at try 1 and no try 2", seen)
		}
		ti := func(id string) *store.TaskInstance {
			got, err := s.TaskInstanceGet(ctx, store.TaskInstanceKey{DagID: d.ID, RunID: run.RunID, TaskID: id, MapIndex: store.NoMapIndex})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		sense, other := ti("sense"), ti("other")
		if sense.State != dags.TaskStateSuccess || sense.TryNumber != 1 || sense.RescheduleCount < 1 {
			t.Errorf("sense: %s at try %d after %d reschedules; want success at try 1 after one or more", sense.State, sense.TryNumber, sense.RescheduleCount)
		}
		// One slot: other could start only because sense gave its slot up
		// between pokes; sense's start is its first poke's.
		if !sense.StartDate.Before(other.StartDate) || !other.EndDate.Before(sense.EndDate) {
			t.Errorf("sense ran %s–%s, other %s–%s; want other inside sense's wait", sense.StartDate, sense.EndDate, other.StartDate, other.EndDate)
		}
		if sense.Duration < 900*time.Millisecond {
			t.Errorf("sense's duration %s does not count from its first poke", sense.Duration)
		}
		chunk, err := w.Logs.Read(ctx, &store.TaskLogReadParams{Key: sense.TaskInstanceKey, TryNumber: 1})
		if err != nil {
			t.Fatal(err)
		}
		log := string(chunk.Data)
		for _, want := range []string{"Poking for file " + file + ": not yet", "ended up_for_reschedule", "resuming try 1 of 1 after 1 reschedules", "found " + file} {
			if !strings.Contains(log, want) {
				t.Errorf("sense's log lacks %q:\n%s", want, log)
			}
		}
	})
}

// TestExternalTaskSensorReadsTheStore pokes another DAG's task and run
// through the store-backed DagRuns that workers use.
func TestExternalTaskSensorReadsTheStore(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-05T00:00:00Z")
		e.register(dagSpec{id: "upstream", schedule: "None", tasks: "load"}, now)
		ld := at("2024-01-04T00:00:00Z")
		if _, err := e.sched.Trigger(e.ctx, scheduler.TriggerParams{DAGID: "upstream", LogicalDate: ld}, now); err != nil {
			t.Fatal(err)
		}
		e.tick(now)
		poke := func(config map[string]any) *operators.Result {
			t.Helper()
			task := dags.NewTask("wait", sensors.ExternalTaskKind, dags.Pos{})
			task.Config = config
			c := &operators.Call{Task: task, Run: operators.RunInfo{DAGID: "downstream", LogicalDate: ld.Add(time.Hour)},
				MapIndex: -1, TryNumber: 1, Log: io.Discard, DagRuns: e.sched.DagRuns()}
			res, err := (&sensors.ExternalTaskSensor{}).Execute(e.ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		task := map[string]any{"external_dag_id": "upstream", "external_task_id": "load", "execution_delta": "1h", "mode": "reschedule"}
		run := map[string]any{"external_dag_id": "upstream", "execution_delta": "1h", "mode": "reschedule"}
		if res := poke(task); res.RescheduleAt.IsZero() {
			t.Errorf("task queued: %+v, want a reschedule", res)
		}
		if res := poke(map[string]any{"external_dag_id": "upstream", "external_task_id": "load", "mode": "reschedule"}); res.RescheduleAt.IsZero() {
			t.Errorf("no run at that date: %+v, want a reschedule", res)
		}
		e.work(now, succeed)
		if res := poke(task); res.State != dags.TaskStateSuccess {
			t.Errorf("task succeeded: %+v, want success", res)
		}
		if res := poke(run); res.State != dags.TaskStateSuccess {
			t.Errorf("run succeeded: %+v, want success", res)
		}
	})
}

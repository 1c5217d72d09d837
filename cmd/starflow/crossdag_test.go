package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// crossDAGSource is a DAG folder with a parent DAG that triggers a child
// and waits for it, one whose child fails, and one that checks taken run
// ids and unknown DAGs; and a producer of two datasets with a consumer
// scheduled on both.
const crossDAGSource = `
def parent():
    trigger_dag(task_id = "trigger", trigger_dag_id = "child", trigger_run_id = "from_parent__{{ ds }}",
                conf = {"region": "{{ params.region }}", "day": "{{ ds }}"},
                wait_for_completion = True, poke_interval = "0.1s")

dag(dag_id = "parent", build = parent, schedule = "@once", start_date = "2024-01-01", params = {"region": "eu"})

def parent_fail():
    trigger_dag(task_id = "trigger", trigger_dag_id = "child", trigger_run_id = "from_parent_fail",
                conf = {"exit": 3}, wait_for_completion = True, poke_interval = "0.1s")

dag(dag_id = "parent_fail", build = parent_fail, schedule = "@once", start_date = "2024-01-01")

def ids():
    first = trigger_dag(task_id = "first", trigger_dag_id = "child", trigger_run_id = "fixed")
    again = trigger_dag(task_id = "again", trigger_dag_id = "child", trigger_run_id = "fixed", skip_when_already_exists = True)
    clash = trigger_dag(task_id = "clash", trigger_dag_id = "child", trigger_run_id = "fixed")
    reset = trigger_dag(task_id = "reset", trigger_dag_id = "child", trigger_run_id = "fixed", reset_dag_run = True,
                        wait_for_completion = True, poke_interval = "0.1s")
    first >> [again, clash, reset]
    trigger_dag(task_id = "unknown", trigger_dag_id = "no_such_dag", retries = 2, retry_delay = "1s")

dag(dag_id = "ids", build = ids, schedule = "@once", start_date = "2024-01-01")

def child():
    bash(task_id = "show", bash_command = "echo {{ dag_run.conf.get('region', 'none') }}-{{ params.day }}; exit {{ params.exit }}")

dag(dag_id = "child", build = child, params = {"exit": 0, "day": "-"})

a = dataset("s3://lake/a")
b = dataset("s3://lake/b")

def producer():
    bash(task_id = "write_a", bash_command = "exit {{ params.fail_a }}", outlets = [a])
    bash(task_id = "write_b", bash_command = "exit {{ params.fail_b }}", outlets = [b])

dag(dag_id = "producer", build = producer, params = {"fail_a": 0, "fail_b": 0})

def consumer():
    bash(task_id = "read", bash_command = "echo {{ data_interval_start }} {{ data_interval_end }}")

dag(dag_id = "consumer", build = consumer, schedule = [a, b])
`

// startEngine runs standalone's engine (DAG processor, scheduler, worker)
// on databaseURL with the DAG folder above, until the test ends.
func startEngine(t *testing.T, databaseURL string) *engine {
	t.Helper()
	return startEngineWith(t, databaseURL, map[string]string{"crossdag.star": crossDAGSource})
}

// startEngineWith runs standalone's engine on databaseURL with a DAG
// folder holding files (name to source), until the test ends.
func startEngineWith(t *testing.T, databaseURL string, files map[string]string) *engine {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return startEngineOn(t, databaseURL, dir)
}

// startEngineOn runs standalone's engine on databaseURL with the DAG
// folder dir, until the test ends.
func startEngineOn(t *testing.T, databaseURL, dir string) *engine {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := newEngine(ctx, engineConfig{databaseURL: databaseURL, migrate: store.MigrateAlways, dagsDir: dir,
		parse: true, schedule: true, work: true, concurrency: 8, drainGrace: time.Second, rescan: time.Hour, logDir: t.TempDir()}, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
		e.close()
	})
	return e
}

// waitRun waits for a run to finish and returns it.
func waitRun(t *testing.T, e *engine, dagID, runID string) *store.DagRun {
	t.Helper()
	// Five minutes at most: the python examples make virtualenvs (python
	// -m venv, pip) beside every other example's run on a loaded machine.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		run, err := e.store.RunGet(context.Background(), dagID, runID)
		if err == nil && run.State.Finished() {
			return run
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s of %s did not finish within 5 min (last: %v, %v)", runID, dagID, run, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taskOf returns one task instance of a run.
func taskOf(t *testing.T, e *engine, dagID, runID, taskID string) *store.TaskInstance {
	t.Helper()
	ti, err := e.store.TaskInstanceGet(context.Background(), store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: store.NoMapIndex})
	if err != nil {
		t.Fatalf("task %s of %s/%s: %v", taskID, dagID, runID, err)
	}
	return ti
}

// taskLog returns the log of a task's try.
func taskLog(t *testing.T, e *engine, key store.TaskInstanceKey, try int) string {
	t.Helper()
	chunk, err := e.logs.Read(context.Background(), &store.TaskLogReadParams{Key: key, TryNumber: try})
	if err != nil {
		t.Fatal(err)
	}
	return string(chunk.Data)
}

func xcom(t *testing.T, e *engine, dagID, runID, taskID, key string) any {
	t.Helper()
	x, err := e.store.XComGet(context.Background(), &store.XComGetParams{TaskInstanceKey: store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: store.NoMapIndex}, Key: key})
	if err != nil {
		t.Fatalf("xcom %s of %s/%s/%s: %v", key, dagID, runID, taskID, err)
	}
	return x.Value
}

// eachDatabase runs fn against a fresh SQLite file and a fresh PostgreSQL
// schema.
func eachDatabase(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, "sqlite://"+filepath.Join(t.TempDir(), "sf.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, testdb.PostgresURL(t))
	})
}

func TestTriggerDagThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngine(t, url)
		const once = "scheduled__2024-01-01T00:00:00+00:00"

		// parent triggers child with a templated conf and waits for it.
		parent := waitRun(t, e, "parent", once)
		child := waitRun(t, e, "child", "from_parent__2024-01-01")
		if parent.State != dags.DagRunStateSuccess || child.State != dags.DagRunStateSuccess {
			t.Errorf("parent run %s, child run %s; want both success", parent.State, child.State)
		}
		if child.RunType != dags.RunTypeManual || child.Conf["region"] != "eu" || child.Conf["day"] != "2024-01-01" {
			t.Errorf("child run: type %s, conf %v; want a manual run with conf region=eu day=2024-01-01", child.RunType, child.Conf)
		}
		if got := xcom(t, e, "child", child.RunID, "show", store.ReturnValueKey); got != "eu-2024-01-01" {
			t.Errorf("child's task printed %q, want %q (the conf reaches dag_run.conf and params)", got, "eu-2024-01-01")
		}
		trig := taskOf(t, e, "parent", once, "trigger")
		if !trig.EndDate.After(child.EndDate) && !trig.EndDate.Equal(child.EndDate) {
			t.Errorf("parent's trigger task ended at %s, before the child run it waits for (%s)", trig.EndDate, child.EndDate)
		}
		if got := xcom(t, e, "parent", once, "trigger", store.ReturnValueKey); got != child.RunID {
			t.Errorf("trigger's return value = %v, want the child run id %s", got, child.RunID)
		}
		if got := xcom(t, e, "parent", once, "trigger", "trigger_run_id"); got != child.RunID {
			t.Errorf("trigger's trigger_run_id XCom = %v, want %s", got, child.RunID)
		}

		// The child fails: the waiting task fails.
		pf := waitRun(t, e, "parent_fail", once)
		cf := waitRun(t, e, "child", "from_parent_fail")
		if cf.State != dags.DagRunStateFailed || pf.State != dags.DagRunStateFailed {
			t.Errorf("failing child: child run %s, parent run %s; want both failed", cf.State, pf.State)
		}
		key := store.TaskInstanceKey{DagID: "parent_fail", RunID: once, TaskID: "trigger", MapIndex: store.NoMapIndex}
		if log := taskLog(t, e, key, 1); !strings.Contains(log, "run from_parent_fail of DAG child ended failed, one of failed_states") {
			t.Errorf("parent_fail's log does not say why:\n%s", log)
		}

		// A taken run id: skipped with skip_when_already_exists, failed
		// without; an unknown DAG fails at once, whatever its retries.
		waitRun(t, e, "ids", once)
		for task, want := range map[string]dags.TaskState{"first": dags.TaskStateSuccess, "again": dags.TaskStateSkipped, "clash": dags.TaskStateFailed, "unknown": dags.TaskStateFailed, "reset": dags.TaskStateSuccess} {
			if ti := taskOf(t, e, "ids", once, task); ti.State != want {
				t.Errorf("ids.%s is %s, want %s", task, ti.State, want)
			}
		}
		reset := taskOf(t, e, "ids", once, "reset")
		if log := taskLog(t, e, reset.TaskInstanceKey, 1); !strings.Contains(log, "clearing it (reset_dag_run)") || !strings.Contains(log, "Run fixed of DAG child is success") {
			t.Errorf("reset's log does not show the cleared run ending in success:\n%s", log)
		}
		unknown := taskOf(t, e, "ids", once, "unknown")
		if unknown.TryNumber != 1 {
			t.Errorf("trigger of an unknown DAG made %d tries, want 1 (no retry can help)", unknown.TryNumber)
		}
		if log := taskLog(t, e, unknown.TaskInstanceKey, 1); !strings.Contains(log, `DAG "no_such_dag" does not exist`) {
			t.Errorf("unknown DAG's log does not say so:\n%s", log)
		}
		if log := taskLog(t, e, store.TaskInstanceKey{DagID: "ids", RunID: once, TaskID: "clash", MapIndex: store.NoMapIndex}, 1); !strings.Contains(log, "run fixed of DAG child exists already") {
			t.Errorf("clash's log does not say the run exists:\n%s", log)
		}
	})
}

func TestDatasetsTriggerConsumerOncePerRound(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngine(t, url)
		ctx := context.Background()
		// The DAG processor registers the DAGs before anything can run.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := e.store.DAGGet(ctx, "consumer"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the DAGs were never registered")
			}
			time.Sleep(50 * time.Millisecond)
		}
		n := 0
		produce := func(conf map[string]any) *store.DagRun {
			t.Helper()
			n++
			run, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "producer", RunID: fmt.Sprintf("p%d", n), Conf: conf}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return waitRun(t, e, "producer", run.RunID)
		}
		consumerRuns := func() []*store.DagRun {
			t.Helper()
			runs, err := e.store.RunList(ctx, &store.RunListParams{DagID: "consumer", OldestFirst: true})
			if err != nil {
				t.Fatal(err)
			}
			return runs
		}
		// settle gives the scheduler time to act on the last events.
		settle := func() { time.Sleep(1500 * time.Millisecond) }

		// Only a was updated (b failed: no event for b): no consumer run.
		if r := produce(map[string]any{"fail_b": 1}); r.State != dags.DagRunStateFailed {
			t.Fatalf("producer with a failing write_b: %s, want failed", r.State)
		}
		settle()
		if runs := consumerRuns(); len(runs) != 0 {
			t.Fatalf("consumer has %d runs after only a was updated, want 0", len(runs))
		}
		evs, err := e.store.DatasetEventList(ctx, &store.DatasetEventListParams{})
		if err != nil || len(evs) != 1 || evs[0].URI != "s3://lake/a" || evs[0].SourceTaskID != "write_a" {
			t.Fatalf("events after a failed write_b = %v, %v; want one event for s3://lake/a", evs, err)
		}

		// Now both are updated: one run.
		produce(nil)
		var first *store.DagRun
		for deadline := time.Now().Add(30 * time.Second); ; {
			if runs := consumerRuns(); len(runs) > 0 {
				first = waitRun(t, e, "consumer", runs[0].RunID)
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no consumer run after both datasets were updated")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if first.RunType != dags.RunTypeDatasetTriggered || !strings.HasPrefix(first.RunID, "dataset_triggered__") || first.State != dags.DagRunStateSuccess {
			t.Errorf("consumer run %s: type %s, state %s; want a successful dataset_triggered run", first.RunID, first.RunType, first.State)
		}
		if !first.DataIntervalStart.Equal(evs[0].Timestamp) || first.DataIntervalEnd.Before(first.DataIntervalStart) {
			t.Errorf("consumer run's data interval [%s, %s], want it to start at the first event (%s)", first.DataIntervalStart, first.DataIntervalEnd, evs[0].Timestamp)
		}
		settle()
		if runs := consumerRuns(); len(runs) != 1 {
			t.Fatalf("consumer has %d runs after one round, want 1", len(runs))
		}

		// Two more producer runs before the consumer can look: they
		// collapse into one more run at most per round, never one per event.
		produce(map[string]any{"fail_b": 1})
		produce(nil)
		settle()
		if runs := consumerRuns(); len(runs) != 2 {
			t.Errorf("consumer has %d runs after the second round, want 2", len(runs))
		}
		// A failed producer task records no event and starts nothing.
		produce(map[string]any{"fail_a": 1, "fail_b": 1})
		settle()
		if runs := consumerRuns(); len(runs) != 2 {
			t.Errorf("consumer has %d runs after a producer run that failed, want 2", len(runs))
		}
		all, _ := e.store.DatasetEventList(ctx, &store.DatasetEventListParams{})
		if len(all) != 6 {
			t.Errorf("%d dataset events recorded, want 6 (one per successful write)", len(all))
		}
	})
}

package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testDBClean: DBClean deletes finished runs started before the cut-off
// with their task instances, logs and XComs, keeps the latest non-manual
// run of each DAG and every unfinished run, counts without deleting on a
// dry run, and prunes only the tables asked for.
func testDBClean(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	finish := func(runID string, state dags.DagRunState, started time.Time) {
		t.Helper()
		mustTIs(t, s, "etl", runID, dags.TaskStateSuccess, "a", "b")
		for _, task := range []string{"a", "b"} {
			if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key("etl", runID, task), TryNumber: 1, Data: []byte("0123456789")}); err != nil {
				t.Fatal(err)
			}
			if err := s.TaskLogFileSet(ctx, &store.TaskLogFile{Key: key("etl", runID, task), TryNumber: 1, Path: "dag_id=etl/run_id=" + runID + "/task_id=" + task + "/attempt=1.log", Hostname: "w1", Size: 10}); err != nil {
				t.Fatal(err)
			}
			if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key("etl", runID, task), Key: "return_value", Value: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if state == "" {
			return
		}
		if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: runID, To: state, StartDate: started, EndDate: started.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	old := base.Add(24 * time.Hour)
	mustRun(t, s, "etl", "old1", 0)
	finish("old1", dags.DagRunStateSuccess, old)
	mustRun(t, s, "etl", "old2", 1)
	finish("old2", dags.DagRunStateFailed, old)
	mustRun(t, s, "etl", "running", 2)
	finish("running", "", time.Time{}) // still queued: never pruned
	mustRun(t, s, "etl", "latest", 3)
	finish("latest", dags.DagRunStateSuccess, old) // the latest scheduled run: kept
	cut := base.Add(30 * 24 * time.Hour)

	if _, err := s.DBClean(ctx, &store.DBCleanParams{Before: cut, Tables: []string{"log"}}); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "known: task_log, xcom, dag_run") {
		t.Errorf("unknown table: %v, want ErrInvalid naming the known tables", err)
	}
	dry, err := s.DBClean(ctx, &store.DBCleanParams{Before: cut, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	oldPaths := []string{"dag_id=etl/run_id=old1/task_id=a/attempt=1.log", "dag_id=etl/run_id=old1/task_id=b/attempt=1.log",
		"dag_id=etl/run_id=old2/task_id=a/attempt=1.log", "dag_id=etl/run_id=old2/task_id=b/attempt=1.log"}
	want := store.DBCleanResult{Runs: 2, TaskInstances: 4, XComs: 4, LogChunks: 4, LogBytes: 40, LogFiles: 4, LogPaths: oldPaths}
	if !reflect.DeepEqual(*dry, want) {
		t.Errorf("dry run = %+v, want %+v", *dry, want)
	}
	if _, err := s.RunGet(ctx, "etl", "old1"); err != nil {
		t.Errorf("the dry run deleted old1: %v", err)
	}
	// Only XComs first: the runs stay.
	got, err := s.DBClean(ctx, &store.DBCleanParams{Before: cut, Tables: []string{store.CleanXCom}})
	if err != nil || !reflect.DeepEqual(*got, store.DBCleanResult{XComs: 4}) {
		t.Errorf("xcom only = %+v, %v; want 4 XComs", got, err)
	}
	if _, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: key("etl", "old1", "a"), Key: "return_value"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old1's XCom after cleaning xcom: %v, want not found", err)
	}
	if _, err := s.RunGet(ctx, "etl", "old1"); err != nil {
		t.Errorf("cleaning xcom deleted the run: %v", err)
	}
	got, err = s.DBClean(ctx, &store.DBCleanParams{Before: cut})
	if err != nil || !reflect.DeepEqual(*got, store.DBCleanResult{Runs: 2, TaskInstances: 4, LogChunks: 4, LogBytes: 40, LogFiles: 4, LogPaths: oldPaths}) {
		t.Errorf("clean = %+v, %v", got, err)
	}
	for _, id := range []string{"old1", "old2"} {
		if _, err := s.RunGet(ctx, "etl", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("run %s after clean: %v, want not found", id, err)
		}
		if c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: key("etl", id, "a"), TryNumber: 1}); err == nil && len(c.Data) != 0 {
			t.Errorf("run %s's log survived: %q", id, c.Data)
		}
		if f, err := s.TaskLogFileGet(ctx, key("etl", id, "a"), 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("run %s's log file row survived: %+v, %v", id, f, err)
		}
	}
	for _, id := range []string{"running", "latest"} {
		if _, err := s.RunGet(ctx, "etl", id); err != nil {
			t.Errorf("run %s after clean: %v, want kept", id, err)
		}
		if _, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: key("etl", id, "a"), Key: "return_value"}); err != nil {
			t.Errorf("run %s's XCom after clean: %v, want kept", id, err)
		}
	}
}

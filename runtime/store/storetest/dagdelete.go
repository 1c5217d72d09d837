package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testDAGDelete: DAGDelete removes the DAG row and every run, task
// instance, log, XCom, SLA miss and dataset cursor of that DAG, reports
// the counts and log file paths, leaves other DAGs alone, and answers
// ErrNotFound for a DAG it does not know.
func testDAGDelete(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for _, id := range []string{"etl", "other"} {
		if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: id, File: "dags/" + id + ".star", SourceHash: "h1"}); err != nil {
			t.Fatal(err)
		}
		mustRun(t, s, id, "r1", 0)
		mustTIs(t, s, id, "r1", dags.TaskStateSuccess, "a", "b")
		if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key(id, "r1", "a"), TryNumber: 1, Data: []byte("hello")}); err != nil {
			t.Fatal(err)
		}
		if err := s.TaskLogFileSet(ctx, &store.TaskLogFile{Key: key(id, "r1", "a"), TryNumber: 1, Path: "dag_id=" + id + "/a.log", Hostname: "w1", Size: 5}); err != nil {
			t.Fatal(err)
		}
		if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key(id, "r1", "b"), Key: "return_value", Value: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SLAMissRecord(ctx, &store.SLAMissRecordParams{DagID: id, RunID: "r1", TaskID: "a", LogicalDate: base, Deadline: base, State: dags.TaskStateRunning}); err != nil {
			t.Fatal(err)
		}
		if err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: id, From: 0, To: 0}); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, s, "etl", "r2", 1)

	n, err := s.DAGDelete(ctx, "etl")
	if err != nil {
		t.Fatal(err)
	}
	if n.Runs != 2 || n.TaskInstances != 2 || n.XComs != 1 || n.LogChunks != 1 || n.LogFiles != 1 || !slices.Equal(n.LogPaths, []string{"dag_id=etl/a.log"}) {
		t.Errorf("DAGDelete(etl) = %+v, want 2 runs, 2 task instances, 1 XCom, 1 log chunk, 1 log file", n)
	}
	if _, err := s.DAGGet(ctx, "etl"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGGet(etl) after delete: err = %v, want ErrNotFound", err)
	}
	if runs, err := s.RunList(ctx, &store.RunListParams{DagID: "etl"}); err != nil || len(runs) != 0 {
		t.Errorf("runs of etl after delete: %d, %v", len(runs), err)
	}
	if tis, err := s.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "etl"}); err != nil || len(tis) != 0 {
		t.Errorf("task instances of etl after delete: %d, %v", len(tis), err)
	}
	if misses, err := s.SLAMissList(ctx, &store.SLAMissListParams{DagID: "etl"}); err != nil || len(misses) != 0 {
		t.Errorf("SLA misses of etl after delete: %d, %v", len(misses), err)
	}
	if _, found, err := s.DatasetConsumerGet(ctx, "etl"); err != nil || found {
		t.Errorf("dataset cursor of etl after delete: found %v, %v", found, err)
	}

	// The other DAG keeps everything.
	if _, err := s.DAGGet(ctx, "other"); err != nil {
		t.Errorf("DAGGet(other): %v", err)
	}
	if tis, err := s.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "other"}); err != nil || len(tis) != 2 {
		t.Errorf("task instances of other: %d, %v; want 2", len(tis), err)
	}
	if x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: key("other", "r1", "b"), Key: "return_value"}); err != nil || x == nil {
		t.Errorf("XCom of other: %v", err)
	}
	if _, found, err := s.DatasetConsumerGet(ctx, "other"); err != nil || !found {
		t.Errorf("dataset cursor of other: found %v, %v", found, err)
	}

	if _, err := s.DAGDelete(ctx, "etl"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGDelete(etl) again: err = %v, want ErrNotFound", err)
	}
	// Runs left of a DAG whose row is gone are still deleted.
	mustRun(t, s, "orphan", "r1", 0)
	if n, err := s.DAGDelete(ctx, "orphan"); err != nil || n.Runs != 1 {
		t.Errorf("DAGDelete(orphan) = %+v, %v; want its 1 run", n, err)
	}
}

// testReset: Reset drops every table and migrates again: data is gone,
// the default pool is back and the schema is current.
func testReset(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "etl", File: "dags/etl.star", SourceHash: "h1"}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, "etl", "r1", 0)
	if err := s.VariableSet(ctx, &store.VariableSetParams{Key: "k", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PoolSet(ctx, &store.PoolSetParams{Name: store.DefaultPool, Slots: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DAGGet(ctx, "etl"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGGet after reset: err = %v, want ErrNotFound", err)
	}
	if _, err := s.VariableGet(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("VariableGet after reset: err = %v, want ErrNotFound", err)
	}
	if p, err := s.PoolGet(ctx, store.DefaultPool); err != nil || p.Slots != store.DefaultPoolSlots {
		t.Errorf("default pool after reset = %+v, %v; want %d slots", p, err, store.DefaultPoolSlots)
	}
	if st, err := s.SchemaStatus(ctx); err != nil || !st.UpToDate() {
		t.Errorf("SchemaStatus after reset = %+v, %v", st, err)
	}
	// The store keeps working on the new tables.
	mustRun(t, s, "etl", "r1", 0)
}

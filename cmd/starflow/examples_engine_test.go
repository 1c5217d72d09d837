package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators/sensors"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TestExamplesEndAsInTestDag runs every DAG of examples/ twice, with
// `test-dag` and through standalone's engine (DAG processor, scheduler,
// worker on SQLite), as a manual run of the same logical date, and wants
// the same run state and the same state for every task instance. test-dag's
// states are checked against Airflow's in testdata/script/examples.txtar;
// this test holds the engine to them.
func TestExamplesEndAsInTestDag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	e := startEngineOn(t, "sqlite://"+filepath.Join(t.TempDir(), "sf.db"), dir)
	ctx := context.Background()
	var all []*store.DAG
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if all, err = e.store.DAGList(ctx, &store.DAGListParams{}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.star"))
		if seen := fileCount(all); seen == len(files) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the engine loaded DAGs from %d of %d example files; none from %v", seen, len(files), missingFiles(all, files))
		}
	}
	for _, d := range all {
		// test-dag sees no other DAG's runs, so a DAG that waits for
		// another one's (external_task_sensor) runs on a date no other
		// example runs on: on the engine too, it waits for nothing.
		date, logical := "2024-01-15", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
		if waitsForOtherDAGs(t, e, d) {
			date, logical = "2024-01-16", logical.AddDate(0, 0, 1)
		}
		t.Run(d.DagID, func(t *testing.T) {
			t.Parallel()
			compareWithTestDag(t, e, dir, d, date, logical)
		})
	}
}

// waitsForOtherDAGs tells whether d has an external_task_sensor.
func waitsForOtherDAGs(t *testing.T, e *engine, d *store.DAG) bool {
	t.Helper()
	parsed, err := e.versions.DAG(context.Background(), d.DagID, d.SourceHash)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range parsed.Tasks() {
		if task.Operator == sensors.ExternalTaskKind {
			return true
		}
	}
	return false
}

// compareWithTestDag runs d with test-dag, then through e, and compares.
func compareWithTestDag(t *testing.T, e *engine, dir string, d *store.DAG, date string, logical time.Time) {
	ctx := context.Background()
	{
		file := d.File
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		out, errOut, code := runCommand(t, testDAGCommand(), "test-dag", file, "--dag", d.DagID,
			"--dags", dir, "--date", date, "--json", "--log-dir", t.TempDir())
		var want testDAGResult
		if err := json.Unmarshal([]byte(out), &want); err != nil {
			t.Fatalf("test-dag exit %d, no JSON result: %v\n%s", code, err, errOut)
		}
		runID := "engine__" + date
		if d.IsPaused { // test-dag runs a paused DAG; so must the engine
			if err := e.store.DAGSetPaused(ctx, d.DagID, false); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: d.DagID, LogicalDate: logical, RunID: runID}, time.Now()); err != nil {
			t.Fatalf("%s: trigger: %v", d.DagID, err)
		}
		run := waitRun(t, e, d.DagID, runID)
		wantTasks := make([]string, 0, len(want.Tasks))
		for _, ti := range want.Tasks {
			wantTasks = append(wantTasks, fmt.Sprintf("%s[%d]=%s", ti.TaskID, ti.MapIndex, ti.State))
		}
		tis, err := e.store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: d.DagID, RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		gotTasks := make([]string, 0, len(tis))
		for _, ti := range tis {
			gotTasks = append(gotTasks, fmt.Sprintf("%s[%d]=%s", ti.TaskID, ti.MapIndex, ti.State))
		}
		if randomBranches[d.DagID] {
			wantTasks, gotTasks = stateCounts(wantTasks), stateCounts(gotTasks)
		}
		slices.Sort(wantTasks)
		slices.Sort(gotTasks)
		if run.State != want.State || !slices.Equal(gotTasks, wantTasks) {
			t.Errorf("%s: the engine ended %s with\n  %s\ntest-dag ended %s with\n  %s", d.DagID,
				run.State, strings.Join(gotTasks, " "), want.State, strings.Join(wantTasks, " "))
		}
	}
}

// missingFiles returns the base names of files no DAG of ds comes from.
func missingFiles(ds []*store.DAG, files []string) []string {
	loaded := map[string]bool{}
	for _, d := range ds {
		loaded[filepath.Base(d.File)] = true
	}
	var out []string
	for _, f := range files {
		if !loaded[filepath.Base(f)] {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

// fileCount counts the distinct files the DAGs come from.
func fileCount(ds []*store.DAG) int {
	files := map[string]bool{}
	for _, d := range ds {
		files[d.File] = true
	}
	return len(files)
}

// randomBranches are the examples whose branches pick a task with
// Python's random.choice, as Airflow's do: two runs take different
// branches, so the engine and test-dag are compared by how many task
// instances ended in each state.
var randomBranches = map[string]bool{"example_branch_python_operator_decorator": true}

// stateCounts turns "task[i]=state" items into "state×n" counts.
func stateCounts(items []string) []string {
	n := map[string]int{}
	for _, it := range items {
		n[it[strings.LastIndexByte(it, '=')+1:]]++
	}
	out := make([]string, 0, len(n))
	for st, c := range n {
		out = append(out, fmt.Sprintf("%s×%d", st, c))
	}
	return out
}

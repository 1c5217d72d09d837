package main

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// TestDBClean: `db clean --older-than` counts on --dry-run, refuses to
// delete off a terminal without --yes, then deletes the old finished runs
// with their task instances, logs (rows and the files in the log folder)
// and XComs and keeps the latest one.
func TestDBClean(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "c.db")
	t.Setenv(envSecretKeyFile, filepath.Join(t.TempDir(), "key"))
	ctx := context.Background()
	s, err := openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"scheduled__1", "scheduled__2", "scheduled__3"} {
		ld := day.AddDate(0, 0, i)
		if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: id, RunType: dags.RunTypeScheduled, LogicalDate: ld, SourceHash: "h"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: id,
			Tasks: []store.TaskInstanceCreate{{TaskID: "a", MapIndex: -1, State: dags.TaskStateSuccess}}}); err != nil {
			t.Fatal(err)
		}
		k := store.TaskInstanceKey{DagID: "etl", RunID: id, TaskID: "a", MapIndex: -1}
		if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: []byte(strings.Repeat("l", 100))}); err != nil {
			t.Fatal(err)
		}
		w, err := tasklog.New(s, filepath.Join(dir, "logs"), "h").Create(ctx, k, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("try two\n")); err != nil || w.Close(ctx) != nil {
			t.Fatal(err)
		}
		if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: k, Key: "return_value", Value: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: id, To: dags.DagRunStateSuccess, StartDate: ld, EndDate: ld.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	run := func(args ...string) (string, string, int) {
		return runCommand(t, dbCommand(), append([]string{"db", "clean", "--database-url", url}, args...)...)
	}
	if out, errOut, code := run("--older-than", "2024-06-01", "--dry-run"); code != 0 || !strings.Contains(out, "would delete 2 runs, 2 task instances, 2 XComs, 2 log chunks (200 bytes), 2 log files") {
		t.Errorf("dry run: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run("--older-than", "2024-06-01"); code != exitFailed || !strings.Contains(errOut, "--yes") {
		t.Errorf("without --yes off a terminal: exit %d %q; want 1 asking for --yes", code, errOut)
	}
	if _, errOut, code := run("--older-than", "yesterday-ish"); code != exitUsage || !strings.Contains(errOut, "neither a date") {
		t.Errorf("bad --older-than: exit %d %q", code, errOut)
	}
	if _, errOut, code := run("--older-than", "30d", "--tables", "log"); code != exitUsage || !strings.Contains(errOut, `unknown table "log"`) {
		t.Errorf("unknown table: exit %d %q", code, errOut)
	}
	if out, errOut, code := run("--older-than", "1d", "--yes"); code != 0 || !strings.Contains(out, "deleted 2 runs, 2 task instances, 2 XComs, 2 log chunks (200 bytes), 2 log files") {
		t.Errorf("clean: exit %d %q %q", code, out, errOut)
	}
	// The log folder (beside the SQLite file by default) keeps only the
	// latest run's file; the pruned runs' folders are gone too.
	var files []string
	if err := filepath.WalkDir(filepath.Join(dir, "logs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != filepath.Join(dir, "logs") {
			rel, _ := filepath.Rel(filepath.Join(dir, "logs"), p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"dag_id=etl", "dag_id=etl/run_id=scheduled__3", "dag_id=etl/run_id=scheduled__3/task_id=a", "dag_id=etl/run_id=scheduled__3/task_id=a/attempt=2.log"}
	if !slices.Equal(files, want) {
		t.Errorf("log folder after clean: %q, want %q", files, want)
	}
	s, err = openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.RunList(ctx, &store.RunListParams{DagID: "etl"})
	if err != nil || len(runs) != 1 || runs[0].RunID != "scheduled__3" {
		t.Errorf("runs left: %v %v; want only scheduled__3 (the latest)", runs, err)
	}
}

package tasklog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

func setup(t *testing.T, st store.Store) store.TaskInstanceKey {
	t.Helper()
	ctx := context.Background()
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{DagID: "d", RunID: "manual__1:2+3", RunType: dags.RunTypeManual, SourceHash: "h", LogicalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "d", RunID: "manual__1:2+3",
		Tasks: []store.TaskInstanceCreate{{TaskID: "t", MapIndex: 3}}}); err != nil {
		t.Fatal(err)
	}
	return store.TaskInstanceKey{DagID: "d", RunID: "manual__1:2+3", TaskID: "t", MapIndex: 3}
}

// TestFolder: a try's log goes to its file in Airflow's layout, indexed
// with its size; reads follow the index (offsets and limits), fall back
// to the database for tries logged before files, and name the writing
// host when the file is not in this process's folder; Remove deletes the
// files and the folders they leave empty, and no index path leaves the
// folder.
func TestFolder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		key := setup(t, st)
		f := tasklog.New(st, t.TempDir(), "worker-7")
		w, err := f.Create(ctx, key, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("hello\nworld\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		rel := "dag_id=d/run_id=manual__1_2_3/task_id=t/map_index=3/attempt=2.log"
		if got := tasklog.RelPath(key, 2); got != rel {
			t.Errorf("RelPath = %q, want %q", got, rel)
		}
		row, err := st.TaskLogFileGet(ctx, key, 2)
		if err != nil || row.Size != 12 || row.Path != rel || row.Hostname != "worker-7" {
			t.Errorf("index row %+v, %v", row, err)
		}
		c, err := f.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 2, Offset: 6, Limit: 3})
		if err != nil || string(c.Data) != "wor" || c.NextOffset != 9 {
			t.Errorf("read at 6 = %q next %d, %v", c.Data, c.NextOffset, err)
		}
		// Try 1 logged into the database (before schema version 10).
		if _, err := st.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key, TryNumber: 1, Data: []byte("old\n")}); err != nil {
			t.Fatal(err)
		}
		if c, err := f.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 1}); err != nil || string(c.Data) != "old\n" {
			t.Errorf("legacy read = %q, %v", c.Data, err)
		}
		// Another host's folder lacks the file.
		other := tasklog.New(st, t.TempDir(), "web")
		if _, err := other.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 2}); !errors.Is(err, tasklog.ErrMissing) || !errors.Is(err, store.ErrNotFound) ||
			!strings.Contains(err.Error(), `"worker-7"`) || !strings.Contains(err.Error(), "shared log folder") {
			t.Errorf("read from another folder: %v; want not found naming the host and the shared folder", err)
		}
		if n, err := f.Remove([]string{rel, "dag_id=d/gone.log"}); n != 1 || err != nil {
			t.Errorf("Remove = %d, %v", n, err)
		}
		if entries, err := os.ReadDir(f.Dir); err != nil || len(entries) != 0 {
			t.Errorf("log folder after Remove: %v, %v; want empty", entries, err)
		}
		if _, err := f.Remove([]string{"../outside"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Remove of a path leaving the folder: %v", err)
		}
		if err := st.TaskLogFileSet(ctx, &store.TaskLogFile{Key: key, TryNumber: 3, Path: "../../etc/passwd"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 3}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("read of a path leaving the folder: %v", err)
		}
		if _, err := os.Stat(filepath.Join(f.Dir, "dag_id=d")); !os.IsNotExist(err) {
			t.Errorf("empty folders left: %v", err)
		}
	})
}

// TestRowCreatesTheFile: the index row a worker records when a try starts
// names a file that exists (empty) even if the worker dies before its
// first line, so a log read finds an empty log, not a missing file; Open
// then appends to it.
func TestRowCreatesTheFile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		key := setup(t, st)
		f := tasklog.New(st, t.TempDir(), "worker-1")
		row, err := f.Row(key, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.TaskLogFileSet(ctx, row); err != nil {
			t.Fatal(err)
		}
		c, err := f.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 1})
		if err != nil || len(c.Data) != 0 {
			t.Fatalf("read of a try killed before its first line = %q, %v; want an empty log", c.Data, err)
		}
		w, err := f.Open(key, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("line\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if c, err := f.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 1}); err != nil || string(c.Data) != "line\n" {
			t.Errorf("read after the first line = %q, %v", c.Data, err)
		}
	})
}

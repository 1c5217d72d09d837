package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TestStandaloneSIGTERM runs standalone as a real subprocess (this test
// binary, which TestMain turns into starflow when called by that name),
// sends SIGTERM while a task runs, and checks that the task is let finish
// and the process exits 0. testscript's kill only sends SIGINT and SIGKILL.
func TestStandaloneSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dagsDir := filepath.Join(dir, "dags")
	if err := os.Mkdir(dagsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `dag(dag_id = "once", schedule = "@once", start_date = "2024-01-01",
    build = lambda: bash(task_id = "slow", bash_command = "sleep 1"))
`
	if err := os.WriteFile(filepath.Join(dagsDir, "once.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "sqlite://" + filepath.Join(dir, "sf.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "standalone", "--dags", dagsDir, "--database-url", url, "--port", "0")
	cmd.Args[0] = "starflow"
	cmd.Dir = dir
	daemon := startDaemon(t, cmd)
	stderr, done := daemon.log, daemon.done

	ctx := context.Background()
	s, err := openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := store.TaskInstanceKey{DagID: "once", RunID: "scheduled__2024-01-01T00:00:00+00:00", TaskID: "slow", MapIndex: store.NoMapIndex}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := s.TaskInstanceGet(ctx, key)
		if err == nil && ti.State == dags.TaskStateRunning {
			break
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task never ran; standalone's log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("standalone after SIGTERM: %v, want exit 0; log:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("standalone did not stop within 30 s of SIGTERM; log:\n%s", stderr.String())
	}
	ti, err := s.TaskInstanceGet(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if ti.State != dags.TaskStateSuccess || ti.TryNumber != 1 {
		t.Errorf("task after SIGTERM: %s at try %d, want success at try 1 (drained)", ti.State, ti.TryNumber)
	}
	if log := stderr.String(); !strings.Contains(log, "starflow stopped") {
		t.Errorf("no clean stop in the log:\n%s", log)
	}
}

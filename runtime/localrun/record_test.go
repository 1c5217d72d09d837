package localrun_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/localrun"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

func TestRecorderWritesTheRunToTheStore(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		runner := setup(t, map[string]script{"op": func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			c.Logf("try %d of %s", c.TryNumber, c.Task.ID)
			if c.Task.ID == "flaky" && c.TryNumber == 1 {
				return nil, errors.New("first try fails")
			}
			if err := c.XCom.Push(ctx, "extra", map[string]any{"n": 1}); err != nil {
				return nil, err
			}
			return operators.Success(c.Task.ID + " done"), nil
		}})
		d := build(t, "op", []string{"flaky", "next"}, []edge{{"flaky", "next"}}, func(task *dags.Task) { task.Retries = 1; task.RetryDelay = 0 })
		d.SourceHash = "abc123"
		info := runInfo()
		ctx := context.Background()
		rec, err := localrun.NewRecorder(ctx, st, d, localrun.RecordSource{EntryFile: "test.star", Files: map[string]string{"test.star": "# source"}}, info)
		if err != nil {
			t.Fatal(err)
		}
		logs := tasklog.New(st, t.TempDir(), "here")
		rec.Logs = logs
		res, err := localrun.Run(ctx, d, info, localrun.Options{Runner: runner, LogDir: t.TempDir(), OnChange: rec.Event})
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(ctx, res); err != nil {
			t.Fatal(err)
		}
		run, err := st.RunGet(ctx, d.ID, info.RunID)
		if err != nil || run.State != dags.DagRunStateSuccess || run.SourceHash != "abc123" {
			t.Fatalf("run %+v, %v", run, err)
		}
		tis, err := st.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: d.ID, RunID: info.RunID})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, ti := range tis {
			got[ti.TaskID] = fmt.Sprintf("%s/%d", ti.State, ti.TryNumber)
			if ti.StartDate.IsZero() || ti.EndDate.IsZero() {
				t.Errorf("%s has no start or end date", ti.TaskID)
			}
		}
		if got["flaky"] != "success/2" || got["next"] != "success/1" {
			t.Fatalf("states %v", got)
		}
		key := store.TaskInstanceKey{DagID: d.ID, RunID: info.RunID, TaskID: "flaky", MapIndex: -1}
		x, err := st.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: key, Key: "extra"})
		if err != nil || x.Value.(map[string]any)["n"] != int64(1) {
			t.Fatalf("xcom extra %+v %v", x, err)
		}
		for try, want := range map[int]string{1: "try 1 of flaky", 2: "try 2 of flaky"} {
			chunk, err := logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: try})
			if err != nil || !strings.Contains(string(chunk.Data), want) {
				t.Errorf("log of try %d = %q (%v), want %q", try, chunk.Data, err, want)
			}
		}
		v, err := st.DAGVersionGet(ctx, "abc123")
		if err != nil || v.Files["test.star"] != "# source" {
			t.Errorf("version %+v %v", v, err)
		}
	})
}

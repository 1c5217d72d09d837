package executor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// callbackSource serves one DAG and a FunctionRunner that records calls.
type callbackSource struct {
	dag *dags.DAG
	fns *recordingFunctions
}

func (c callbackSource) DAG(context.Context, string, string) (*dags.DAG, error) { return c.dag, nil }
func (c callbackSource) Functions(context.Context, string) (operators.FunctionRunner, error) {
	return c.fns, nil
}

func TestRunCallbacksCallTheDAGCallbackOfTheFinalState(t *testing.T) {
	t.Parallel()
	d := dags.New("cb", dags.Pos{File: "cb.star", Line: 1})
	d.AddTask(dags.NewTask("a", "op", dags.Pos{File: "cb.star", Line: 2}))
	d.AddTask(dags.NewTask("b", "op", dags.Pos{File: "cb.star", Line: 3}))
	d.Connect("a", "b", dags.Pos{})
	d.Callbacks = dags.Callbacks{OnSuccess: []dags.Callback{{Function: "cb:on_success_callback"}}, OnFailure: []dags.Callback{{Function: "cb:on_failure_callback"}}}
	d.Finalize()
	fns := &recordingFunctions{}
	rc := &executor.RunCallbacks{Store: testdb.SQLite(t), DAGs: callbackSource{dag: d, fns: fns},
		Runner: &executor.TryRunner{Registry: operators.NewRegistry()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rc.RunFinished(context.Background(), &store.DagRun{DagID: "cb", RunID: "r1", State: dags.DagRunStateFailed})
	rc.RunFinished(context.Background(), &store.DagRun{DagID: "cb", RunID: "r2", State: dags.DagRunStateSuccess})
	if len(fns.calls) != 2 || fns.calls[0] != "cb:on_failure_callback" || fns.calls[1] != "cb:on_success_callback" {
		t.Fatalf("calls %v, want the failure then the success callback", fns.calls)
	}
}

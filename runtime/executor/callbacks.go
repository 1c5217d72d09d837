package executor

import (
	"context"
	"log/slog"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/store"
)

// RunCallbacks runs a DAG's on_success_callback or on_failure_callback
// when one of its runs finishes (it is the scheduler's RunCallbacks). The
// callback gets the context of the DAG's first leaf task, and its errors
// are logged, as Airflow does.
type RunCallbacks struct {
	Store  store.Store
	DAGs   DAGSource
	Runner *TryRunner
	Logger *slog.Logger
	// DagRuns, when set, lets callbacks' calls reach other DAGs' runs.
	DagRuns operators.DagRuns
}

// RunFinished calls the callback for run's final state, if the DAG has one.
func (r *RunCallbacks) RunFinished(ctx context.Context, run *store.DagRun) {
	d, err := r.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		r.Logger.Warn("DAG callback skipped: no DAG", "dag", run.DagID, "run", run.RunID, "err", err)
		return
	}
	key := d.Callbacks.OnSuccess
	if run.State == dags.DagRunStateFailed {
		key = d.Callbacks.OnFailure
	}
	leaves := d.Leaves()
	if key == "" || len(leaves) == 0 {
		return
	}
	fns, err := r.DAGs.Functions(ctx, run.SourceHash)
	if err != nil {
		r.Logger.Warn("DAG callback skipped: no functions", "dag", run.DagID, "run", run.RunID, "err", err)
		return
	}
	c := r.Runner.NewCall(&Try{DAG: d, Task: leaves[0], Run: runInfo(run), MapIndex: store.NoMapIndex,
		XCom:        storeXCom{st: r.Store, key: store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: leaves[0].ID, MapIndex: store.NoMapIndex}},
		Variables:   envsecrets.Variables{Next: storeVariables{st: r.Store}},
		Connections: envsecrets.Connections{Next: storeConnections{st: r.Store}}, Functions: fns, DagRuns: r.DagRuns})
	if _, err := fns.CallFunction(ctx, c, key, nil, nil); err != nil {
		r.Logger.Warn("DAG callback failed", "dag", run.DagID, "run", run.RunID, "state", run.State, "err", err)
	}
}

package executor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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

// RunFinished runs the callbacks and notifiers for run's final state, if
// the DAG has any.
func (r *RunCallbacks) RunFinished(ctx context.Context, run *store.DagRun) {
	d, err := r.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		r.Logger.Warn("DAG callback skipped: no DAG", "dag", run.DagID, "run", run.RunID, "err", err)
		return
	}
	cbs, name := d.Callbacks.OnSuccess, "on_success_callback"
	if run.State == dags.DagRunStateFailed {
		cbs, name = d.Callbacks.OnFailure, "on_failure_callback"
	}
	leaves := d.Leaves()
	if len(cbs) == 0 || len(leaves) == 0 {
		return
	}
	c := r.call(ctx, d, leaves[0], run, 0)
	c.State = dags.TaskState(run.State)
	if run.State == dags.DagRunStateFailed {
		c.Exception = "task_failure"
	}
	r.Runner.RunCallbacks(ctx, c, "DAG "+name, cbs)
}

// call builds the call a DAG-level callback runs with: the context of
// task t of run, with the run's XComs, variables, connections and, when
// the DAG's functions can be loaded, its function runner.
func (r *RunCallbacks) call(ctx context.Context, d *dags.DAG, t *dags.Task, run *store.DagRun, tryNumber int) *operators.Call {
	var fns operators.FunctionRunner
	if f, err := r.DAGs.Functions(ctx, run.SourceHash); err != nil {
		r.Logger.Warn("DAG callback: no functions (function callbacks fail, notifiers still run)", "dag", run.DagID, "run", run.RunID, "err", err)
	} else {
		fns = f
	}
	if tryNumber < 0 {
		tryNumber = 0
	}
	return r.Runner.NewCall(&Try{DAG: d, Task: t, Run: runInfo(run), MapIndex: store.NoMapIndex, TryNumber: tryNumber,
		XCom:        storeXCom{st: r.Store, key: store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: t.ID, MapIndex: store.NoMapIndex}},
		Variables:   envsecrets.Variables{Next: storeVariables{st: r.Store}},
		Connections: envsecrets.Connections{Next: storeConnections{st: r.Store}}, Functions: fns, DagRuns: r.DagRuns})
}

// SLAMissed runs the DAG's sla_miss_callback (functions and notifiers)
// for one recorded miss, with the context of the task instance that
// missed its SLA: ti.state is its state when the miss was recorded and
// `exception` says which deadline it missed.
func (r *RunCallbacks) SLAMissed(ctx context.Context, run *store.DagRun, ti *store.TaskInstance, miss *store.SLAMiss) {
	d, err := r.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		r.Logger.Warn("sla_miss_callback skipped: no DAG", "dag", run.DagID, "run", run.RunID, "err", err)
		return
	}
	t := d.Task(miss.TaskID)
	if t == nil || len(d.Callbacks.OnSLAMiss) == 0 {
		return
	}
	c := r.call(ctx, d, t, run, ti.TryNumber)
	c.State = miss.State
	c.Exception = fmt.Sprintf("SLA missed: not done by %s", miss.Deadline.UTC().Format(time.RFC3339))
	r.Runner.RunCallbacks(ctx, c, "sla_miss_callback", d.Callbacks.OnSLAMiss)
}

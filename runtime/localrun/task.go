package localrun

import (
	"context"
	"fmt"
	"io"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
)

// RunTask runs one try of one task alone, ignoring its upstream tasks and
// its retries, as `starflow tasks test` does: nothing upstream has run, so
// XCom pulls find nothing. A try that would be retried is reported failed.
func RunTask(ctx context.Context, d *dags.DAG, taskID string, run operators.RunInfo, opt Options) (*TaskResult, error) {
	if opt.Runner == nil {
		return nil, fmt.Errorf("localrun: no TryRunner")
	}
	r := newRunner(d, run, opt)
	tr, ok := r.runs[taskID]
	if !ok {
		return nil, fmt.Errorf("DAG %s has no task %q", d.ID, taskID)
	}
	tr.try = 1
	logw, path, err := r.openLog(tr)
	if err != nil {
		return nil, err
	}
	out := opt.Runner.Run(ctx, &executor.Try{
		DAG:         d,
		Task:        tr.task,
		Run:         r.info,
		MapIndex:    -1,
		TryNumber:   1,
		Log:         logw,
		XCom:        taskXCom{store: r.xcom, taskID: taskID},
		Variables:   opt.Variables,
		Connections: opt.Connections,
		Functions:   opt.Functions,
	})
	if c, ok := logw.(io.Closer); ok {
		_ = c.Close()
	}
	res := &TaskResult{TaskID: taskID, MapIndex: -1, State: out.State, TryNumber: 1, Start: out.Start, End: out.End,
		Duration: out.Duration(), LogPath: path}
	if res.State == dags.TaskStateUpForRetry {
		res.State = dags.TaskStateFailed
	}
	if out.Err != nil {
		res.Err = out.Err.Error()
	}
	return res, nil
}

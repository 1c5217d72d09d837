package localrun

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
)

// RunTask runs one try of one task alone, ignoring its upstream tasks and
// its retries, as `starflow tasks test` does: nothing upstream has run, so
// XCom pulls find nothing. A try that would be retried is reported failed.
// A try that ends up_for_reschedule (a sensor in reschedule mode) waits
// until its time and runs again, as the same try.
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
	logw, path, err := r.openLog(tr, false)
	if err != nil {
		return nil, err
	}
	try := &executor.Try{
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
		DagRuns:     opt.DagRuns,
		FirstStart:  r.now(),
	}
	out := opt.Runner.Run(ctx, try)
	start := out.Start
	for out.State == dags.TaskStateUpForReschedule {
		try.RescheduleCount++
		r.emit(Event{TaskID: taskID, TryNumber: 1, From: dags.TaskStateRunning, To: out.State, Time: out.End,
			RescheduleAt: out.RescheduleAt, Reschedules: try.RescheduleCount})
		if err := sleepUntil(ctx, r, out.RescheduleAt); err != nil {
			out.State, out.Err = dags.TaskStateFailed, fmt.Errorf("interrupted while up_for_reschedule: %w", err)
			break
		}
		r.emit(Event{TaskID: taskID, TryNumber: 1, From: dags.TaskStateScheduled, To: dags.TaskStateRunning, Time: r.now(),
			Reschedules: try.RescheduleCount})
		out = opt.Runner.Run(ctx, try)
	}
	if c, ok := logw.(io.Closer); ok {
		_ = c.Close()
	}
	res := &TaskResult{TaskID: taskID, MapIndex: -1, State: out.State, TryNumber: 1, Start: start, End: out.End,
		Duration: out.End.Sub(start), LogPath: path}
	if res.State == dags.TaskStateUpForRetry {
		res.State = dags.TaskStateFailed
	}
	if out.Err != nil {
		res.Err = out.Err.Error()
	}
	return res, nil
}

// sleepUntil waits until the runner's clock reads at, or ctx ends.
func sleepUntil(ctx context.Context, r *runner, at time.Time) error {
	d := at.Sub(r.now())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

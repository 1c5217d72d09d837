package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
)

// ErrBadMapIndex is returned by RunTask for a map index the task does not
// have (or a mapped task run without one).
var ErrBadMapIndex = errors.New("bad map index")

// RunTask runs one try of one task alone, ignoring its upstream tasks and
// its retries, as `starflow tasks test` does: nothing upstream has run, so
// XCom pulls find nothing. A try that would be retried is reported failed.
// A try that ends up_for_reschedule (a sensor in reschedule mode) waits
// until its time and runs again, as the same try. mapIndex picks one task
// instance of a mapped task (its values must be literal: nothing upstream
// ran); it is -1 for an unmapped task.
func RunTask(ctx context.Context, d *dags.DAG, taskID string, mapIndex int, run operators.RunInfo, opt Options) (*TaskResult, error) {
	if opt.Runner == nil {
		return nil, fmt.Errorf("localrun: no TryRunner")
	}
	r := newRunner(d, run, opt)
	tr, ok := r.runs[taskID]
	if !ok {
		return nil, fmt.Errorf("DAG %s has no task %q", d.ID, taskID)
	}
	switch {
	case tr.task.IsMapped() && mapIndex < 0:
		return nil, fmt.Errorf("%w: task %s is mapped: pick one of its task instances with a map index", ErrBadMapIndex, taskID)
	case !tr.task.IsMapped() && mapIndex >= 0:
		return nil, fmt.Errorf("%w: task %s is not mapped: it has no map index %d", ErrBadMapIndex, taskID, mapIndex)
	case mapIndex >= 0:
		n, err := dags.MapLength(tr.task, func(ref dags.XComRef) (any, error) {
			return nil, fmt.Errorf("it maps over the output of %s, which does not run here", ref.TaskID)
		})
		if err != nil {
			return nil, fmt.Errorf("%w: task %s: %w", ErrBadMapIndex, taskID, err)
		}
		if mapIndex >= n {
			return nil, fmt.Errorf("%w: task %s has map indexes 0 to %d, not %d", ErrBadMapIndex, taskID, n-1, mapIndex)
		}
		tr = &taskRun{task: tr.task, mapIndex: mapIndex, order: tr.order, weight: tr.weight}
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
		MapIndex:    tr.mapIndex,
		TryNumber:   1,
		Log:         logw,
		XCom:        taskXCom{store: r.xcom, taskID: taskID, mapIndex: tr.mapIndex},
		Variables:   opt.Variables,
		Connections: opt.Connections,
		Functions:   opt.Functions,
		DagRuns:     opt.DagRuns,
		Datasets:    &localDatasets{events: r.events},
		FirstStart:  r.now(),
	}
	out := opt.Runner.Run(ctx, try)
	start := out.Start
	for out.State == dags.TaskStateUpForReschedule {
		try.RescheduleCount++
		r.emit(Event{TaskID: taskID, MapIndex: tr.mapIndex, TryNumber: 1, From: dags.TaskStateRunning, To: out.State, Time: out.End,
			RescheduleAt: out.RescheduleAt, Reschedules: try.RescheduleCount})
		if err := sleepUntil(ctx, r, out.RescheduleAt); err != nil {
			out.State, out.Err = dags.TaskStateFailed, fmt.Errorf("interrupted while up_for_reschedule: %w", err)
			break
		}
		r.emit(Event{TaskID: taskID, MapIndex: tr.mapIndex, TryNumber: 1, From: dags.TaskStateScheduled, To: dags.TaskStateRunning, Time: r.now(),
			Reschedules: try.RescheduleCount})
		out = opt.Runner.Run(ctx, try)
	}
	if c, ok := logw.(io.Closer); ok {
		_ = c.Close()
	}
	res := &TaskResult{TaskID: taskID, MapIndex: tr.mapIndex, State: out.State, TryNumber: 1, Start: start, End: out.End,
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

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// DagRuns gives operators (trigger_dag, external_task_sensor) access to
// other DAGs' runs through the store. A run it triggers is exactly what
// `starflow dags trigger` creates: a queued manual run pinned to the DAG's
// current version, with its task instances.
type DagRuns struct {
	S *Scheduler
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var _ operators.DagRuns = (*DagRuns)(nil)

// DagRuns returns the operators.DagRuns of s.
func (s *Scheduler) DagRuns() *DagRuns { return &DagRuns{S: s} }

func (d *DagRuns) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Trigger creates a queued manual run of p.DAGID and wakes the schedulers.
// An unknown or inactive DAG is a final error (operators.Fail); a taken
// run id or logical date wraps operators.ErrRunExists.
func (d *DagRuns) Trigger(ctx context.Context, p operators.TriggerParams) (string, error) {
	s := d.S
	dag, err := s.Store.DAGGet(ctx, p.DAGID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", operators.Fail(fmt.Errorf("DAG %q does not exist (no DAG file defines it, or the DAG processor has not seen it yet)", p.DAGID))
	case err != nil:
		return "", err
	case !dag.IsActive:
		return "", operators.Fail(fmt.Errorf("DAG %q is not active: its file no longer defines it", p.DAGID))
	}
	run, err := s.Trigger(ctx, TriggerParams{DAGID: p.DAGID, LogicalDate: p.LogicalDate, RunID: p.RunID, Conf: p.Conf}, d.now())
	switch {
	case errors.Is(err, store.ErrConflict):
		return "", fmt.Errorf("run %s of DAG %s: %w", p.RunID, p.DAGID, operators.ErrRunExists)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrTooLarge):
		return "", operators.Fail(err)
	case err != nil:
		return "", err
	}
	if s.Notifier != nil {
		if err := s.Notifier.Publish(ctx, queue.Event{Kind: queue.EventRunCreated, DAGID: run.DagID, RunID: run.RunID}); err != nil {
			s.Logger.Warn("publish run created", "dag", run.DagID, "run", run.RunID, "err", err)
		}
	}
	return run.RunID, nil
}

// Reset clears every task instance of a run, as `starflow tasks clear`
// does for it: they run again with a full retry budget, and the run goes
// back to queued if it had finished.
func (d *DagRuns) Reset(ctx context.Context, dagID, runID string) error {
	if _, err := d.S.Store.RunGet(ctx, dagID, runID); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("run %s of DAG %s: %w", runID, dagID, operators.ErrNoRun)
	} else if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	if _, err := d.S.Clear(ctx, ClearParams{DAGID: dagID, RunID: runID}); err != nil {
		return fmt.Errorf("reset run %s of DAG %s: %w", runID, dagID, err)
	}
	return nil
}

// RunState returns the state of a run; an unknown run wraps
// operators.ErrNoRun.
func (d *DagRuns) RunState(ctx context.Context, dagID, runID string) (dags.DagRunState, error) {
	run, err := d.S.Store.RunGet(ctx, dagID, runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("run %s of DAG %s: %w", runID, dagID, operators.ErrNoRun)
	case errors.Is(err, store.ErrCorrupt) && run != nil:
		return run.State, nil
	case err != nil:
		return "", err
	}
	return run.State, nil
}

// TaskState returns the state of task taskID in the run of dagID with the
// given logical date, or the run's own state when taskID is empty.
func (d *DagRuns) TaskState(ctx context.Context, dagID, taskID string, logicalDate time.Time) (dags.TaskState, bool, error) {
	logical := store.Truncate(logicalDate)
	runs, err := d.S.Store.RunList(ctx, &store.RunListParams{DagID: dagID, LogicalDateFrom: logical, LogicalDateTo: logical.Add(time.Microsecond), Limit: 2})
	if err != nil {
		return "", false, err
	}
	if len(runs) == 0 {
		return "", false, nil
	}
	run := runs[0]
	if taskID == "" {
		return dags.TaskState(run.State), true, nil
	}
	ti, err := d.S.Store.TaskInstanceGet(ctx, store.TaskInstanceKey{DagID: dagID, RunID: run.RunID, TaskID: taskID, MapIndex: store.NoMapIndex})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return ti.State, true, nil
}

// GroupStates returns the states of the task instances of group groupID
// (task ids starting with groupID + ".") in the run of dagID with the
// given logical date; none when there is no such run.
func (d *DagRuns) GroupStates(ctx context.Context, dagID, groupID string, logicalDate time.Time) ([]dags.TaskState, error) {
	logical := store.Truncate(logicalDate)
	runs, err := d.S.Store.RunList(ctx, &store.RunListParams{DagID: dagID, LogicalDateFrom: logical, LogicalDateTo: logical.Add(time.Microsecond), Limit: 2})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	tis, err := d.S.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runs[0].RunID})
	if err != nil {
		return nil, err
	}
	var out []dags.TaskState
	for _, ti := range tis {
		if strings.HasPrefix(ti.TaskID, groupID+".") {
			out = append(out, ti.State)
		}
	}
	return out, nil
}

var _ operators.PrevSuccessRuns = (*DagRuns)(nil)

// PrevSuccess returns the latest successful run of dagID before the logical
// date, nil when there is none.
func (d *DagRuns) PrevSuccess(ctx context.Context, dagID string, before time.Time) (*operators.PrevSuccess, error) {
	runs, err := d.S.Store.RunList(ctx, &store.RunListParams{DagID: dagID, States: []dags.DagRunState{dags.DagRunStateSuccess}, LogicalDateTo: before, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("previous successful run of %s: %w", dagID, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	r := runs[0]
	return &operators.PrevSuccess{DataIntervalStart: r.DataIntervalStart, DataIntervalEnd: r.DataIntervalEnd, StartDate: r.StartDate, EndDate: r.EndDate}, nil
}

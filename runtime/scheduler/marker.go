package scheduler

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// defaultRecursionDepth is an external_task_marker's recursion_depth when
// its config has none (Airflow's default).
const defaultRecursionDepth = 10

// markerWalk follows external_task_marker tasks from one Clear, as
// Airflow's clear with include_dependent_dags does.
type markerWalk struct {
	p       ClearParams
	visited map[store.TaskInstanceKey]bool
}

// clearMarked goes on from the keys just cleared in run: for each that is
// an external_task_marker, it clears the marker's external_task_id with
// its downstream in the external DAG's run of the same logical date (no
// such run: nothing), and from the markers cleared there on. left is how
// many DAGs deep the walk may still go (-1 before the first marker, whose
// recursion_depth then sets it) and max that first marker's depth; a
// marker reached with nothing left is an error, as in Airflow.
func (s *Scheduler) clearMarked(ctx context.Context, w *markerWalk, run *store.DagRun, keys []store.TaskInstanceKey, left, max int) ([]store.TaskInstanceKey, error) {
	var d *dags.DAG
	var out []store.TaskInstanceKey
	for _, k := range keys {
		if w.visited[k] {
			continue
		}
		if d == nil {
			var err error
			if d, err = s.DAGs.DAG(ctx, run.DagID, run.SourceHash); err != nil {
				return out, err
			}
		}
		t := d.Task(k.TaskID)
		if t == nil || t.Operator != dags.OperatorExternalTaskMarker {
			continue
		}
		w.visited[k] = true
		depth, mx := left, max
		if depth < 0 {
			mx = defaultRecursionDepth
			if v, ok := t.Config["recursion_depth"].(int64); ok {
				mx = int(v)
			}
			depth = mx
		}
		if depth <= 0 {
			return out, fmt.Errorf("%w: maximum recursion depth %d reached for external_task_marker %s of DAG %s: "+
				"the clear went too many DAGs deep, or the DAGs' markers form a cycle", store.ErrInvalid, mx, k.TaskID, k.DagID)
		}
		extDAG, _ := t.Config["external_dag_id"].(string)
		extTask, _ := t.Config["external_task_id"].(string)
		ext, err := s.runAt(ctx, extDAG, run.LogicalDate)
		if err != nil || ext == nil {
			return out, err
		}
		reopen := dags.DagRunStateQueued
		if ext.RunType == dags.RunTypeBackfill {
			reopen = dags.DagRunStateRunning
		}
		sel := taskSelection{match: regexp.MustCompile("^" + regexp.QuoteMeta(extTask) + "$"), downstream: true}
		cleared, err := s.clearRun(ctx, ext, sel.tasks, nil, w.p.OnlyFailed, w.p.DryRun, reopen)
		out = append(out, cleared...)
		if err != nil {
			return out, fmt.Errorf("clear run %s/%s (external_task_marker %s.%s): %w", ext.DagID, ext.RunID, k.DagID, k.TaskID, err)
		}
		more, err := s.clearMarked(ctx, w, ext, cleared, depth-1, mx)
		out = append(out, more...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// runAt returns the run of dagID whose logical date is logical, nil when
// there is none.
func (s *Scheduler) runAt(ctx context.Context, dagID string, logical time.Time) (*store.DagRun, error) {
	at := store.Truncate(logical)
	runs, err := s.Store.RunList(ctx, &store.RunListParams{DagID: dagID, LogicalDateFrom: at, LogicalDateTo: at.Add(time.Microsecond), Limit: 1})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return runs[0], nil
}

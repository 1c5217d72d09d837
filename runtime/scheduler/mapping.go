package scheduler

import (
	"context"
	"errors"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// tiKey names one task instance of a run.
type tiKey struct {
	taskID   string
	mapIndex int
}

// runView is one run's task instances as the scheduler decides over them.
type runView struct {
	dagID, runID string
	rows         map[tiKey]*store.TaskInstanceState
	// tis is the evaluator's input: one entry per task, with the map
	// indexes of an expanded mapped task in Mapped.
	tis map[string]state.TI
	// tasks counts the tasks with task instances.
	tasks int
	// active counts the scheduled, queued and running task instances, in
	// all and per task.
	active       int
	activeByTask map[string]int
}

func newRunView(dagID, runID string, rows []store.TaskInstanceState) *runView {
	v := &runView{
		dagID:        dagID,
		runID:        runID,
		rows:         make(map[tiKey]*store.TaskInstanceState, len(rows)),
		tis:          make(map[string]state.TI, len(rows)),
		activeByTask: map[string]int{},
	}
	width := map[string]int{}
	for i := range rows {
		r := &rows[i]
		v.rows[tiKey{r.TaskID, r.MapIndex}] = r
		if r.MapIndex >= 0 {
			width[r.TaskID] = max(width[r.TaskID], r.MapIndex+1)
		}
	}
	for id, n := range width {
		m := make([]state.TI, n)
		for i := range m {
			m[i].State = dags.TaskStateRemoved // a gap in the indexes
		}
		v.tis[id] = state.TI{Mapped: m}
	}
	for i := range rows {
		r := &rows[i]
		ti := state.TI{State: r.State, TryNumber: r.TryNumber, NextRetryAt: r.NextRetryAt}
		if r.MapIndex >= 0 {
			v.tis[r.TaskID].Mapped[r.MapIndex] = ti
		} else if _, mapped := width[r.TaskID]; !mapped {
			v.tis[r.TaskID] = ti
		}
		switch r.State {
		case dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning:
			v.active++
			v.activeByTask[r.TaskID]++
		}
	}
	v.tasks = len(v.tis)
	return v
}

// key names one task instance of the run.
func (v *runView) key(r *store.TaskInstanceState) store.TaskInstanceKey {
	return store.TaskInstanceKey{DagID: v.dagID, RunID: v.runID, TaskID: r.TaskID, MapIndex: r.MapIndex}
}

// state returns the state of one task instance.
func (v *runView) state(taskID string, mapIndex int) dags.TaskState {
	ti := v.tis[taskID]
	if mapIndex >= 0 {
		if mapIndex < len(ti.Mapped) {
			return ti.Mapped[mapIndex].State
		}
		return ""
	}
	return ti.State
}

// fresh reports whether every task instance of the expanded mapped task
// taskID is in state none or removed: expanded, but nothing ran since.
func (v *runView) fresh(taskID string) bool {
	m := v.tis[taskID].Mapped
	if m == nil {
		return false
	}
	for _, ti := range m {
		if ti.State != dags.TaskStateNone && ti.State != dags.TaskStateRemoved {
			return false
		}
	}
	return true
}

// set records a decided state.
func (v *runView) set(taskID string, mapIndex int, s dags.TaskState) {
	ti := v.tis[taskID]
	if mapIndex >= 0 {
		ti.Mapped[mapIndex].State = s
		return
	}
	ti.State = s
	v.tis[taskID] = ti
}

// expandMapped expands the mapped tasks whose upstream tasks are done:
// one task instance per combination of the values they map over (as
// Airflow's scheduler does when the upstream XComs are known). A task that
// maps over nothing is skipped; one whose values cannot be read fails.
func (s *Scheduler) expandMapped(ctx context.Context, d *dags.DAG, run *store.DagRun, v *runView, ids []string, revised map[string]bool, now time.Time) error {
	for _, id := range ids {
		t := d.Task(id)
		row := v.rows[tiKey{id, store.NoMapIndex}]
		if t != nil && row == nil {
			revised[id] = true
			if err := s.reviseMapped(ctx, d, run, v, t, now); err != nil {
				return err
			}
			continue
		}
		if t == nil || row == nil {
			continue
		}
		n, err := s.mapLength(ctx, d, run, t)
		if err != nil || n == 0 {
			to := dags.TaskStateSkipped
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				to = dags.TaskStateFailed
				s.Logger.Warn("mapped task cannot expand", "dag", run.DagID, "run", run.RunID, "task", id, "err", err)
			}
			_, serr := s.Store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: v.key(row),
				From: []dags.TaskState{row.State}, To: to, StartDate: now, EndDate: now})
			if serr != nil && !errors.Is(serr, store.ErrStale) {
				return serr
			}
			continue
		}
		err = s.Store.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: v.key(row), From: []dags.TaskState{row.State}, Count: n})
		if err != nil && !errors.Is(err, store.ErrStale) {
			return err
		}
		if err == nil {
			// Its length was just read: no need to check it again before
			// its map indexes are scheduled in this advance.
			revised[id] = true
			s.Logger.Info("mapped task expanded", "dag", run.DagID, "run", run.RunID, "task", id, "task_instances", n)
		}
	}
	return nil
}

// mapLength computes how many task instances the mapped task t expands into
// in run, reading the upstream XComs it maps over.
func (s *Scheduler) mapLength(ctx context.Context, d *dags.DAG, run *store.DagRun, t *dags.Task) (int, error) {
	return dags.MapLength(t, dags.ResolveWith(func(taskID, key string) (any, bool, error) {
		up := d.Task(taskID)
		return store.PullXCom(ctx, s.Store, run.DagID, run.RunID, taskID, key, up != nil && up.IsMapped())
	}))
}

// reviseMapped matches an expanded mapped task that was cleared to the
// length its upstream gives now, as Airflow's scheduler revises map
// indexes: new indexes are created, those beyond the length become removed
// (and removed ones within it come back). A length of zero skips the task.
func (s *Scheduler) reviseMapped(ctx context.Context, d *dags.DAG, run *store.DagRun, v *runView, t *dags.Task, now time.Time) error {
	n, err := s.mapLength(ctx, d, run, t)
	if err != nil && ctx.Err() != nil {
		return err
	}
	have := len(v.tis[t.ID].Mapped)
	var changes []*store.TaskInstanceSetStateParams
	for i, ti := range v.tis[t.ID].Mapped {
		key := store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: t.ID, MapIndex: i}
		to := ti.State
		switch {
		case err != nil:
			to = dags.TaskStateFailed
		case n == 0:
			to = dags.TaskStateSkipped
		case i >= n:
			to = dags.TaskStateRemoved
		case ti.State == dags.TaskStateRemoved:
			to = dags.TaskStateNone
		}
		if to != ti.State {
			p := &store.TaskInstanceSetStateParams{Key: key, From: []dags.TaskState{ti.State}, To: to}
			if to.Finished() {
				p.EndDate = now
			}
			changes = append(changes, p)
		}
	}
	if err != nil {
		s.Logger.Warn("mapped task cannot expand again", "dag", run.DagID, "run", run.RunID, "task", t.ID, "err", err)
	}
	if len(changes) > 0 {
		if _, err := s.Store.TaskInstancesSetStates(ctx, changes); err != nil {
			return err
		}
	}
	if err == nil && n > have {
		weights := d.PriorityWeights()
		more := make([]store.TaskInstanceCreate, 0, n-have)
		for i := have; i < n; i++ {
			more = append(more, store.TaskInstanceCreate{TaskID: t.ID, MapIndex: i, MaxTries: t.Retries + 1, Pool: t.Pool,
				PoolSlots: t.PoolSlots, PriorityWeight: weights[t.ID], Queue: t.Queue, Operator: t.Operator})
		}
		if _, err := s.Store.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: run.DagID, RunID: run.RunID, Tasks: more}); err != nil {
			return err
		}
	}
	if err == nil && n != have {
		s.Logger.Info("mapped task expanded again", "dag", run.DagID, "run", run.RunID, "task", t.ID, "task_instances", n, "before", have)
	}
	return nil
}

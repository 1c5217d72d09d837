package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// activeStates are the states that hold one of a run's max_active_tasks
// slots.
var activeStates = []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}

// progressingStates are the states of task instances that will change
// without a decision of the scheduler's (state.RunState's "progressing").
var progressingStates = []dags.TaskState{
	dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning, dags.TaskStateUpForRetry,
	dags.TaskStateUpForReschedule, dags.TaskStateRestarting, dags.TaskStateDeferred,
}

// partialView is a runView that holds only the task instances some
// decisions read: those of the tasks in loaded, read on demand. The work
// of deciding what follows a finished task so grows with its downstream
// tasks, not with the run.
type partialView struct {
	v      *runView
	loaded map[string]bool
	// activeRead reports whether v.active and v.activeByTask were read.
	activeRead bool
}

func newPartialView(dagID, runID string) *partialView {
	return &partialView{v: newRunView(dagID, runID, nil), loaded: map[string]bool{}}
}

// load reads the task instances of the given tasks that are not read yet.
func (p *partialView) load(ctx context.Context, st store.Store, ids []string) error {
	var missing []string
	for _, id := range ids {
		if !p.loaded[id] {
			p.loaded[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := st.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: p.v.dagID, RunID: p.v.runID, TaskIDs: missing})
	if err != nil {
		return err
	}
	p.add(rows)
	return nil
}

// add records rows holding every task instance of their tasks as read.
func (p *partialView) add(rows []store.TaskInstanceState) {
	if len(rows) == 0 {
		return
	}
	for _, r := range rows {
		p.loaded[r.TaskID] = true
	}
	add := newRunView(p.v.dagID, p.v.runID, rows)
	for k, r := range add.rows {
		p.v.rows[k] = r
	}
	for id, ti := range add.tis {
		p.v.tis[id] = ti
	}
	p.v.tasks = len(p.v.tis)
}

// reload forgets the task instances of the given tasks and reads them
// again (after an expansion wrote new ones).
func (p *partialView) reload(ctx context.Context, st store.Store, ids []string) error {
	for _, id := range ids {
		delete(p.loaded, id)
		delete(p.v.tis, id)
		for k := range p.v.rows {
			if k.taskID == id {
				delete(p.v.rows, k)
			}
		}
	}
	return p.load(ctx, st, ids)
}

// readActive counts the run's task instances that hold a slot, once.
func (p *partialView) readActive(ctx context.Context, st store.Store) error {
	if p.activeRead {
		return nil
	}
	rows, err := st.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: p.v.dagID, RunID: p.v.runID, States: activeStates})
	if err != nil {
		return err
	}
	p.activeRead = true
	p.v.active = len(rows)
	clear(p.v.activeByTask)
	for _, r := range rows {
		p.v.activeByTask[r.TaskID]++
	}
	return nil
}

// withInputs appends to out the given tasks and the tasks their decisions
// read (state.Inputs).
func withInputs(d *dags.DAG, ids []string, out []string) []string {
	for _, id := range ids {
		out = append(out, id)
		if t := d.Task(id); t != nil {
			out = append(out, state.Inputs(d, t)...)
		}
	}
	return out
}

// evaluate is state.Evaluate over the candidates for a full view (pv nil)
// or a partial one: for a partial view it first reads the candidates and
// their inputs, and when a decision cascades (a task skipped or
// upstream_failed makes its downstream tasks candidates) it reads those too
// and decides again, until every decision was made over read states.
func (s *Scheduler) evaluate(ctx context.Context, d *dags.DAG, v *runView, pv *partialView, now time.Time, cands []string) ([]state.Change, error) {
	if pv == nil {
		return state.Evaluate(d, v.tis, now, cands), nil
	}
	if len(cands) == 0 {
		return nil, nil // nil would mean every task
	}
	need := withInputs(d, cands, nil)
	for {
		if err := pv.load(ctx, s.Store, need); err != nil {
			return nil, err
		}
		changes := state.Evaluate(d, v.tis, now, cands)
		need = need[:0]
		for _, ch := range changes {
			if !ch.To.Finished() {
				continue
			}
			if t := d.Task(ch.TaskID); t != nil {
				for _, id := range withInputs(d, t.Downstream, nil) {
					if !pv.loaded[id] {
						need = append(need, id)
					}
				}
			}
		}
		if len(need) == 0 {
			return changes, nil
		}
	}
}

// partialAdvance reports whether what follows a finished task of d can be
// decided from the task instances it touches. DAGs with per-task limits
// (max_active_tis_per_dagrun, max_active_tis_per_dag) are advanced whole:
// a task held back by them is not downstream of the task that frees its
// slot.
func partialAdvance(d *dags.DAG) bool {
	for _, t := range d.Tasks() {
		if t.MaxActiveTIsPerDagrun > 0 || t.MaxActiveTIsPerDag > 0 {
			return false
		}
	}
	return true
}

// crossRun reports whether a task instance of t finishing may let a task
// of another run of d start: t depends on its past, is capped across runs
// (max_active_tis_per_dag), or is the immediate downstream of a task that
// waits for its downstream (wait_for_downstream).
func crossRun(d *dags.DAG, t *dags.Task) bool {
	if t.DependsOnPast || t.MaxActiveTIsPerDag > 0 {
		return true
	}
	for _, id := range t.Upstream {
		if u := d.Task(id); u != nil && u.WaitForDownstream {
			return true
		}
	}
	return false
}

// AdvanceTasks decides what follows in one running run after the given
// tasks changed: the downstream tasks of finished, and the tasks of due
// (retries whose time has come) themselves. It reads only the task
// instances these decisions need, so its cost grows with the downstream
// tasks, not with the run; a run whose last task finished, or that was at
// its max_active_tasks (a slot freed: tasks held back may now start), is
// advanced whole (see Advance).
func (s *Scheduler) AdvanceTasks(ctx context.Context, dagID, runID string, finished, due []string, now time.Time, st *TickStats) error {
	run, err := s.Store.RunGet(ctx, dagID, runID)
	if err != nil {
		return err
	}
	s.noteRunHash(run)
	if run.State != dags.DagRunStateRunning {
		return nil
	}
	return s.advanceTasks(ctx, run, finished, due, now, st)
}

func (s *Scheduler) advanceTasks(ctx context.Context, run *store.DagRun, finished, due []string, now time.Time, st *TickStats) error {
	d, err := s.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		return err
	}
	for _, id := range finished {
		if t := d.Task(id); t != nil && crossRun(d, t) {
			// A task of another run may wait for this one.
			s.markDAGDirty(ctx, run.DagID)
			break
		}
	}
	if (d.DagrunTimeout > 0 && !run.StartDate.IsZero() && now.Sub(run.StartDate) > d.DagrunTimeout) || !partialAdvance(d) {
		return s.advanceRun(ctx, run, now, st)
	}
	pv := newPartialView(run.DagID, run.RunID)
	limit := d.MaxActiveTasks
	if limit <= 0 {
		limit = dags.DefaultMaxActiveTasks
	}
	free := 0 // slots that tasks held back by max_active_tasks may take
	if len(finished) > 0 && d.Len() > limit {
		if err := pv.readActive(ctx, s.Store); err != nil {
			return err
		}
		if pv.v.active+len(finished) >= limit-limit/4 {
			// The run was at (or, with tries finishing at once in other
			// processes, near) its limit: tasks may wait for the slot
			// that just freed anywhere in the run.
			free = limit - pv.v.active
		}
	}
	// The candidates: the finished tasks' downstream tasks; one of those
	// already skipped (a branch skipped it and left what follows it
	// undecided) passes its own downstream tasks on.
	if err := pv.load(ctx, s.Store, finished); err != nil {
		return err
	}
	frontier := append([]string(nil), due...)
	for _, id := range finished {
		if t := d.Task(id); t != nil {
			frontier = append(frontier, t.Downstream...)
		}
		if retryDue(pv.v, id, now) {
			// A try that failed into a retry (or a reschedule) already
			// due: decided now, not at the next tick's retry scan.
			frontier = append(frontier, id)
		}
	}
	cands, err := s.candidates(ctx, d, pv, frontier, (*runView).skipped)
	if err != nil {
		return err
	}
	heldAll := true // every task instance that may be held back is a candidate
	if free > 0 {
		held, all, err := s.heldBack(ctx, d, pv, free)
		if err != nil {
			return err
		}
		cands, heldAll = append(cands, held...), all
	}
	past, err := s.pastStates(ctx, d, run)
	if err != nil {
		return err
	}
	revised := map[string]bool{}
	progressed := false
	for pass := 0; ; pass++ {
		changes, expand, err := s.decide(ctx, d, pv.v, pv, cands, past, revised, now)
		if err != nil {
			return err
		}
		if lost, err := s.apply(ctx, run, changes, st); err != nil || lost {
			return err
		}
		for _, c := range changes {
			progressed = progressed || !c.To.Finished()
		}
		if len(expand) == 0 || pass >= 8 {
			break
		}
		if err := s.expandMapped(ctx, d, run, pv.v, expand, revised, now); err != nil {
			return err
		}
		if err := pv.reload(ctx, s.Store, expand); err != nil {
			return err
		}
		// An expansion may have finished the task (nothing to map over:
		// skipped; values unreadable: failed): what follows it is decided
		// too.
		if cands, err = s.candidates(ctx, d, pv, expand, (*runView).finished); err != nil {
			return err
		}
	}
	if !heldAll && pv.v.active < limit {
		// Slots are still free and not every waiting task was looked at:
		// only a look at all of the run can tell whether one may start.
		return s.advanceRun(ctx, run, now, st)
	}
	if progressed {
		return nil
	}
	// Nothing new to run: the run may be finished, or stuck, if no task
	// instance of it can make progress any more (one indexed query); only
	// a look at all of it can then tell its final state.
	left, err := s.Store.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: run.DagID, RunID: run.RunID, States: progressingStates, Limit: 1})
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return nil
	}
	return s.advanceRun(ctx, run, now, st)
}

// heldBack returns the tasks that may wait for the free slots of a run at
// its max_active_tasks: those with a task instance in state none, the
// most urgent first, read a page of a few times free (a task instance in
// state none may also wait for its upstream tasks). all reports that the
// page holds every such task instance of the run.
func (s *Scheduler) heldBack(ctx context.Context, d *dags.DAG, pv *partialView, free int) (ids []string, all bool, err error) {
	page := max(4*free, 64)
	rows, err := s.Store.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: pv.v.dagID, RunID: pv.v.runID,
		States: []dags.TaskState{dags.TaskStateNone}, Limit: page, ByPriority: true})
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{}
	var whole []store.TaskInstanceState
	for _, r := range rows {
		if !seen[r.TaskID] && d.Task(r.TaskID) != nil {
			seen[r.TaskID] = true
			ids = append(ids, r.TaskID)
		}
		if r.MapIndex < 0 && !pv.loaded[r.TaskID] {
			whole = append(whole, r) // the task's only task instance: no need to read it again
		}
	}
	pv.add(whole)
	return ids, len(rows) < page, nil
}

// candidates reads the frontier tasks and their inputs into pv and returns
// them as candidates, with, transitively, the downstream tasks of those
// for which pass holds.
func (s *Scheduler) candidates(ctx context.Context, d *dags.DAG, pv *partialView, frontier []string, pass func(*runView, string) bool) ([]string, error) {
	var cands []string
	seen := map[string]bool{}
	for len(frontier) > 0 {
		if err := pv.load(ctx, s.Store, withInputs(d, frontier, nil)); err != nil {
			return nil, err
		}
		var next []string
		for _, id := range frontier {
			t := d.Task(id)
			if t == nil || seen[id] {
				continue
			}
			seen[id] = true
			cands = append(cands, id)
			if pass(pv.v, id) {
				next = append(next, t.Downstream...)
			}
		}
		frontier = next
	}
	return cands, nil
}

// retryDue reports whether a task instance of the task is up_for_retry or
// up_for_reschedule with its time come.
func retryDue(v *runView, taskID string, now time.Time) bool {
	for k, r := range v.rows {
		if k.taskID == taskID && (r.State == dags.TaskStateUpForRetry || r.State == dags.TaskStateUpForReschedule) && !now.Before(r.NextRetryAt) {
			return true
		}
	}
	return false
}

// finished reports whether every task instance of the task is finished.
func (v *runView) finished(taskID string) bool {
	ti, ok := v.tis[taskID]
	if !ok {
		return false
	}
	if ti.Mapped == nil {
		return ti.State.Finished()
	}
	for _, m := range ti.Mapped {
		if !m.State.Finished() {
			return false
		}
	}
	return true
}

// skipped reports whether every task instance of the task is skipped.
func (v *runView) skipped(taskID string) bool {
	ti, ok := v.tis[taskID]
	if !ok {
		return false
	}
	if ti.Mapped == nil {
		return ti.State == dags.TaskStateSkipped
	}
	for _, m := range ti.Mapped {
		if m.State != dags.TaskStateSkipped {
			return false
		}
	}
	return true
}

// apply writes the decided transitions. lost reports that another process
// moved one of the task instances meanwhile: what was decided from the old
// state may be wrong, so the run is marked for a whole advance.
func (s *Scheduler) apply(ctx context.Context, run *store.DagRun, changes []*store.TaskInstanceSetStateParams, st *TickStats) (lost bool, err error) {
	if len(changes) == 0 {
		return false, nil
	}
	applied, err := s.Store.TaskInstancesSetStates(ctx, changes)
	if err != nil {
		return false, fmt.Errorf("record decisions: %w", err)
	}
	for i, ok := range applied {
		if !ok {
			s.markDirty(run.DagID, run.RunID, dirtyWhole, "")
			s.Wake()
			return true, nil
		}
		if changes[i].To != dags.TaskStateQueued {
			st.Scheduled++
		}
	}
	return false, nil
}

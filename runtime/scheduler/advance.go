package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// unfinishedStates are the task states a timed-out run skips.
var unfinishedStates = []dags.TaskState{
	dags.TaskStateNone, dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning,
	dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule, dags.TaskStateRestarting, dags.TaskStateDeferred,
}

// AdvanceAndDispatch is the mini-scheduler a worker calls right after it
// records a try: it decides what follows that task instance in its run
// (reading only its downstream tasks, see AdvanceTasks) and queues what
// became ready, so the downstream tasks start within milliseconds. Calls
// for a run whose advance is already under way in this process are
// coalesced: the running one advances the run once more for the tasks that
// finished meanwhile, so a burst of finished tries of a wide run costs two
// passes, not one per try.
func (s *Scheduler) AdvanceAndDispatch(ctx context.Context, key store.TaskInstanceKey) {
	run := [2]string{key.DagID, key.RunID}
	s.advMu.Lock()
	if s.advancing == nil {
		s.advancing = map[[2]string][]store.TaskInstanceKey{}
	}
	if pending, busy := s.advancing[run]; busy {
		s.advancing[run] = append(pending, key)
		s.advMu.Unlock()
		// The advance under way decides this try next (or, failing, marks
		// the run for a whole advance): its task-finished event, which
		// the caller publishes now, needs no tick of its own. A tick for
		// it would race the advance under way over the same task
		// instances, lose compare-and-sets and read the run whole.
		s.noteHandled([]store.TaskInstanceKey{key})
		return
	}
	s.advancing[run] = []store.TaskInstanceKey{}
	s.advMu.Unlock()
	tasks := []store.TaskInstanceKey{key}
	first := true
	for {
		if s.advanceAndDispatchOnce(ctx, key.DagID, key.RunID, tasks) && first {
			s.noteHandled(tasks) // the pending ones were noted as they came
		}
		first = false
		s.advMu.Lock()
		if pending := s.advancing[run]; len(pending) > 0 {
			tasks = pending
			s.advancing[run] = []store.TaskInstanceKey{}
			s.advMu.Unlock()
			continue
		}
		delete(s.advancing, run)
		s.advMu.Unlock()
		return
	}
}

// advanceAndDispatchOnce decides what follows the finished task instances
// of one run and queues what became ready; it reports whether the
// decisions were recorded.
func (s *Scheduler) advanceAndDispatchOnce(ctx context.Context, dagID, runID string, keys []store.TaskInstanceKey) bool {
	now := time.Now()
	var st TickStats
	finished := make([]string, len(keys))
	for i, k := range keys {
		finished[i] = k.TaskID
	}
	if err := s.AdvanceTasks(ctx, dagID, runID, finished, nil, now, &st); err != nil {
		s.Logger.Warn("mini-scheduler: advance failed; the next tick retries", "dag", dagID, "run", runID, "err", err)
		s.markDirty(dagID, runID, dirtyWhole, "")
		s.Wake() // the tries' events may have been noted handled
		return false
	}
	if st.Scheduled > 0 || st.RunsFinished > 0 || (s.ticks() && s.backlog()) {
		// Something became ready, or the finished tries freed slots that
		// task instances left scheduled by an earlier dispatch may wait
		// for. (In a process that ticks, Run skips the tick of a finished
		// try handled here; elsewhere that tick refills the slots.)
		if _, err := s.Dispatch(ctx, now); err != nil {
			s.Logger.Warn("mini-scheduler: dispatch failed; the next tick retries", "err", err)
		}
	}
	if st.RunsFinished > 0 {
		s.Wake() // a finished run may let a queued one start
	}
	return true
}

// advanceRunning advances the running runs of unpaused DAGs: every one
// (and those past their dagrun_timeout fail) in a sweep, once per
// SweepInterval, the safety net; otherwise only the runs marked dirty (a
// task finished, a retry fell due, a run started), each only as far as
// what changed.
func (s *Scheduler) advanceRunning(ctx context.Context, now time.Time, st *TickStats) error {
	if s.sweepDue(now) {
		s.takeDirty() // the sweep covers them
		return s.sweep(ctx, now, st)
	}
	if err := s.markRetriesDue(ctx, now); err != nil {
		return err
	}
	dirty := s.takeDirty()
	paused := map[string]bool{}
	var errs []error
	for key, dr := range dirty {
		run, err := s.Store.RunGet(ctx, key[0], key[1])
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("run %s/%s: %w", key[0], key[1], err))
			}
			continue
		}
		if run.State != dags.DagRunStateRunning || s.paused(ctx, paused, run.DagID) {
			continue
		}
		if dr.whole {
			err = s.advanceRun(ctx, run, now, st)
		} else {
			err = s.advanceTasks(ctx, run, dr.finished, dr.due, now, st)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err))
		}
	}
	return errors.Join(errs...)
}

// sweep advances every running run of an unpaused DAG whole.
func (s *Scheduler) sweep(ctx context.Context, now time.Time, st *TickStats) error {
	runs, err := s.Store.RunList(ctx, &store.RunListParams{States: []dags.DagRunState{dags.DagRunStateRunning}})
	if err != nil {
		return err
	}
	paused := map[string]bool{}
	var errs []error
	for _, run := range runs {
		if s.paused(ctx, paused, run.DagID) {
			continue
		}
		if err := s.advanceRun(ctx, run, now, st); err != nil {
			errs = append(errs, fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err))
		}
	}
	return errors.Join(errs...)
}

// paused reports whether the DAG is paused, caching the answer in seen.
func (s *Scheduler) paused(ctx context.Context, seen map[string]bool, dagID string) bool {
	p, ok := seen[dagID]
	if !ok {
		dag, err := s.Store.DAGGet(ctx, dagID)
		p = err == nil && dag.IsPaused
		seen[dagID] = p
	}
	return p
}

// Advance decides what happens next in one running run: task instances
// whose trigger rules are met become scheduled (empty tasks succeed at
// once), others are skipped or marked upstream_failed, retries whose time
// has come are scheduled again, and a run whose tasks are all done is
// finished. It is safe to call concurrently with other schedulers: every
// change is a compare-and-set.
func (s *Scheduler) Advance(ctx context.Context, dagID, runID string, now time.Time, st *TickStats) error {
	run, err := s.Store.RunGet(ctx, dagID, runID)
	if err != nil {
		return err
	}
	if run.State != dags.DagRunStateRunning {
		return nil
	}
	return s.advanceRun(ctx, run, now, st)
}

func (s *Scheduler) advanceRun(ctx context.Context, run *store.DagRun, now time.Time, st *TickStats) error {
	d, err := s.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		return err
	}
	// Tasks whose start_date/end_date leave this run out have no task
	// instance in it.
	d = d.ForRun(run.LogicalDate, run.RunType == dags.RunTypeBackfill)
	if d.DagrunTimeout > 0 && !run.StartDate.IsZero() && now.Sub(run.StartDate) > d.DagrunTimeout {
		return s.timeOut(ctx, run, d, now, st)
	}
	revised := map[string]bool{} // mapped tasks whose length this advance checked
	for pass := 0; ; pass++ {
		rows, err := s.Store.TaskInstanceStates(ctx, &store.TaskInstanceStatesParams{DagID: run.DagID, RunID: run.RunID})
		if err != nil {
			return err
		}
		v := newRunView(run.DagID, run.RunID, rows)
		if v.tasks < d.Len() && pass == 0 {
			// The process that created the run died before its task instances.
			if err := s.createTaskInstances(ctx, d, run.DagID, run.RunID); err != nil {
				return err
			}
			continue
		}
		past, err := s.pastStates(ctx, d, run)
		if err != nil {
			return err
		}
		changes, expand, err := s.decide(ctx, d, v, nil, nil, past, revised, now)
		if err != nil {
			return err
		}
		if lost, err := s.apply(ctx, run, changes, st); err != nil || lost {
			return err
		}
		if len(expand) > 0 && pass < 8 {
			// Mapped tasks to expand (or, after a clear, to expand again):
			// write their task instances, then decide again over them.
			if err := s.expandMapped(ctx, d, run, v, expand, revised, now); err != nil {
				return err
			}
			continue
		}
		final := state.RunState(d, v.tis, now)
		if !final.Finished() {
			return nil
		}
		return s.finishRun(ctx, run, final, now, st)
	}
}

// decide runs the trigger rules over the run's task instances (v is
// updated in place to the decided states) and returns the transitions to
// write, and the mapped tasks to expand. With a partial view pv (v is
// pv.v), it decides over the candidate tasks cands and reads what the
// decisions need; without, over every task of v. Empty tasks without callbacks go
// straight to success, as Airflow's scheduler does, and the tasks they
// unblock are decided in the same call. No more tasks are scheduled than
// max_active_tasks, max_active_tis_per_dagrun and max_active_tis_per_dag
// allow.
func (s *Scheduler) decide(ctx context.Context, d *dags.DAG, v *runView, pv *partialView, cands []string, past map[string]dags.TaskState, revised map[string]bool, now time.Time) ([]*store.TaskInstanceSetStateParams, []string, error) {
	var out []*store.TaskInstanceSetStateParams
	var expand []string
	limit := d.MaxActiveTasks
	if limit <= 0 {
		limit = dags.DefaultMaxActiveTasks
	}
	var perDag map[string]int // active task instances of a task across the DAG's runs, read when needed
	pending, err := s.evaluate(ctx, d, v, pv, now, cands)
	if err != nil {
		return nil, nil, err
	}
	for len(pending) > 0 {
		s.byPriority(d, pending, limit-v.active)
		var more []string
		for _, ch := range pending {
			row := v.rows[tiKey{ch.TaskID, ch.MapIndex}]
			if row == nil || v.state(ch.TaskID, ch.MapIndex) != ch.From {
				continue
			}
			t := d.Task(ch.TaskID)
			p := &store.TaskInstanceSetStateParams{
				Key:           v.key(row),
				From:          []dags.TaskState{ch.From},
				FromTryNumber: row.TryNumber,
				To:            ch.To,
			}
			if ch.To == dags.TaskStateScheduled {
				if t.DependsOnPast && past != nil && !pastDone(t, past) {
					continue // depends_on_past: waits for the same task of the previous run
				}
				if t.IsMapped() && ch.MapIndex < 0 {
					expand = append(expand, t.ID) // upstream done: expand it, then decide its map indexes
					continue
				}
				if t.IsMapped() && !revised[t.ID] && v.fresh(t.ID) {
					// Expanded, but nothing of it ran since (a clear): its
					// upstream may now give another length; check first.
					if !slices.Contains(expand, t.ID) {
						expand = append(expand, t.ID)
					}
					continue
				}
				if t.Operator == dags.OperatorEmpty && t.Callbacks.IsZero() && len(t.Outlets) == 0 {
					p.To = dags.TaskStateSuccess
					p.StartDate, p.EndDate = now, now
				} else {
					if pv != nil {
						if err := pv.readActive(ctx, s.Store); err != nil {
							return nil, nil, err
						}
					}
					if v.active >= limit {
						continue // max_active_tasks: stays as it is until a slot frees
					}
					if t.MaxActiveTIsPerDagrun > 0 && v.activeByTask[t.ID] >= t.MaxActiveTIsPerDagrun {
						continue
					}
					if t.MaxActiveTIsPerDag > 0 {
						if perDag == nil {
							perDag = map[string]int{}
						}
						n, ok := perDag[t.ID]
						if !ok {
							var err error
							if n, err = s.activeOfTask(ctx, d.ID, t.ID); err != nil {
								s.Logger.Warn("max_active_tis_per_dag: cannot count; not scheduling", "dag", d.ID, "task", t.ID, "err", err)
								continue
							}
						}
						if n >= t.MaxActiveTIsPerDag {
							perDag[t.ID] = n
							continue
						}
						perDag[t.ID] = n + 1
					}
					v.active++
					v.activeByTask[t.ID]++
					if ch.From != dags.TaskStateUpForReschedule {
						// A new try; a rescheduled sensor runs its
						// current try again, as Airflow's schedule_tis.
						p.TryNumber = row.TryNumber + 1
					} else {
						p.TryNumber = row.TryNumber
					}
				}
			} else if ch.To.Finished() {
				p.EndDate = now
			}
			v.set(ch.TaskID, ch.MapIndex, p.To)
			out = append(out, p)
			if p.To.Finished() {
				more = append(more, t.Downstream...)
			}
		}
		pending = nil
		if len(more) > 0 {
			if pending, err = s.evaluate(ctx, d, v, pv, now, more); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, expand, nil
}

// byPriority orders the changes by the priority weight of their tasks,
// highest first (stable: equal weights keep the DAG's order), when more
// tasks became ready than the free slots take: the slots go to the most
// urgent, as Airflow queues by priority weight.
func (s *Scheduler) byPriority(d *dags.DAG, pending []state.Change, free int) {
	ready := 0
	for _, ch := range pending {
		if ch.To == dags.TaskStateScheduled {
			ready++
		}
	}
	if ready <= free || ready < 2 {
		return
	}
	w := s.weights(d)
	slices.SortStableFunc(pending, func(a, b state.Change) int { return w[b.TaskID] - w[a.TaskID] })
}

// weights returns d's effective priority weights, computed once per DAG
// version.
func (s *Scheduler) weights(d *dags.DAG) map[string]int {
	s.wMu.Lock()
	defer s.wMu.Unlock()
	key := d.ID + "@" + d.SourceHash
	if w, ok := s.wCache[key]; ok {
		return w
	}
	if len(s.wCache) >= 256 {
		clear(s.wCache)
	}
	if s.wCache == nil {
		s.wCache = map[string]map[string]int{}
	}
	w := d.PriorityWeights()
	s.wCache[key] = w
	return w
}

// pastDone reports whether t's depends_on_past passes over past, the task
// states of the previous run: t itself succeeded or was skipped there and,
// with wait_for_downstream, so did each of its immediate downstream tasks
// (Airflow's prev_dagrun_dep and are_dependents_done). A task missing from
// the previous run blocks, as in Airflow.
func pastDone(t *dags.Task, past map[string]dags.TaskState) bool {
	done := func(s dags.TaskState) bool { return s == dags.TaskStateSuccess || s == dags.TaskStateSkipped }
	if !done(past[t.ID]) {
		return false
	}
	if t.WaitForDownstream {
		for _, id := range t.Downstream {
			if !done(past[id]) {
				return false
			}
		}
	}
	return true
}

// activeOfTask counts the scheduled, queued and running task instances of
// one task across all runs of its DAG.
func (s *Scheduler) activeOfTask(ctx context.Context, dagID, taskID string) (int, error) {
	rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, TaskID: taskID,
		States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}})
	return len(rows), err
}

// pastStates returns, when a task of d uses depends_on_past, the task
// states of the run before run (by logical date; scheduled and backfill runs
// only when the DAG catches up, as Airflow). It returns nil when no task
// depends on the past or there is no previous run: the dependency passes.
func (s *Scheduler) pastStates(ctx context.Context, d *dags.DAG, run *store.DagRun) (map[string]dags.TaskState, error) {
	uses := false
	for _, t := range d.Tasks() {
		uses = uses || t.DependsOnPast
	}
	if !uses {
		return nil, nil
	}
	p := &store.RunListParams{DagID: run.DagID, LogicalDateTo: run.LogicalDate, Limit: 1}
	if d.Catchup {
		p.RunTypes = []dags.RunType{dags.RunTypeScheduled, dags.RunTypeBackfill}
	}
	prev, err := s.Store.RunList(ctx, p)
	if err != nil || len(prev) == 0 {
		return nil, err
	}
	rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: prev[0].RunID})
	if err != nil {
		return nil, err
	}
	out := make(map[string]dags.TaskState, len(rows))
	for _, r := range rows {
		// A mapped task counts as succeeded when every map index did.
		if prev, seen := out[r.TaskID]; seen && (prev != dags.TaskStateSuccess && prev != dags.TaskStateSkipped) {
			continue
		}
		out[r.TaskID] = r.State
	}
	return out, nil
}

// finishRun moves a run to its final state and runs the DAG's callback.
func (s *Scheduler) finishRun(ctx context.Context, run *store.DagRun, final dags.DagRunState, now time.Time, st *TickStats) error {
	done, err := s.Store.RunSetState(ctx, &store.RunSetStateParams{DagID: run.DagID, RunID: run.RunID,
		From: []dags.DagRunState{dags.DagRunStateRunning}, To: final, EndDate: now})
	switch {
	case errors.Is(err, store.ErrStale):
		return nil // another scheduler finished it
	case err != nil:
		return err
	}
	st.RunsFinished++
	s.forgetRunHash(run)
	s.Logger.Info("run finished", "dag", run.DagID, "run", run.RunID, "state", final)
	if s.Callbacks != nil {
		s.Callbacks.RunFinished(ctx, done)
	}
	return nil
}

// timeOut fails a run that ran longer than its dagrun_timeout and skips
// its unfinished task instances, as Airflow does.
func (s *Scheduler) timeOut(ctx context.Context, run *store.DagRun, d *dags.DAG, now time.Time, st *TickStats) error {
	rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID, States: unfinishedStates})
	if err != nil {
		return err
	}
	changes := make([]*store.TaskInstanceSetStateParams, 0, len(rows))
	for _, r := range rows {
		changes = append(changes, &store.TaskInstanceSetStateParams{Key: r.TaskInstanceKey, From: []dags.TaskState{r.State}, To: dags.TaskStateSkipped, EndDate: now})
	}
	if len(changes) > 0 {
		if _, err := s.Store.TaskInstancesSetStates(ctx, changes); err != nil {
			return err
		}
	}
	s.Logger.Warn("run timed out", "dag", run.DagID, "run", run.RunID, "dagrun_timeout", dags.FormatDuration(d.DagrunTimeout))
	st.TimedOut++
	return s.finishRun(ctx, run, dags.DagRunStateFailed, now, st)
}

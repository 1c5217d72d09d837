package scheduler

import (
	"context"
	"errors"
	"fmt"
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
// records a try: it advances that run and queues what became ready, so the
// downstream tasks start within milliseconds. Calls for a run whose
// advance is already under way in this process are coalesced: the running
// one advances the run once more when it is done, so a burst of finished
// tries of a wide run costs two passes, not one per try.
func (s *Scheduler) AdvanceAndDispatch(ctx context.Context, dagID, runID string) {
	key := [2]string{dagID, runID}
	s.advMu.Lock()
	if s.advancing == nil {
		s.advancing = map[[2]string]bool{}
	}
	if _, busy := s.advancing[key]; busy {
		s.advancing[key] = true
		s.advMu.Unlock()
		return
	}
	s.advancing[key] = false
	s.advMu.Unlock()
	for {
		s.advanceAndDispatchOnce(ctx, dagID, runID)
		s.advMu.Lock()
		if again := s.advancing[key]; again {
			s.advancing[key] = false
			s.advMu.Unlock()
			continue
		}
		delete(s.advancing, key)
		s.advMu.Unlock()
		return
	}
}

func (s *Scheduler) advanceAndDispatchOnce(ctx context.Context, dagID, runID string) {
	now := time.Now()
	var st TickStats
	if err := s.Advance(ctx, dagID, runID, now, &st); err != nil {
		s.Logger.Warn("mini-scheduler: advance failed; the next tick retries", "dag", dagID, "run", runID, "err", err)
		return
	}
	if st.Scheduled > 0 || st.RunsFinished > 0 {
		if _, err := s.Dispatch(ctx, now); err != nil {
			s.Logger.Warn("mini-scheduler: dispatch failed; the next tick retries", "err", err)
		}
	}
	if st.RunsFinished > 0 {
		s.Wake() // a finished run may let a queued one start
	}
}

// advanceRunning advances every running run of an unpaused DAG and fails
// those past their dagrun_timeout.
func (s *Scheduler) advanceRunning(ctx context.Context, now time.Time, st *TickStats) error {
	runs, err := s.Store.RunList(ctx, &store.RunListParams{States: []dags.DagRunState{dags.DagRunStateRunning}})
	if err != nil {
		return err
	}
	paused := map[string]bool{}
	var errs []error
	for _, run := range runs {
		p, ok := paused[run.DagID]
		if !ok {
			dag, err := s.Store.DAGGet(ctx, run.DagID)
			p = err == nil && dag.IsPaused
			paused[run.DagID] = p
		}
		if p {
			continue
		}
		if err := s.advanceRun(ctx, run, now, st); err != nil {
			errs = append(errs, fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err))
		}
	}
	return errors.Join(errs...)
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
	if d.DagrunTimeout > 0 && !run.StartDate.IsZero() && now.Sub(run.StartDate) > d.DagrunTimeout {
		return s.timeOut(ctx, run, d, now, st)
	}
	rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
	if err != nil {
		return err
	}
	if len(rows) < d.Len() {
		// The process that created the run died before its task instances.
		if err := s.createTaskInstances(ctx, d, run.DagID, run.RunID); err != nil {
			return err
		}
		if rows, err = s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID}); err != nil {
			return err
		}
	}
	byID := make(map[string]*store.TaskInstance, len(rows))
	tis := make(map[string]state.TI, len(rows))
	active := 0
	for _, r := range rows {
		if r.MapIndex != store.NoMapIndex {
			continue
		}
		byID[r.TaskID] = r
		tis[r.TaskID] = state.TI{State: r.State, TryNumber: r.TryNumber, NextRetryAt: r.NextRetryAt}
		switch r.State {
		case dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning:
			active++
		}
	}
	past, err := s.pastStates(ctx, d, run)
	if err != nil {
		return err
	}
	changes := s.decide(d, tis, byID, past, active, now)
	if len(changes) > 0 {
		applied, err := s.Store.TaskInstancesSetStates(ctx, changes)
		if err != nil {
			return err
		}
		for i, ok := range applied {
			if !ok {
				// Someone else moved this task meanwhile; what we decided
				// from the old state may be wrong, so decide again later.
				s.Wake()
				return nil
			}
			if changes[i].To != dags.TaskStateQueued {
				st.Scheduled++
			}
		}
	}
	final := state.RunState(d, tis, now)
	if !final.Finished() {
		return nil
	}
	return s.finishRun(ctx, run, final, now, st)
}

// decide runs the trigger rules over the run's task instances (tis is
// updated in place to the decided states) and returns the transitions to
// write. Empty tasks without callbacks go straight to success, as Airflow's
// scheduler does, and the tasks they unblock are decided in the same call.
// No more tasks are scheduled than max_active_tasks allows.
func (s *Scheduler) decide(d *dags.DAG, tis map[string]state.TI, rows map[string]*store.TaskInstance, past map[string]dags.TaskState, active int, now time.Time) []*store.TaskInstanceSetStateParams {
	var out []*store.TaskInstanceSetStateParams
	limit := d.MaxActiveTasks
	if limit <= 0 {
		limit = dags.DefaultMaxActiveTasks
	}
	pending := state.Evaluate(d, tis, now, nil)
	for len(pending) > 0 {
		var more []string
		for _, ch := range pending {
			row := rows[ch.TaskID]
			ti := tis[ch.TaskID]
			if row == nil || ti.State != ch.From {
				continue
			}
			p := &store.TaskInstanceSetStateParams{
				Key:           row.TaskInstanceKey,
				From:          []dags.TaskState{ch.From},
				FromTryNumber: row.TryNumber,
				To:            ch.To,
			}
			if ch.To == dags.TaskStateScheduled {
				t := d.Task(ch.TaskID)
				if t.DependsOnPast && past != nil {
					if prev := past[t.ID]; prev != dags.TaskStateSuccess && prev != dags.TaskStateSkipped {
						continue // depends_on_past: waits for the same task of the previous run
					}
				}
				if t.Operator == dags.OperatorEmpty && t.Callbacks == (dags.Callbacks{}) {
					p.To = dags.TaskStateSuccess
					p.StartDate, p.EndDate = now, now
				} else {
					if active >= limit {
						continue // max_active_tasks: stays as it is until a slot frees
					}
					active++
					p.TryNumber = row.TryNumber + 1
				}
			} else if ch.To.Finished() {
				p.EndDate = now
			}
			ti.State = p.To
			tis[ch.TaskID] = ti
			out = append(out, p)
			if p.To.Finished() {
				more = append(more, d.Task(ch.TaskID).Downstream...)
			}
		}
		pending = nil
		if len(more) > 0 {
			pending = state.Evaluate(d, tis, now, more)
		}
	}
	return out
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
		if r.MapIndex == store.NoMapIndex {
			out[r.TaskID] = r.State
		}
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

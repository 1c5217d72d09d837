package scheduler

import (
	"context"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// dirtyKind says what changed in a run marked dirty.
type dirtyKind int

const (
	// dirtyFinished: a task instance finished; its downstream tasks are
	// decided.
	dirtyFinished dirtyKind = iota
	// dirtyDue: an up_for_retry or up_for_reschedule task instance's time
	// came; the task itself is decided.
	dirtyDue
	// dirtyWhole: the run is advanced whole (it started, or a decision
	// lost a compare-and-set to another process).
	dirtyWhole
)

// dirtyRun is what changed in one run since the last tick.
type dirtyRun struct {
	whole         bool
	finished, due []string
}

// dirtySet holds the runs the next tick advances, fed by task-finished
// events, due retries and runs started; the sweep (every SweepInterval)
// covers what it misses.
type dirtySet struct {
	mu        sync.Mutex
	runs      map[[2]string]*dirtyRun
	lastSweep time.Time
	// ticking is set by the first sweep: only a ticking Scheduler keeps
	// dirty runs.
	ticking bool
	// handled counts, per task instance, the finished tries whose
	// downstream this process's mini-scheduler already decided: their
	// task-finished events need no second pass.
	handled map[store.TaskInstanceKey]int
}

// maxHandled bounds dirtySet.handled should events be lost: past it the
// record starts again (an event then costs a second, harmless pass).
const maxHandled = 1 << 16

// markDirty records that the run needs advancing at the next tick. A
// Scheduler that never ticked (a worker's mini-scheduler) keeps no set:
// the scheduler processes get the task-finished events.
func (s *Scheduler) markDirty(dagID, runID string, kind dirtyKind, taskID string) {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	if !s.dirty.ticking {
		return
	}
	if s.dirty.runs == nil {
		s.dirty.runs = map[[2]string]*dirtyRun{}
	}
	key := [2]string{dagID, runID}
	dr := s.dirty.runs[key]
	if dr == nil {
		dr = &dirtyRun{}
		s.dirty.runs[key] = dr
	}
	switch kind {
	case dirtyWhole:
		dr.whole = true
		dr.finished, dr.due = nil, nil
	case dirtyFinished:
		if !dr.whole {
			dr.finished = append(dr.finished, taskID)
		}
	case dirtyDue:
		if !dr.whole {
			dr.due = append(dr.due, taskID)
		}
	}
}

// ticks reports whether this Scheduler ticks (its Run swept once), as
// opposed to a worker's mini-scheduler.
func (s *Scheduler) ticks() bool {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	return s.dirty.ticking
}

// takeDirty returns the dirty runs and empties the set.
func (s *Scheduler) takeDirty() map[[2]string]*dirtyRun {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	runs := s.dirty.runs
	s.dirty.runs = nil
	return runs
}

// sweepDue reports whether this tick advances every running run, and if
// so records it as the last sweep.
func (s *Scheduler) sweepDue(now time.Time) bool {
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	last := s.dirty.lastSweep
	if !last.IsZero() && now.Sub(last) < s.Config.SweepInterval && !now.Before(last) {
		return false
	}
	s.dirty.lastSweep = now
	s.dirty.ticking = true
	return true
}

// noteEvent marks the run of a task-finished event dirty, unless this
// process's mini-scheduler already decided what follows that try. It
// reports whether the event needs a tick: false only for a task-finished
// event that this process's mini-scheduler handled.
func (s *Scheduler) noteEvent(ev queue.Event) bool {
	if ev.Kind != queue.EventTaskFinished || ev.DAGID == "" || ev.RunID == "" {
		return true
	}
	key := store.TaskInstanceKey{DagID: ev.DAGID, RunID: ev.RunID, TaskID: ev.TaskID, MapIndex: ev.MapIndex}
	s.dirty.mu.Lock()
	if n := s.dirty.handled[key]; n > 0 {
		if n == 1 {
			delete(s.dirty.handled, key)
		} else {
			s.dirty.handled[key] = n - 1
		}
		s.dirty.mu.Unlock()
		return false
	}
	s.dirty.mu.Unlock()
	s.markDirty(ev.DAGID, ev.RunID, dirtyFinished, ev.TaskID)
	return true
}

// noteHandled records that the mini-scheduler decided what follows these
// tries, so that their task-finished events, which this process's Run
// receives next, are not decided again.
func (s *Scheduler) noteHandled(keys []store.TaskInstanceKey) {
	if s.Notifier == nil {
		return // Run gets no events to match
	}
	s.dirty.mu.Lock()
	defer s.dirty.mu.Unlock()
	if !s.dirty.ticking {
		return
	}
	if s.dirty.handled == nil || len(s.dirty.handled) > maxHandled {
		s.dirty.handled = map[store.TaskInstanceKey]int{}
	}
	for _, k := range keys {
		s.dirty.handled[k]++
	}
}

// markRetriesDue marks dirty the runs with an up_for_retry or
// up_for_reschedule task instance whose time has come (an indexed query).
func (s *Scheduler) markRetriesDue(ctx context.Context, now time.Time) error {
	tis, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{
		States: []dags.TaskState{dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule},
	})
	if err != nil {
		return err
	}
	for _, ti := range tis {
		if !now.Before(ti.NextRetryAt) { // a zero time (a cleared try) is due at once
			s.markDirty(ti.DagID, ti.RunID, dirtyDue, ti.TaskID)
		}
	}
	return nil
}

// markDAGDirty marks every running run of the DAG for a whole advance:
// a task instance that finished in one run may let a task of another
// start (depends_on_past, max_active_tis_per_dag).
func (s *Scheduler) markDAGDirty(ctx context.Context, dagID string) {
	runs, err := s.Store.RunList(ctx, &store.RunListParams{DagID: dagID, States: []dags.DagRunState{dags.DagRunStateRunning}})
	if err != nil {
		s.Logger.Warn("cannot list the runs a finished task may unblock; the sweep advances them", "dag", dagID, "err", err)
		return
	}
	for _, r := range runs {
		s.markDirty(r.DagID, r.RunID, dirtyWhole, "")
	}
	if len(runs) > 0 {
		s.Wake()
	}
}

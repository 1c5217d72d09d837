package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

func (s *Scheduler) dispatchStep(ctx context.Context, now time.Time, st *TickStats) error {
	n, err := s.Dispatch(ctx, now)
	st.Queued += n
	return err
}

// dispatchState remembers whether the last dispatch of this process may
// have left scheduled task instances behind for want of a slot (a full
// pool, parallelism reached, a claim that took all it asked for, or an
// error): those need a dispatch when a slot frees, even if nothing new
// became scheduled.
type dispatchState struct {
	mu sync.Mutex
	// seq numbers the dispatches as they start; done is the number of the
	// latest-started dispatch whose finding is recorded.
	seq, done uint64
	// clear: that dispatch found every pool below its limit.
	clear bool
}

// backlog reports whether scheduled task instances may wait for a slot
// (true until a dispatch of this process found otherwise).
func (s *Scheduler) backlog() bool {
	s.disp.mu.Lock()
	defer s.disp.mu.Unlock()
	return !s.disp.clear
}

// Dispatch hands scheduled task instances to the queue: for each pool with
// open slots, it claims (scheduled → queued, SKIP LOCKED where the store
// has it) up to the open slots and what parallelism leaves, highest
// priority weight first, and enqueues one message per claimed instance. It
// returns how many it queued.
func (s *Scheduler) Dispatch(ctx context.Context, now time.Time) (int, error) {
	s.disp.mu.Lock()
	s.disp.seq++
	seq := s.disp.seq
	s.disp.mu.Unlock()
	limited := true // until the pools are read and claimed from
	defer func() {
		s.disp.mu.Lock()
		if seq > s.disp.done {
			s.disp.done, s.disp.clear = seq, !limited
		}
		s.disp.mu.Unlock()
	}()
	pools, err := s.Store.PoolList(ctx)
	if err != nil {
		return 0, err
	}
	limited = false
	used := 0
	for _, p := range pools {
		used += p.RunningSlots + p.QueuedSlots
	}
	left := s.Config.Parallelism - used
	queued := 0
	var errs []error
	for _, p := range pools {
		open := p.OpenSlots()
		if p.Slots < 0 { // -1: unlimited, as in Airflow
			open = left
		}
		n := min(open, left)
		if n <= 0 {
			limited = true
			continue
		}
		claimed, err := s.Store.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: n, Pool: p.Name, QueuedAt: now})
		if err != nil {
			limited = true
			errs = append(errs, fmt.Errorf("claim in pool %s: %w", p.Name, err))
			continue
		}
		if len(claimed) == n {
			limited = true // more may wait
		}
		if len(claimed) == 0 {
			continue
		}
		if err := s.enqueue(ctx, claimed); err != nil {
			limited = true
			errs = append(errs, err)
			continue
		}
		queued += len(claimed)
		left -= len(claimed)
	}
	return queued, errors.Join(errs...)
}

// enqueue sends one message per claimed task instance. When the queue
// refuses them, the instances go back to scheduled so a later dispatch
// retries them.
func (s *Scheduler) enqueue(ctx context.Context, tis []*store.TaskInstance) error {
	hashes := map[[2]string]string{}
	msgs := make([]queue.Message, 0, len(tis))
	var errs []error
	for _, ti := range tis {
		key := [2]string{ti.DagID, ti.RunID}
		hash, ok := hashes[key]
		if !ok {
			if hash, ok = s.runHash(ti.DagID, ti.RunID, ti.LogicalDate); !ok {
				run, err := s.Store.RunGet(ctx, ti.DagID, ti.RunID)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				hash = run.SourceHash
				s.noteRunHash(run)
			}
			hashes[key] = hash
		}
		msgs = append(msgs, queue.Message{DAGID: ti.DagID, RunID: ti.RunID, TaskID: ti.TaskID, MapIndex: ti.MapIndex,
			TryNumber: ti.TryNumber, SourceHash: hash, Queue: ti.Queue, Priority: ti.PriorityWeight})
	}
	if err := s.Queue.Enqueue(ctx, msgs...); err != nil {
		back := make([]*store.TaskInstanceSetStateParams, 0, len(tis))
		for _, ti := range tis {
			back = append(back, &store.TaskInstanceSetStateParams{Key: ti.TaskInstanceKey, From: []dags.TaskState{dags.TaskStateQueued},
				FromTryNumber: ti.TryNumber, To: dags.TaskStateScheduled})
		}
		if _, berr := s.Store.TaskInstancesSetStates(ctx, back); berr != nil {
			errs = append(errs, fmt.Errorf("return unqueued task instances to scheduled: %w", berr))
		}
		errs = append(errs, fmt.Errorf("enqueue %d task instances: %w", len(msgs), err))
	}
	return errors.Join(errs...)
}

// maxRunHashes bounds Scheduler.hashes; past it the record starts again.
const maxRunHashes = 4096

// runHashKey names a run in Scheduler.hashes: its ids and its logical
// date, so that a run deleted and created again under the same id for
// another date is read again.
type runHashKey struct {
	dagID, runID string
	logical      int64
}

// runHash returns the DAG version of a run seen before.
func (s *Scheduler) runHash(dagID, runID string, logical time.Time) (string, bool) {
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	h, ok := s.hashes[runHashKey{dagID, runID, logical.UnixMicro()}]
	return h, ok
}

// noteRunHash records the DAG version of a run read from the store (a
// run's source hash is set when it is created and never changes), as the
// workers remember the runs of their tries.
func (s *Scheduler) noteRunHash(run *store.DagRun) {
	if run.SourceHash == "" {
		return
	}
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	if s.hashes == nil || len(s.hashes) >= maxRunHashes {
		s.hashes = map[runHashKey]string{}
	}
	s.hashes[runHashKey{run.DagID, run.RunID, run.LogicalDate.UnixMicro()}] = run.SourceHash
}

// forgetRunHash drops a finished run from Scheduler.hashes.
func (s *Scheduler) forgetRunHash(run *store.DagRun) {
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	delete(s.hashes, runHashKey{run.DagID, run.RunID, run.LogicalDate.UnixMicro()})
}

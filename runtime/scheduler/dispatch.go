package scheduler

import (
	"context"
	"errors"
	"fmt"
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

// Dispatch hands scheduled task instances to the queue: for each pool with
// open slots, it claims (scheduled → queued, SKIP LOCKED where the store
// has it) up to the open slots and what parallelism leaves, highest
// priority weight first, and enqueues one message per claimed instance. It
// returns how many it queued.
func (s *Scheduler) Dispatch(ctx context.Context, now time.Time) (int, error) {
	pools, err := s.Store.PoolList(ctx)
	if err != nil {
		return 0, err
	}
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
			continue
		}
		claimed, err := s.Store.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: n, Pool: p.Name, QueuedAt: now})
		if err != nil {
			errs = append(errs, fmt.Errorf("claim in pool %s: %w", p.Name, err))
			continue
		}
		if len(claimed) == 0 {
			continue
		}
		if err := s.enqueue(ctx, claimed); err != nil {
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
			run, err := s.Store.RunGet(ctx, ti.DagID, ti.RunID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			hash = run.SourceHash
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

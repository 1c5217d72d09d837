package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// reconcileState is what the reconcile step remembers between ticks.
type reconcileState struct {
	mu        sync.Mutex
	epoch     string    // the queue's epoch token last seen; "" before the first
	lost      bool      // the queue may have lost messages and no reconciliation has succeeded since
	down      bool      // the last epoch read failed: the queue was unreachable
	nextEpoch time.Time // when to ask the queue for its epoch again
	next      time.Time // when the next periodic reconciliation is due
}

// reconcileStep reconciles the queue with the store when it is due: every
// half ReconcileAfter for the task instances queued longer than
// ReconcileAfter, and at once, for every queued one, when the queue may have
// lost messages: at the scheduler's start (Redis may have restarted empty
// while no scheduler ran, and nothing remembers the epoch it had), when the
// queue's epoch changed (a Redis restart lost the streams), and when the
// queue answers again after it could not be reached. The epoch is read at
// most once per TickInterval. Queues that do not implement queue.Inventory
// are never reconciled.
func (s *Scheduler) reconcileStep(ctx context.Context, now time.Time, st *TickStats) error {
	inv, ok := s.Queue.(queue.Inventory)
	if !ok {
		return nil
	}
	r := &s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if !now.Before(r.nextEpoch) {
		r.nextEpoch = now.Add(s.Config.TickInterval)
		epoch, err := inv.Epoch(ctx)
		if err != nil {
			r.down = true
			return fmt.Errorf("read the queue's epoch: %w", err)
		}
		switch {
		case r.epoch == "":
			r.lost = true
			s.Logger.Info("reconciling the queue with the store at start")
		case epoch != r.epoch:
			r.lost = true
			s.Logger.Warn("the queue lost its messages (Redis restarted without persistence?): queuing again what the store shows as queued")
		case r.down:
			r.lost = true
			s.Logger.Info("the queue answers again: reconciling it with the store")
		}
		r.down = false
		r.epoch = epoch
	}
	queuedBefore := now.Add(-s.Config.ReconcileAfter)
	switch {
	case r.lost:
		queuedBefore = now
	case now.Before(r.next):
		return nil
	}
	n, err := s.Reconcile(ctx, queuedBefore)
	st.Reconciled += n
	if err != nil {
		return err
	}
	r.lost = false
	r.next = now.Add(s.Config.ReconcileAfter / 2)
	return nil
}

// Reconcile returns to scheduled the task instances queued before
// queuedBefore whose message the queue no longer holds, so that the next
// dispatch queues them again: their message was lost with Redis's data, or
// is held by a consumer that stopped extending it for ReconcileAfter (it
// died before it could start the try). It returns how many went back.
//
// Every change is a compare-and-set on the queued try, so concurrent
// schedulers return each instance once, and a worker that wins the try
// meanwhile keeps it. A message that surfaces after all (a delivery
// extended late, or enqueued by another scheduler a moment after the
// check) finds its try scheduled or queued again and is dropped by the
// worker's own compare-and-set: a duplicate costs a delivery, never a
// second run. A queue that does not implement queue.Inventory is left
// alone and Reconcile returns 0.
func (s *Scheduler) Reconcile(ctx context.Context, queuedBefore time.Time) (int, error) {
	inv, ok := s.Queue.(queue.Inventory)
	if !ok {
		return 0, nil
	}
	queued, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateQueued}})
	if err != nil {
		return 0, fmt.Errorf("list queued task instances: %w", err)
	}
	byQueue := map[string][]*store.TaskInstance{}
	var names []string
	for _, ti := range queued {
		if !ti.QueuedAt.Before(queuedBefore) {
			continue
		}
		name := queue.Message{Queue: ti.Queue}.QueueName()
		if _, ok := byQueue[name]; !ok {
			names = append(names, name)
		}
		byQueue[name] = append(byQueue[name], ti)
	}
	var back []*store.TaskInstanceSetStateParams
	for _, name := range names {
		msgs, err := inv.Held(ctx, name, s.Config.ReconcileAfter)
		if err != nil {
			return 0, fmt.Errorf("list the messages of queue %s: %w", name, err)
		}
		held := make(map[queue.MessageKey]bool, len(msgs))
		for _, m := range msgs {
			held[m.Key()] = true
		}
		for _, ti := range byQueue[name] {
			k := queue.MessageKey{DAGID: ti.DagID, RunID: ti.RunID, TaskID: ti.TaskID, MapIndex: ti.MapIndex, TryNumber: ti.TryNumber}
			if !held[k] {
				back = append(back, &store.TaskInstanceSetStateParams{Key: ti.TaskInstanceKey,
					From: []dags.TaskState{dags.TaskStateQueued}, FromTryNumber: ti.TryNumber, To: dags.TaskStateScheduled})
			}
		}
	}
	if len(back) == 0 {
		return 0, nil
	}
	applied, err := s.Store.TaskInstancesSetStates(ctx, back)
	if err != nil {
		return 0, fmt.Errorf("return task instances with lost messages to scheduled: %w", err)
	}
	n := 0
	for i, ok := range applied {
		if ok {
			n++
			s.Logger.Warn("queued task instance without a message in the queue: queued again", "task", back[i].Key.String(), "try", back[i].FromTryNumber)
		}
	}
	return n, nil
}

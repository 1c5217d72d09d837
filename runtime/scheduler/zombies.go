package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// zombieState is what the zombie step remembers between ticks: whether
// the scheduler lost the store, and until when it therefore does not judge
// heartbeats.
type zombieState struct {
	mu         sync.Mutex
	down       bool      // the last look at the store failed
	graceUntil time.Time // no zombie is judged before this time
}

// failZombies finds running task instances whose worker stopped sending
// heartbeats for ZombieTimeout and moves them to up_for_retry or failed by
// their retries, as Airflow does with "zombie" tasks.
//
// A scheduler judges only heartbeats it could have seen: when its own look
// at the store fails (a database outage), it judges none until the store
// has answered again for a whole ZombieTimeout. Workers could not record
// their heartbeats or their finished tries during the outage either; this
// gives them the time to, instead of retrying tries that finished or still
// run.
func (s *Scheduler) failZombies(ctx context.Context, now time.Time, st *TickStats) error {
	zombies, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{
		States:          []dags.TaskState{dags.TaskStateRunning},
		HeartbeatBefore: now.Add(-s.Config.ZombieTimeout),
	})
	if !s.zomb.judge(now, err, s.Config.ZombieTimeout) {
		if err == nil && len(zombies) > 0 {
			s.Logger.Info("not judging heartbeats yet: the store was unreachable", "until", s.zomb.until(), "candidates", len(zombies))
		}
		return err
	}
	if len(zombies) == 0 {
		return nil
	}
	var errs []error
	for _, z := range zombies {
		p := &store.TaskInstanceSetStateParams{Key: z.TaskInstanceKey, From: []dags.TaskState{dags.TaskStateRunning},
			FromTryNumber: z.TryNumber, To: dags.TaskStateFailed, EndDate: now}
		if z.TryNumber < z.MaxTries {
			p.To = dags.TaskStateUpForRetry
			p.NextRetryAt = now
			if run, err := s.Store.RunGet(ctx, z.DagID, z.RunID); err == nil {
				if d, err := s.DAGs.DAG(ctx, z.DagID, run.SourceHash); err == nil && d.Task(z.TaskID) != nil {
					p.NextRetryAt = now.Add(state.RetryDelay(d.Task(z.TaskID), z.DagID, run.LogicalDate, z.TryNumber))
				}
			}
		}
		_, err := s.Store.TaskInstanceSetState(ctx, p)
		switch {
		case err == nil:
			st.Zombies++
			s.Logger.Warn("zombie task: no heartbeat", "task", z.TaskInstanceKey.String(), "try", z.TryNumber,
				"last_heartbeat", z.HeartbeatAt, "now", p.To)
		case errors.Is(err, store.ErrStale):
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// judge records the outcome of a look at the store at now and reports
// whether zombies may be judged from it: not when it failed, and not within
// timeout of the first look that succeeded after a failure.
func (z *zombieState) judge(now time.Time, err error, timeout time.Duration) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			z.down = true
		}
		return false
	}
	if z.down {
		z.down = false
		z.graceUntil = now.Add(timeout)
	}
	return !now.Before(z.graceUntil)
}

func (z *zombieState) until() time.Time {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.graceUntil
}

// RequeueLost returns to scheduled the task instances queued before
// queuedBefore, so that the next dispatch queues them again. It is for an
// in-process queue at startup: the messages of everything a dead process
// had queued died with it, and without this those task instances would
// wait in queued forever. It returns how many went back.
func (s *Scheduler) RequeueLost(ctx context.Context, queuedBefore time.Time) (int, error) {
	queued, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateQueued}})
	if err != nil {
		return 0, fmt.Errorf("list queued task instances: %w", err)
	}
	back := make([]*store.TaskInstanceSetStateParams, 0, len(queued))
	for _, ti := range queued {
		if ti.QueuedAt.Before(queuedBefore) {
			back = append(back, &store.TaskInstanceSetStateParams{Key: ti.TaskInstanceKey, From: []dags.TaskState{dags.TaskStateQueued},
				FromTryNumber: ti.TryNumber, To: dags.TaskStateScheduled})
		}
	}
	if len(back) == 0 {
		return 0, nil
	}
	applied, err := s.Store.TaskInstancesSetStates(ctx, back)
	if err != nil {
		return 0, fmt.Errorf("return lost task instances to scheduled: %w", err)
	}
	n := 0
	for i, ok := range applied {
		if ok {
			n++
			s.Logger.Warn("task instance queued by a stopped process: queued again", "task", back[i].Key.String(), "try", back[i].FromTryNumber)
		}
	}
	return n, nil
}

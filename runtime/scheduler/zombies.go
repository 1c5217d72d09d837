package scheduler

import (
	"context"
	"errors"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// failZombies finds running task instances whose worker stopped sending
// heartbeats for ZombieTimeout and moves them to up_for_retry or failed by
// their retries, as Airflow does with "zombie" tasks.
func (s *Scheduler) failZombies(ctx context.Context, now time.Time, st *TickStats) error {
	zombies, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{
		States:          []dags.TaskState{dags.TaskStateRunning},
		HeartbeatBefore: now.Add(-s.Config.ZombieTimeout),
	})
	if err != nil || len(zombies) == 0 {
		return err
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

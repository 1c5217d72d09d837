package scheduler

import (
	"context"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DefaultHeartbeatInterval is how often a scheduler records that it is
// alive when Heartbeat is given no interval.
const DefaultHeartbeatInterval = 5 * time.Second

// Heartbeat records in the store, at once and then every interval until
// ctx ends, that the scheduler named id on hostname is alive; the
// webserver's /health reads it. Failures are logged and retried on the
// next beat. It returns ctx's error.
func (s *Scheduler) Heartbeat(ctx context.Context, id, hostname string, every time.Duration) error {
	if every <= 0 {
		every = DefaultHeartbeatInterval
	}
	started := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := s.Store.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{ID: id, Hostname: hostname, StartedAt: started, At: time.Now()})
		if err != nil && ctx.Err() == nil {
			s.Logger.Warn("scheduler heartbeat not recorded", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

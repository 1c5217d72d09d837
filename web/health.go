package web

import (
	"context"
	"net/http"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/web/api"
)

// Component states in /health.
const (
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// Health is the body of /health.
type Health struct {
	Status    string          `json:"status"`
	Database  ComponentHealth `json:"metadatabase"`
	Scheduler SchedulerHealth `json:"scheduler"`
	Queue     QueueHealth     `json:"queue"`
}

// ComponentHealth is one component's state, with why it is unhealthy.
type ComponentHealth struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// SchedulerHealth tells when a scheduler last reported.
type SchedulerHealth struct {
	ComponentHealth
	LatestHeartbeat api.Time `json:"latest_scheduler_heartbeat"`
	// HeartbeatAgeSeconds is null when no scheduler ever reported.
	HeartbeatAgeSeconds *float64 `json:"heartbeat_age_seconds"`
}

// QueueHealth is the task queue's depth: from the queue itself when the
// webserver has one, else the task instances queued in the store.
type QueueHealth struct {
	ComponentHealth
	Ready   int64 `json:"ready"`
	Pending int64 `json:"pending"`
}

// healthTimeout bounds each check.
const healthTimeout = 3 * time.Second

// health serves /health and /api/v1/health, the liveness check: 200 for
// as long as this process serves, with each component's status in
// Airflow's body shape ("status" is "unhealthy" when any component is). A
// scheduler that is down must not make a probe restart a healthy
// webserver; readiness is /ready. No authentication.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	h := Health{Status: Healthy}
	h.Database.Status = Healthy
	if err := s.opts.Store.Ping(ctx); err != nil {
		h.Database = ComponentHealth{Unhealthy, err.Error()}
	}
	h.Scheduler.Status = Healthy
	beats, err := s.opts.Store.SchedulerHeartbeatList(ctx)
	switch {
	case err != nil:
		h.Scheduler.ComponentHealth = ComponentHealth{Unhealthy, err.Error()}
	case len(beats) == 0:
		h.Scheduler.ComponentHealth = ComponentHealth{Unhealthy, "no scheduler has reported a heartbeat"}
	default:
		h.Scheduler.LatestHeartbeat = api.Time(beats[0].LastHeartbeat)
		age := s.opts.Now().Sub(beats[0].LastHeartbeat)
		secs := age.Seconds()
		h.Scheduler.HeartbeatAgeSeconds = &secs
		if age > s.opts.SchedulerStaleAfter {
			h.Scheduler.ComponentHealth = ComponentHealth{Unhealthy, "the newest scheduler heartbeat is older than " + s.opts.SchedulerStaleAfter.String()}
		}
	}
	h.Queue.Status = Healthy
	if h.Queue.Ready, h.Queue.Pending, err = s.queueDepth(ctx); err != nil {
		h.Queue.ComponentHealth = ComponentHealth{Unhealthy, err.Error()}
	}
	if h.Database.Status != Healthy || h.Scheduler.Status != Healthy || h.Queue.Status != Healthy {
		h.Status = Unhealthy
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, h)
}

// Readiness is the body of /ready.
type Readiness struct {
	Status   string          `json:"status"`
	Database ComponentHealth `json:"metadatabase"`
}

// ready serves /ready, the readiness check: 200 when the metadata
// database answers (the webserver can serve pages), 503 when it does not.
// The scheduler's and queue's states do not count: the UI is useful
// without them. No authentication.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	body, code := Readiness{Status: Healthy, Database: ComponentHealth{Status: Healthy}}, http.StatusOK
	if err := s.opts.Store.Ping(ctx); err != nil {
		body.Database = ComponentHealth{Unhealthy, err.Error()}
		body.Status, code = Unhealthy, http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, body)
}

// queueDepth sums the depth of the default queue and of every queue a
// worker serves, or without a queue counts queued task instances.
func (s *Server) queueDepth(ctx context.Context) (ready, pending int64, err error) {
	if s.opts.Queue == nil {
		counts, err := s.opts.Store.TaskInstanceStateCounts(ctx)
		if err != nil {
			return 0, 0, err
		}
		return int64(counts[dags.TaskStateQueued]), 0, nil
	}
	names := map[string]bool{queue.DefaultQueue: true}
	workers, err := s.opts.Store.WorkerList(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, w := range workers {
		for _, q := range w.Queues {
			names[q] = true
		}
	}
	for name := range names {
		r, p, err := s.opts.Queue.Depth(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		ready, pending = ready+r, pending+p
	}
	return ready, pending, nil
}

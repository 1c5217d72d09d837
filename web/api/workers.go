package api

import (
	"net/http"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Worker is a worker as it last reported, with whether it is still
// heard from.
type Worker struct {
	Consumer      string   `json:"consumer"`
	Hostname      string   `json:"hostname"`
	Queues        []string `json:"queues"`
	Running       int      `json:"running"`
	Slots         int      `json:"slots"`
	StartedAt     Time     `json:"started_at"`
	LastHeartbeat Time     `json:"last_heartbeat"`
	// State is "healthy" when the last heartbeat is recent, else "stale".
	State string `json:"state"`
}

// StaleAfter is how long a worker may stay silent before it shows as
// stale.
const StaleAfter = 2 * time.Minute

func workerOut(w *store.Worker, now time.Time) *Worker {
	state := "healthy"
	if now.Sub(w.LastHeartbeat) > StaleAfter {
		state = "stale"
	}
	q := w.Queues
	if q == nil {
		q = []string{}
	}
	return &Worker{w.Consumer, w.Hostname, q, w.Running, w.Slots, Time(w.StartedAt), Time(w.LastHeartbeat), state}
}

// workerList serves GET /workers.
func (h *handler) workerList(w http.ResponseWriter, r *http.Request) {
	list, err := h.Store.WorkerList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Now()
	out := make([]*Worker, len(list))
	for i, wk := range list {
		out[i] = workerOut(wk, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"workers": out, "total_entries": len(out)})
}

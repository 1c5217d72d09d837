package api

import (
	"net/http"

	"github.com/starflow-dev/starflow/runtime/store"
)

// XCom is one XCom entry.
type XCom struct {
	DagID    string `json:"dag_id"`
	RunID    string `json:"dag_run_id"`
	TaskID   string `json:"task_id"`
	MapIndex int    `json:"map_index"`
	Key      string `json:"key"`
	Value    any    `json:"value"`
	// ValueError says why a stored value could not be decoded.
	ValueError string `json:"value_error,omitempty"`
	Timestamp  Time   `json:"timestamp"`
}

func xcomOut(x *store.XCom) *XCom {
	return &XCom{x.DagID, x.RunID, x.TaskID, x.MapIndex, x.Key, x.Value, x.ValueError, Time(x.UpdatedAt)}
}

// xcomList serves GET .../taskInstances/{task_id}/xcomEntries.
func (h *handler) xcomList(w http.ResponseWriter, r *http.Request) {
	k, err := tiKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.Store.TaskInstanceGet(r.Context(), k); err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Store.XComList(r.Context(), &store.XComListParams{DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID, MapIndex: &k.MapIndex})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*XCom, len(list))
	for i, x := range list {
		out[i] = xcomOut(x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"xcom_entries": out, "total_entries": len(out)})
}

// xcomGet serves GET .../taskInstances/{task_id}/xcomEntries/{xcom_key}.
func (h *handler) xcomGet(w http.ResponseWriter, r *http.Request) {
	k, err := tiKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	x, err := h.Store.XComGet(r.Context(), &store.XComGetParams{TaskInstanceKey: k, Key: r.PathValue("xcom_key")})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, xcomOut(x))
}

package ui

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// clear clears one task (form fields: downstream, upstream, only_failed,
// map_index) so it runs again, then sends the user back to return. With a
// map index only that task instance of a mapped task is cleared (and the
// downstream tasks whole); without one, every map index.
func (h *handler) clear(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permClear) || !h.canAct(w, r) {
		return
	}
	dagID, runID, taskID := r.PathValue("dag"), r.PathValue("run"), r.PathValue("task")
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var opts [3]bool
	for i, name := range []string{"downstream", "upstream", "only_failed"} {
		v, err := formBool(r, name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		opts[i] = v
	}
	keys, err := h.Scheduler.Clear(r.Context(), scheduler.ClearParams{
		DAGID:      dagID,
		RunID:      runID,
		TaskRegex:  "^" + regexp.QuoteMeta(taskID) + "$",
		Downstream: opts[0],
		Upstream:   opts[1],
		OnlyFailed: opts[2],
		MapIndexes: mapIndexes(mapIndex),
	})
	if err != nil {
		h.fail(w, r, fmt.Errorf("clear %s/%s/%s: %w", dagID, runID, taskID, err))
		return
	}
	h.Logger.Info("ui: cleared task instances", "dag_id", dagID, "run_id", runID, "task_id", taskID, "map_index", mapIndex, "cleared", len(keys), "user", userName(r))
	h.audit(r, store.AuditEntry{Event: store.AuditClear, DagID: dagID, RunID: runID, TaskID: taskID,
		Extra: fmt.Sprintf("downstream=%t upstream=%t only_failed=%t map_index=%d cleared=%d", opts[0], opts[1], opts[2], mapIndex, len(keys))})
	h.done(w, r, dagURL(dagID, "grid"))
}

// mark marks one task success or failed (form fields: state, downstream,
// map_index). As with clear, a map index narrows it to that task instance.
func (h *handler) mark(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permMark) || !h.canAct(w, r) {
		return
	}
	dagID, runID, taskID := r.PathValue("dag"), r.PathValue("run"), r.PathValue("task")
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	state := dags.TaskState(r.FormValue("state"))
	if state != dags.TaskStateSuccess && state != dags.TaskStateFailed {
		h.fail(w, r, errorf(http.StatusBadRequest, "state must be success or failed, not %q", state))
		return
	}
	downstream, err := formBool(r, "downstream")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keys, err := h.Scheduler.MarkState(r.Context(), scheduler.MarkParams{DAGID: dagID, RunID: runID, TaskID: taskID, State: state, Downstream: downstream,
		MapIndexes: mapIndexes(mapIndex)})
	if err != nil {
		h.fail(w, r, fmt.Errorf("mark %s/%s/%s %s: %w", dagID, runID, taskID, state, err))
		return
	}
	h.Logger.Info("ui: marked task instances", "dag_id", dagID, "run_id", runID, "task_id", taskID, "state", state, "map_index", mapIndex, "marked", len(keys), "user", userName(r))
	h.audit(r, store.AuditEntry{Event: markEvent(state), DagID: dagID, RunID: runID, TaskID: taskID,
		Extra: fmt.Sprintf("downstream=%t map_index=%d marked=%d", downstream, mapIndex, len(keys))})
	h.done(w, r, dagURL(dagID, "grid"))
}

// done ends an action: back to the form's return path (or fallback) with
// 303, which htmx follows too.
func (h *handler) done(w http.ResponseWriter, r *http.Request, fallback string) {
	http.Redirect(w, r, safeReturn(r.FormValue("return"), fallback), http.StatusSeeOther)
}

// canAct answers 503 when the handler has no scheduler to carry out
// actions (a webserver wired read-only).
func (h *handler) canAct(w http.ResponseWriter, r *http.Request) bool {
	if h.Scheduler != nil {
		return true
	}
	h.fail(w, r, errorf(http.StatusServiceUnavailable, "this webserver has no scheduler to carry out actions"))
	return false
}

// mapIndexes is the scheduler's selection for a form's map index: nil
// (every task instance) for -1.
func mapIndexes(mapIndex int) []int {
	if mapIndex < 0 {
		return nil
	}
	return []int{mapIndex}
}

package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// tiList serves GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances,
// with ?state (repeatable), ?limit and ?offset.
func (h *handler) tiList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	run, err := h.Store.RunGet(r.Context(), dagID, runID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &store.TaskInstanceListParams{DagID: dagID, RunID: runID}
	for _, s := range r.URL.Query()["state"] {
		st := dags.TaskState(s)
		if !st.Valid() {
			h.fail(w, r, badf("state %q is not a task instance state", s))
			return
		}
		p.States = append(p.States, st)
	}
	list, err := h.Store.TaskInstanceList(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dag := h.runDAG(r, run)
	out := make([]*TaskInstance, 0, min(len(list), pg.limit))
	for _, ti := range slice(list, pg) {
		out = append(out, tiOut(ti, dag))
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_instances": out, "total_entries": len(list)})
}

// runDAG returns the DAG version run ran, for the display names of its
// tasks; nil (ids stand for names) when the version cannot be built.
func (h *handler) runDAG(r *http.Request, run *store.DagRun) *dags.DAG {
	hash := run.SourceHash
	if hash == "" {
		d, err := h.Store.DAGGet(r.Context(), run.DagID)
		if err != nil {
			return nil
		}
		hash = d.SourceHash
	}
	dag, err := h.DAGs.DAG(r.Context(), run.DagID, hash)
	if err != nil {
		h.Logger.WarnContext(r.Context(), "build DAG version", "dag", run.DagID, "err", err)
		return nil
	}
	return dag
}

// tiKey reads a task instance's key from the path: its map index from the
// {map_index} segment (Airflow's getMappedTaskInstance) or ?map_index,
// -1 (not mapped) when neither is given.
func tiKey(r *http.Request) (store.TaskInstanceKey, error) {
	k := store.TaskInstanceKey{DagID: r.PathValue("dag_id"), RunID: r.PathValue("dag_run_id"), TaskID: r.PathValue("task_id"), MapIndex: store.NoMapIndex}
	s := r.PathValue("map_index")
	if s == "" {
		s = r.URL.Query().Get("map_index")
	}
	if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < store.NoMapIndex {
			return k, badf("map_index %q: want -1 (not mapped) or more", s)
		}
		k.MapIndex = n
	}
	return k, nil
}

// tiGet serves GET .../taskInstances/{task_id} (with ?map_index) and
// .../taskInstances/{task_id}/{map_index}.
func (h *handler) tiGet(w http.ResponseWriter, r *http.Request) {
	k, err := tiKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ti, err := h.Store.TaskInstanceGet(r.Context(), k)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var dag *dags.DAG
	if run, err := h.Store.RunGet(r.Context(), k.DagID, k.RunID); err == nil {
		dag = h.runDAG(r, run)
	}
	writeJSON(w, http.StatusOK, tiOut(ti, dag))
}

// tiListMapped serves GET .../taskInstances/{task_id}/listMapped, as
// Airflow's getMappedTaskInstances: the map indexes (0 and up) of a mapped
// task in map-index order, with ?state (repeatable), ?limit and ?offset.
// A task that is not mapped, or not expanded yet, has none: an empty list.
// A task without task instances in the run is 404.
func (h *handler) tiListMapped(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dagID, runID, taskID := r.PathValue("dag_id"), r.PathValue("dag_run_id"), r.PathValue("task_id")
	run, err := h.Store.RunGet(r.Context(), dagID, runID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var states []dags.TaskState
	for _, s := range r.URL.Query()["state"] {
		st := dags.TaskState(s)
		if !st.Valid() {
			h.fail(w, r, badf("state %q is not a task instance state", s))
			return
		}
		states = append(states, st)
	}
	all, err := h.Store.TaskInstanceList(r.Context(), &store.TaskInstanceListParams{DagID: dagID, RunID: runID, TaskID: taskID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(all) == 0 {
		h.fail(w, r, &notFound{"run " + dagID + "/" + runID + " has no task " + strconv.Quote(taskID)})
		return
	}
	var list []*store.TaskInstance
	for _, ti := range all {
		if ti.MapIndex >= 0 && (len(states) == 0 || slices.Contains(states, ti.State)) {
			list = append(list, ti)
		}
	}
	slices.SortFunc(list, func(a, b *store.TaskInstance) int { return a.MapIndex - b.MapIndex })
	dag := h.runDAG(r, run)
	out := make([]*TaskInstance, 0, min(len(list), pg.limit))
	for _, ti := range slice(list, pg) {
		out = append(out, tiOut(ti, dag))
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_instances": out, "total_entries": len(list)})
}

// clearBody is the body of POST /dags/{dag_id}/clearTaskInstances.
type clearBody struct {
	RunID             string   `json:"dag_run_id"`
	TaskIDs           []string `json:"task_ids"`
	StartDate         string   `json:"start_date"`
	EndDate           string   `json:"end_date"`
	OnlyFailed        bool     `json:"only_failed"`
	IncludeDownstream bool     `json:"include_downstream"`
	IncludeUpstream   bool     `json:"include_upstream"`
	DryRun            bool     `json:"dry_run"`
}

// tiClear serves POST /dags/{dag_id}/clearTaskInstances: the selected task
// instances (every task of every run unless narrowed) go back to none and
// run again.
func (h *handler) tiClear(w http.ResponseWriter, r *http.Request) {
	var body clearBody
	if err := decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	p := scheduler.ClearParams{DAGID: r.PathValue("dag_id"), RunID: body.RunID, OnlyFailed: body.OnlyFailed,
		Downstream: body.IncludeDownstream, Upstream: body.IncludeUpstream, DryRun: body.DryRun}
	if len(body.TaskIDs) > 0 {
		quoted := make([]string, len(body.TaskIDs))
		for i, id := range body.TaskIDs {
			if id == "" {
				h.fail(w, r, badf("task_ids: empty task id"))
				return
			}
			quoted[i] = regexp.QuoteMeta(id)
		}
		p.TaskRegex = "^(?:" + strings.Join(quoted, "|") + ")$"
	}
	var err error
	if body.StartDate != "" {
		if p.StartDate, err = parseTime(body.StartDate); err != nil {
			h.fail(w, r, badf("start_date %q: want an RFC 3339 time or a date", body.StartDate))
			return
		}
	}
	if body.EndDate != "" {
		if p.EndDate, err = parseTime(body.EndDate); err != nil {
			h.fail(w, r, badf("end_date %q: want an RFC 3339 time or a date", body.EndDate))
			return
		}
	}
	if _, err := h.Store.DAGGet(r.Context(), p.DAGID); err != nil {
		h.fail(w, r, err)
		return
	}
	if p.RunID != "" {
		if _, err := h.Store.RunGet(r.Context(), p.DAGID, p.RunID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if h.Scheduler == nil {
		writeError(w, http.StatusServiceUnavailable, "this webserver cannot clear task instances (no scheduler wired)")
		return
	}
	keys, err := h.Scheduler.Clear(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !body.DryRun {
		h.audit(r, store.AuditEntry{Event: store.AuditClear, DagID: p.DAGID, RunID: p.RunID, Extra: fmt.Sprintf("task_regex=%s cleared=%d", p.TaskRegex, len(keys))})
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_instances": refsOut(keys), "dry_run": body.DryRun})
}

// markBody is the body of POST /dags/{dag_id}/updateTaskInstancesState.
type markBody struct {
	RunID             string         `json:"dag_run_id"`
	TaskID            string         `json:"task_id"`
	NewState          dags.TaskState `json:"new_state"`
	IncludeDownstream bool           `json:"include_downstream"`
}

// tiMark serves POST /dags/{dag_id}/updateTaskInstancesState: mark a task
// instance (and with include_downstream, those after it) success or
// failed.
func (h *handler) tiMark(w http.ResponseWriter, r *http.Request) {
	var body markBody
	if err := decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case body.RunID == "" || body.TaskID == "":
		h.fail(w, r, badf("dag_run_id and task_id are required"))
		return
	case body.NewState != dags.TaskStateSuccess && body.NewState != dags.TaskStateFailed:
		h.fail(w, r, badf("new_state %q: want success or failed", body.NewState))
		return
	}
	dagID := r.PathValue("dag_id")
	if _, err := h.Store.RunGet(r.Context(), dagID, body.RunID); err != nil {
		h.fail(w, r, err)
		return
	}
	// Any task instance of the task will do: an expanded mapped task has
	// map indexes 0 and up only, and MarkState marks every one of them.
	tis, err := h.Store.TaskInstanceList(r.Context(), &store.TaskInstanceListParams{DagID: dagID, RunID: body.RunID, TaskID: body.TaskID, Limit: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(tis) == 0 {
		h.fail(w, r, &notFound{"run " + dagID + "/" + body.RunID + " has no task " + strconv.Quote(body.TaskID)})
		return
	}
	if h.Scheduler == nil {
		writeError(w, http.StatusServiceUnavailable, "this webserver cannot mark task instances (no scheduler wired)")
		return
	}
	keys, err := h.Scheduler.MarkState(r.Context(), scheduler.MarkParams{DAGID: dagID, RunID: body.RunID, TaskID: body.TaskID,
		State: body.NewState, Downstream: body.IncludeDownstream})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	event := store.AuditMarkSuccess
	if body.NewState == dags.TaskStateFailed {
		event = store.AuditMarkFailed
	}
	h.audit(r, store.AuditEntry{Event: event, DagID: dagID, RunID: body.RunID, TaskID: body.TaskID, Extra: fmt.Sprintf("downstream=%t marked=%d", body.IncludeDownstream, len(keys))})
	writeJSON(w, http.StatusOK, map[string]any{"task_instances": refsOut(keys)})
}

package api

import (
	"net/http"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// dagList serves GET /dags: ?limit, ?offset, ?paused, ?only_active
// (default true), ?tags (any of them, repeatable; in the store's query)
// and ?dag_id_pattern (a substring of the id, whatever its case, as
// Airflow's ilike).
func (h *handler) dagList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	paused, err := boolParam(r, "paused")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	active, err := boolParam(r, "only_active")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &store.DAGListParams{Paused: paused}
	if active == nil || *active {
		yes := true
		p.Active = &yes
	}
	q := r.URL.Query()
	p.Tags = q["tags"]
	pattern := strings.ToLower(q.Get("dag_id_pattern"))
	filtered := pattern != ""
	if !filtered {
		// Without filters the store pages and counts.
		p.Limit, p.Offset = pg.limit, pg.offset
	}
	list, err := h.Store.DAGList(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total := len(list) + pg.offset
	if filtered {
		keep := list[:0]
		for _, d := range list {
			if strings.Contains(strings.ToLower(d.DagID), pattern) {
				keep = append(keep, d)
			}
		}
		total = len(keep)
		list = slice(keep, pg)
	} else if len(list) == pg.limit || (len(list) == 0 && pg.offset > 0) {
		if total, err = h.Store.DAGCount(r.Context(), p); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	out := make([]*DAG, len(list))
	for i, d := range list {
		out[i] = dagOut(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dags": out, "total_entries": total})
}

// dagGet serves GET /dags/{dag_id} and GET /dags/{dag_id}/details (Airflow's
// path for the same details), with the import errors of its file.
func (h *handler) dagGet(w http.ResponseWriter, r *http.Request) {
	d, err := h.Store.DAGGet(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	errs, err := h.Store.ImportErrorList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	mine := []*ImportError{}
	for _, e := range errs {
		if e.Pos.File == d.File {
			mine = append(mine, importErrorOut(e))
		}
	}
	detail := DAGDetail{DAG: dagOut(d), ImportErrors: mine, Params: map[string]*Param{}}
	if dag, err := h.DAGs.DAG(r.Context(), d.DagID, d.SourceHash); err == nil {
		detail.DocMD, detail.Catchup, detail.Timezone = dag.DocMD, dag.Catchup, dag.Timezone.String()
		detail.StartDate, detail.EndDate = Time(dag.StartDate), Time(dag.EndDate)
		detail.Params = paramsOut(dag.Params, dag.ParamSpecs)
	} else {
		// The row is still worth showing when its version cannot be built.
		h.Logger.WarnContext(r.Context(), "build DAG version", "dag", d.DagID, "err", err)
	}
	writeJSON(w, http.StatusOK, detail)
}

// DAGDetail is one DAG with what its current version says and the import
// errors of its file.
type DAGDetail struct {
	*DAG
	Params       map[string]*Param `json:"params"`
	DocMD        string            `json:"doc_md"`
	Catchup      bool              `json:"catchup"`
	Timezone     string            `json:"timezone"`
	StartDate    Time              `json:"start_date"`
	EndDate      Time              `json:"end_date"`
	ImportErrors []*ImportError    `json:"import_errors"`
}

// ParamClass is the "__class" of every param in the API, as Airflow 3's
// Param.dump() names its class.
const ParamClass = "airflow.sdk.definitions.param.Param"

// Param is a DAG's or task's param as Airflow's REST API shows it
// (Param.dump()): its default (null when it has none), its description
// (null when unset) and its JSON schema ({} for a plain value).
type Param struct {
	Class       string         `json:"__class"`
	Value       any            `json:"value"`
	Description *string        `json:"description"`
	Schema      map[string]any `json:"schema"`
}

// paramsOut dumps params (the defaults) and specs (the params declared
// with Param(...)) by name, as Airflow's DAG details and tasks show them.
func paramsOut(values map[string]any, specs map[string]*dags.ParamSpec) map[string]*Param {
	out := make(map[string]*Param, len(values)+len(specs))
	for name, v := range values {
		out[name] = &Param{Class: ParamClass, Value: v, Schema: map[string]any{}}
	}
	for name, spec := range specs {
		p := &Param{Class: ParamClass, Schema: spec.Schema}
		if spec.HasDefault {
			p.Value = spec.Default
		}
		if spec.Description != "" {
			p.Description = &spec.Description
		}
		if p.Schema == nil {
			p.Schema = map[string]any{}
		}
		out[name] = p
	}
	return out
}

// dagPatch serves PATCH /dags/{dag_id} with {"is_paused": bool}.
func (h *handler) dagPatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IsPaused *bool `json:"is_paused"`
	}
	if err := decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	if body.IsPaused == nil {
		h.fail(w, r, badf("nothing to change: send {\"is_paused\": true} or false"))
		return
	}
	id := r.PathValue("dag_id")
	if err := h.Store.DAGSetPaused(r.Context(), id, *body.IsPaused); err != nil {
		h.fail(w, r, err)
		return
	}
	event := store.AuditUnpause
	if *body.IsPaused {
		event = store.AuditPause
	}
	h.audit(r, store.AuditEntry{Event: event, DagID: id})
	if !*body.IsPaused && h.Scheduler != nil {
		h.Scheduler.Wake()
	}
	d, err := h.Store.DAGGet(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, dagOut(d))
}

// Task is a task of a DAG's current version.
type Task struct {
	TaskID string `json:"task_id"`
	// DisplayName is the task's task_display_name, its id when unset.
	DisplayName       string            `json:"task_display_name"`
	Operator          string            `json:"operator"`
	TriggerRule       string            `json:"trigger_rule"`
	Retries           int               `json:"retries"`
	Pool              string            `json:"pool"`
	Queue             string            `json:"queue"`
	Group             string            `json:"task_group"`
	UpstreamTaskIDs   []string          `json:"upstream_task_ids"`
	DownstreamTaskIDs []string          `json:"downstream_task_ids"`
	Params            map[string]*Param `json:"params"`
	DocMD             string            `json:"doc_md"`
}

// dagTasks serves GET /dags/{dag_id}/tasks: the tasks of the DAG's current
// version in topological order, with their edges.
func (h *handler) dagTasks(w http.ResponseWriter, r *http.Request) {
	d, err := h.Store.DAGGet(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dag, err := h.DAGs.DAG(r.Context(), d.DagID, d.SourceHash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Task, 0, dag.Len())
	for _, t := range dag.Tasks() {
		params := paramsOut(t.Params, t.ParamSpecs)
		out = append(out, Task{TaskID: t.ID, DisplayName: t.Label(), Operator: t.Operator, TriggerRule: string(t.TriggerRule), Retries: t.Retries,
			Pool: t.Pool, Queue: t.Queue, Group: t.Group, UpstreamTaskIDs: nonNil(t.Upstream),
			DownstreamTaskIDs: nonNil(t.Downstream), Params: params, DocMD: t.DocMD})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out, "total_entries": len(out)})
}

// dagSource serves GET /dags/{dag_id}/source: the files of the DAG's
// current version.
func (h *handler) dagSource(w http.ResponseWriter, r *http.Request) {
	d, err := h.Store.DAGGet(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.DAGVersionGet(r.Context(), d.SourceHash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dag_id": d.DagID, "source_hash": v.SourceHash, "entry_file": v.EntryFile, "files": v.Files})
}

// ImportError is a DAG file that failed to load.
type ImportError struct {
	ID        int64  `json:"import_error_id"`
	File      string `json:"filename"`
	Line      int    `json:"line"`
	Col       int    `json:"col"`
	Message   string `json:"stack_trace"`
	Timestamp Time   `json:"timestamp"`
}

func importErrorOut(e *store.ImportError) *ImportError {
	return &ImportError{ID: e.ID, File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Message, Timestamp: Time(e.Timestamp)}
}

// importErrors serves GET /importErrors.
func (h *handler) importErrors(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	errs, err := h.Store.ImportErrorList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*ImportError, 0, len(errs))
	for _, e := range slice(errs, pg) {
		out = append(out, importErrorOut(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"import_errors": out, "total_entries": len(errs)})
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// runList serves GET /dags/{dag_id}/dagRuns ("~" for every DAG): ?state
// and ?run_type (repeatable), ?logical_date_gte and ?logical_date_lt,
// ?limit and ?offset; newest logical date first.
func (h *handler) runList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &store.RunListParams{}
	if id := r.PathValue("dag_id"); id != "~" {
		if _, err := h.Store.DAGGet(r.Context(), id); err != nil {
			h.fail(w, r, err)
			return
		}
		p.DagID = id
	}
	q := r.URL.Query()
	for _, s := range q["state"] {
		st := dags.DagRunState(s)
		if !st.Valid() {
			h.fail(w, r, badf("state %q: want queued, running, success or failed", s))
			return
		}
		p.States = append(p.States, st)
	}
	for _, s := range q["run_type"] {
		switch t := dags.RunType(s); t {
		case dags.RunTypeManual, dags.RunTypeScheduled, dags.RunTypeBackfill, dags.RunTypeDatasetTriggered:
			p.RunTypes = append(p.RunTypes, t)
		default:
			h.fail(w, r, badf("run_type %q: want manual, scheduled, backfill or dataset_triggered", s))
			return
		}
	}
	if p.LogicalDateFrom, err = timeParam(r, "logical_date_gte"); err != nil {
		h.fail(w, r, err)
		return
	}
	if p.LogicalDateTo, err = timeParam(r, "logical_date_lt"); err != nil {
		h.fail(w, r, err)
		return
	}
	total, list, err := h.runPage(r, p, pg)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*DagRun, len(list))
	for i, run := range list {
		out[i] = runOut(run)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dag_runs": out, "total_entries": total})
}

// runPage returns one page of runs and how many match in all. Filtering by
// state alone counts in the store; other filters count the matching rows.
func (h *handler) runPage(r *http.Request, p *store.RunListParams, pg page) (int, []*store.DagRun, error) {
	ctx := r.Context()
	p.Limit, p.Offset = pg.limit, pg.offset
	list, err := h.Store.RunList(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	if len(list) < pg.limit && (len(list) > 0 || pg.offset == 0) {
		return pg.offset + len(list), list, nil
	}
	if len(p.RunTypes) == 0 && p.LogicalDateFrom.IsZero() && p.LogicalDateTo.IsZero() {
		states := p.States
		if len(states) == 0 {
			states = []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning, dags.DagRunStateSuccess, dags.DagRunStateFailed}
		}
		counts, err := h.Store.RunCount(ctx, &store.RunCountParams{DagID: p.DagID, States: states})
		if err != nil {
			return 0, nil, err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		return total, list, nil
	}
	all := *p
	all.Limit, all.Offset = 0, 0
	every, err := h.Store.RunList(ctx, &all)
	if err != nil {
		return 0, nil, err
	}
	return len(every), list, nil
}

// triggerBody is the body of POST /dags/{dag_id}/dagRuns.
type triggerBody struct {
	RunID       string          `json:"dag_run_id"`
	LogicalDate string          `json:"logical_date"`
	Conf        json.RawMessage `json:"conf"`
}

// runTrigger serves POST /dags/{dag_id}/dagRuns: a manual run with an
// optional run id, logical date and conf (a JSON object).
func (h *handler) runTrigger(w http.ResponseWriter, r *http.Request) {
	var body triggerBody
	if err := decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	p := scheduler.TriggerParams{DAGID: r.PathValue("dag_id"), RunID: body.RunID}
	if body.LogicalDate != "" {
		t, err := parseTime(body.LogicalDate)
		if err != nil {
			h.fail(w, r, badf("logical_date %q: want an RFC 3339 time such as 2024-01-01T00:00:00Z", body.LogicalDate))
			return
		}
		p.LogicalDate = t
	}
	if c := bytes.TrimSpace(body.Conf); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		if c[0] != '{' {
			h.fail(w, r, badf("conf must be a JSON object, such as {\"key\": \"value\"}"))
			return
		}
		dec := json.NewDecoder(bytes.NewReader(c))
		dec.UseNumber()
		if err := dec.Decode(&p.Conf); err != nil {
			h.fail(w, r, badf("conf: %v", err))
			return
		}
		p.Conf = store.PlainNumbers(p.Conf).(map[string]any)
	}
	if h.Scheduler == nil {
		writeError(w, http.StatusServiceUnavailable, "this webserver cannot trigger runs (no scheduler wired)")
		return
	}
	run, err := h.Scheduler.Trigger(r.Context(), p, h.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditTrigger, DagID: run.DagID, RunID: run.RunID})
	writeJSON(w, http.StatusOK, runOut(run))
}

// runGet serves GET /dags/{dag_id}/dagRuns/{dag_run_id}.
func (h *handler) runGet(w http.ResponseWriter, r *http.Request) {
	run, err := h.Store.RunGet(r.Context(), r.PathValue("dag_id"), r.PathValue("dag_run_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runOut(run))
}

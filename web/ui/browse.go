package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// browsePageSize is how many rows a browse page shows.
const browsePageSize = 50

// pager is the paging of a browse page: limit/offset, with one row more
// read than shown to know whether a next page exists (no COUNT over the
// whole table).
type pager struct {
	Offset     int
	Prev, Next string
}

// readOffset reads the offset query parameter.
func readOffset(q url.Values) (int, error) {
	s := q.Get("offset")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errorf(http.StatusBadRequest, "offset must be a whole number ≥ 0, not %q", s)
	}
	return n, nil
}

// pageURL is path with the non-empty filters of q and key=n (left out
// when n is 0, the first page).
func pageURL(path string, q url.Values, key string, n int) string {
	c := url.Values{}
	for k, v := range q {
		if k != key && len(v) > 0 && v[0] != "" {
			c[k] = v
		}
	}
	if n > 0 {
		c.Set(key, strconv.Itoa(n))
	}
	if len(c) == 0 {
		return path
	}
	return path + "?" + c.Encode()
}

// links sets Prev and Next for a page at offset that read got rows.
func (p *pager) links(path string, q url.Values, got int) {
	at := func(off int) string { return pageURL(path, q, "offset", off) }
	if p.Offset > 0 {
		p.Prev = at(max(0, p.Offset-browsePageSize))
	}
	if got > browsePageSize {
		p.Next = at(p.Offset + browsePageSize)
	}
}

// runsPage lists DAG runs across DAGs.
type runsPage struct {
	Runs                  []*store.DagRun
	DagID, State, RunType string
	From, To              string
	States, RunTypes      []string
	Pager                 pager
}

func (p *runsPage) title() string { return "DAG runs" }

// parseDay reads a yyyy-mm-dd filter.
func parseDay(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "%s must be a date such as 2024-03-01, not %q", name, s)
	}
	return t, nil
}

func (h *handler) browseRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &runsPage{DagID: q.Get("dag_id"), State: q.Get("state"), RunType: q.Get("run_type"), From: q.Get("from"), To: q.Get("to"),
		States:   []string{"queued", "running", "success", "failed"},
		RunTypes: []string{string(dags.RunTypeManual), string(dags.RunTypeScheduled), string(dags.RunTypeBackfill), string(dags.RunTypeDatasetTriggered)}}
	off, err := readOffset(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Pager.Offset = off
	lp := &store.RunListParams{DagID: p.DagID, Limit: browsePageSize + 1, Offset: off}
	if p.State != "" {
		lp.States = []dags.DagRunState{dags.DagRunState(p.State)}
	}
	if p.RunType != "" {
		lp.RunTypes = []dags.RunType{dags.RunType(p.RunType)}
	}
	if lp.LogicalDateFrom, err = parseDay("from", p.From); err != nil {
		h.fail(w, r, err)
		return
	}
	if lp.LogicalDateTo, err = parseDay("to", p.To); err != nil {
		h.fail(w, r, err)
		return
	}
	if !lp.LogicalDateTo.IsZero() {
		lp.LogicalDateTo = lp.LogicalDateTo.AddDate(0, 0, 1) // to is inclusive
	}
	runs, err := h.Store.RunList(r.Context(), lp)
	if err != nil {
		h.fail(w, r, fmt.Errorf("list runs: %w", err))
		return
	}
	p.Pager.links("/runs", q, len(runs))
	p.Runs = runs[:min(len(runs), browsePageSize)]
	h.render(w, r, http.StatusOK, "runs", p)
}

// tisPage lists task instances across DAGs and runs.
type tisPage struct {
	TIs                         []*store.TaskInstance
	DagID, RunID, TaskID, State string
	// The date filters as given (days, YYYY-MM-DD), by Airflow's names:
	// logical_date_gte/lte and start_date_gte/lte, both ends inclusive.
	LogicalFrom, LogicalTo, StartFrom, StartTo string
	States                                     []string
	Pager                                      pager
	Return                                     string
}

func (p *tisPage) title() string { return "Task instances" }

func (h *handler) browseTIs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &tisPage{DagID: q.Get("dag_id"), RunID: q.Get("run_id"), TaskID: q.Get("task_id"), State: q.Get("state"), Return: r.URL.RequestURI(),
		LogicalFrom: q.Get("logical_date_gte"), LogicalTo: q.Get("logical_date_lte"), StartFrom: q.Get("start_date_gte"), StartTo: q.Get("start_date_lte")}
	for _, s := range []dags.TaskState{dags.TaskStateNone, dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning, dags.TaskStateSuccess,
		dags.TaskStateFailed, dags.TaskStateSkipped, dags.TaskStateUpstreamFailed, dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule, dags.TaskStateRemoved, dags.TaskStateDeferred} {
		p.States = append(p.States, string(s))
	}
	off, err := readOffset(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Pager.Offset = off
	lp := &store.TaskInstanceListParams{DagID: p.DagID, RunID: p.RunID, TaskID: p.TaskID, Limit: browsePageSize + 1, Offset: off}
	if p.State != "" {
		lp.States = []dags.TaskState{dags.TaskState(p.State)}
	}
	for _, f := range []struct {
		name, val string
		to        bool
		dst       *time.Time
	}{{"logical_date_gte", p.LogicalFrom, false, &lp.LogicalDateFrom}, {"logical_date_lte", p.LogicalTo, true, &lp.LogicalDateTo},
		{"start_date_gte", p.StartFrom, false, &lp.StartDateFrom}, {"start_date_lte", p.StartTo, true, &lp.StartDateTo}} {
		day, err := parseDay(f.name, f.val)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if f.to && !day.IsZero() {
			day = day.AddDate(0, 0, 1) // the last day is inclusive
		}
		*f.dst = day
	}
	tis, err := h.Store.TaskInstanceList(r.Context(), lp)
	if err != nil {
		h.fail(w, r, fmt.Errorf("list task instances: %w", err))
		return
	}
	p.Pager.links("/taskinstances", q, len(tis))
	p.TIs = tis[:min(len(tis), browsePageSize)]
	h.render(w, r, http.StatusOK, "tis", p)
}

// tiRef is a task instance picked by a bulk form's checkbox:
// "dag_id|run_id|task_id|map_index" (ids cannot hold |).
func parseTIRef(s string) (store.TaskInstanceKey, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 4 {
		return store.TaskInstanceKey{}, errorf(http.StatusBadRequest, "bad task instance reference %q", s)
	}
	mi, err := strconv.Atoi(parts[3])
	if err != nil {
		return store.TaskInstanceKey{}, errorf(http.StatusBadRequest, "bad map index in %q", s)
	}
	return store.TaskInstanceKey{DagID: parts[0], RunID: parts[1], TaskID: parts[2], MapIndex: mi}, nil
}

// bulkTIs clears or marks the checked task instances (form fields: ti,
// repeated; action: clear, success or failed), each as the task instance
// page's buttons would, each with its audit entry.
func (h *handler) bulkTIs(w http.ResponseWriter, r *http.Request) {
	action := r.FormValue("action")
	perm := permMark
	switch action {
	case "clear":
		perm = permClear
	case "success", "failed":
	default:
		h.fail(w, r, errorf(http.StatusBadRequest, "action must be clear, success or failed, not %q", action))
		return
	}
	if !h.allowed(w, r, perm) || !h.canAct(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errorf(http.StatusBadRequest, "bad form: %v", err))
		return
	}
	refs := r.PostForm["ti"]
	if len(refs) == 0 {
		h.fail(w, r, errorf(http.StatusBadRequest, "no task instances selected"))
		return
	}
	for _, ref := range refs {
		k, err := parseTIRef(ref)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var n int
		if action == "clear" {
			keys, err := h.Scheduler.Clear(r.Context(), scheduler.ClearParams{DAGID: k.DagID, RunID: k.RunID,
				TaskRegex: "^" + regexp.QuoteMeta(k.TaskID) + "$", MapIndexes: mapIndexes(k.MapIndex)})
			if err != nil {
				h.fail(w, r, fmt.Errorf("clear %s: %w", k, err))
				return
			}
			n = len(keys)
			h.audit(r, store.AuditEntry{Event: store.AuditClear, DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID,
				Extra: fmt.Sprintf("bulk map_index=%d cleared=%d", k.MapIndex, n)})
			continue
		}
		state := dags.TaskState(action)
		keys, err := h.Scheduler.MarkState(r.Context(), scheduler.MarkParams{DAGID: k.DagID, RunID: k.RunID, TaskID: k.TaskID, State: state,
			MapIndexes: mapIndexes(k.MapIndex)})
		if err != nil {
			h.fail(w, r, fmt.Errorf("mark %s %s: %w", k, state, err))
			return
		}
		h.audit(r, store.AuditEntry{Event: markEvent(state), DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID,
			Extra: fmt.Sprintf("bulk map_index=%d marked=%d", k.MapIndex, len(keys))})
	}
	h.done(w, r, "/taskinstances")
}

// browseRoutes adds the browse pages.
func (h *handler) browseRoutes() {
	h.mux.HandleFunc("GET /runs", h.browseRuns)
	h.mux.HandleFunc("GET /taskinstances", h.browseTIs)
	h.mux.HandleFunc("POST /taskinstances/_bulk", h.bulkTIs)
}

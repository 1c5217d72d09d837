package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// runStates are the run states the DAG list counts, in Airflow's order.
var runStates = []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning, dags.DagRunStateSuccess, dags.DagRunStateFailed}

// dagListPage is the DAG list: filters, import errors and one row per DAG.
type dagListPage struct {
	Query  string
	Tag    string
	Status string // "", "active" (unpaused) or "paused"
	// AllTags are the tags of every DAG, for the tag filter.
	AllTags      []string
	ImportErrors []*store.ImportError
	// Rows are the DAGs of the page shown.
	Rows []*dagRow
	// Total is the number of active DAGs; Matched those the filters keep.
	Total, Matched int
	// Page is the page shown (from 0, as Airflow's ?page=), of Pages;
	// First and Last number its rows from 1 among the matched DAGs.
	Page, Pages, First, Last int
	// Prev and Next link the neighbouring pages with the same filters;
	// empty on the first and last.
	Prev, Next string
	// Live is set while a run is queued or running: the table polls.
	Live bool
	// TableURL is the URL of the table fragment with the same filters.
	TableURL string
}

func (p *dagListPage) title() string { return "DAGs" }

// dagRow is one DAG with the number of its runs in each state. Its URLs
// and texts are computed in Go: with a thousand rows, template function
// calls would dominate the page's time.
type dagRow struct {
	DAG  *store.DAG
	Runs []stateCount
	// URL is the DAG's base path (/dags/{id}).
	URL      string
	Schedule string
	// Datasets link the datasets of a dataset schedule to their view.
	Datasets []link
	// Next is the next run's logical date, NextAfter when it may start.
	Next, NextAfter string
	Tags            []tagLink
}

// stateCount is a number of runs in one state.
type stateCount struct {
	State dags.DagRunState
	Class string
	Count int
}

// tagLink is a tag and the list filtered by it.
type tagLink struct {
	Name, URL string
}

func newDAGRow(d *store.DAG, runs []stateCount) *dagRow {
	r := &dagRow{DAG: d, Runs: runs, URL: dagURL(d.DagID), Schedule: d.Schedule, Next: "—"}
	if r.Schedule == "" {
		r.Schedule = "None"
	}
	if uris, ok := dags.DatasetsOfSchedule(d.Schedule); ok {
		r.Datasets = datasetLinks(uris)
	}
	if !d.Next.LogicalDate.IsZero() {
		r.Next, r.NextAfter = fmtTime(d.Next.LogicalDate), fmtTime(d.Next.CreateAfter)
	}
	r.Tags = make([]tagLink, len(d.Tags))
	for i, t := range d.Tags {
		r.Tags[i] = tagLink{Name: t, URL: "/dags?tag=" + url.QueryEscape(t)}
	}
	return r
}

// active reports whether the DAG has a queued or running run.
func (r *dagRow) active() bool {
	for _, c := range r.Runs {
		if !c.State.Finished() && c.Count > 0 {
			return true
		}
	}
	return false
}

func (h *handler) dagList(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadDAGList(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "dags", p)
}

func (h *handler) dagTable(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadDAGList(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, r, "dags", "dag-table", p)
}

// dagsPageSize is how many DAGs a page of the DAG list shows: Airflow's
// default [webserver] page_size.
const dagsPageSize = 100

// loadDAGList reads one page of the DAG list (?page=, from 0 as in
// Airflow, with the filters ?q=, ?tag= and ?status=) with a fixed number
// of queries, whatever the number of DAGs: the store filters, counts and
// pages the DAGs, lists the tags and the import errors, and counts the
// runs of the page's DAGs only. Only the page's rows are read, built and
// rendered.
func (h *handler) loadDAGList(ctx context.Context, r *http.Request) (*dagListPage, error) {
	q := r.URL.Query()
	p := &dagListPage{Query: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"), Status: q.Get("status")}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errorf(http.StatusBadRequest, "page must be a whole number ≥ 0, not %q", v)
		}
		p.Page = n
	}
	p.TableURL = "/dags/_table?" + r.URL.RawQuery
	active := true
	all := &store.DAGListParams{Active: &active}
	switch p.Status {
	case "active":
		f := false
		all.Paused = &f
	case "paused":
		t := true
		all.Paused = &t
	case "":
	default:
		return nil, errorf(http.StatusBadRequest, "status must be active or paused, not %q", p.Status)
	}
	var err error
	if p.Total, err = h.Store.DAGCount(ctx, all); err != nil {
		return nil, fmt.Errorf("count DAGs: %w", err)
	}
	if p.AllTags, err = h.Store.DAGTags(ctx, all); err != nil {
		return nil, fmt.Errorf("list DAG tags: %w", err)
	}
	matching := *all
	matching.Search = p.Query
	if p.Tag != "" {
		matching.Tags = []string{p.Tag}
	}
	p.Matched = p.Total
	if matching.Search != "" || matching.Tags != nil {
		if p.Matched, err = h.Store.DAGCount(ctx, &matching); err != nil {
			return nil, fmt.Errorf("count matching DAGs: %w", err)
		}
	}
	p.Pages = max(1, (p.Matched+dagsPageSize-1)/dagsPageSize)
	if p.Page >= p.Pages {
		p.Page = p.Pages - 1 // a page past the end (the filters changed) shows the last
	}
	matching.Limit, matching.Offset = dagsPageSize, p.Page*dagsPageSize
	page, err := h.Store.DAGList(ctx, &matching)
	if err != nil {
		return nil, fmt.Errorf("list DAGs: %w", err)
	}
	if p.ImportErrors, err = h.Store.ImportErrorList(ctx); err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	ids := make([]string, len(page))
	for i, d := range page {
		ids[i] = d.DagID
	}
	counts, err := h.runCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, d := range page {
		row := newDAGRow(d, countsOf(counts[d.DagID]))
		p.Live = p.Live || row.active()
		p.Rows = append(p.Rows, row)
	}
	if len(p.Rows) > 0 {
		p.First, p.Last = matching.Offset+1, matching.Offset+len(p.Rows)
	}
	at := func(page int) string { return pageURL("/dags", q, "page", page) }
	if p.Page > 0 {
		p.Prev = at(p.Page - 1)
	}
	if p.Page+1 < p.Pages {
		p.Next = at(p.Page + 1)
	}
	return p, nil
}

// runCounts counts the runs of the DAGs dagIDs in each state, in one
// query.
func (h *handler) runCounts(ctx context.Context, dagIDs []string) (map[string]map[dags.DagRunState]int, error) {
	c, err := h.Store.RunCountsByDAG(ctx, &store.RunCountsByDAGParams{DagIDs: dagIDs})
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	return c, nil
}

// countsOf is a DAG's run counts in runStates' order.
func countsOf(counts map[dags.DagRunState]int) []stateCount {
	out := make([]stateCount, len(runStates))
	for i, s := range runStates {
		out[i] = stateCount{State: s, Class: stateClass(s), Count: counts[s]}
	}
	return out
}

// pause pauses or unpauses a DAG (form field paused=true|false). An htmx
// request gets the DAG's new row; a plain form is sent back to the list.
func (h *handler) pause(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permPause) {
		return
	}
	dagID := r.PathValue("dag")
	paused, err := formBool(r, "paused")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if err := h.Store.DAGSetPaused(ctx, dagID, paused); err != nil {
		h.fail(w, r, fmt.Errorf("pause DAG %s: %w", dagID, err))
		return
	}
	h.Logger.Info("ui: DAG paused", "dag_id", dagID, "paused", paused, "user", userName(r))
	h.audit(r, store.AuditEntry{Event: pauseEvent(paused), DagID: dagID})
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, safeReturn(r.FormValue("return"), "/dags"), http.StatusSeeOther)
		return
	}
	d, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.runCounts(ctx, []string{dagID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, r, "dags", "dag-row-fragment", newDAGRow(d, countsOf(counts[dagID])))
}

// formBool reads a "true"/"false" form field.
func formBool(r *http.Request, name string) (bool, error) {
	switch v := r.FormValue(name); v {
	case "true", "on", "1":
		return true, nil
	case "false", "off", "0", "":
		return false, nil
	default:
		return false, errorf(http.StatusBadRequest, "%s must be true or false, not %q", name, v)
	}
}

// safeReturn returns target when it is a local path, otherwise fallback,
// so a form cannot send the user to another site.
func safeReturn(target, fallback string) string {
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") && !strings.HasPrefix(target, "/\\") {
		return target
	}
	return fallback
}

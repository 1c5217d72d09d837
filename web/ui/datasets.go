package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/datasets"
)

// datasetEventsShown is how many of a dataset's newest events its detail
// view lists.
const datasetEventsShown = 100

// datasetsPage is the Datasets page: every dataset, or one dataset's
// events and consumers (Detail set).
type datasetsPage struct {
	Rows   []*datasetRow
	Detail *datasetDetail
}

func (p *datasetsPage) title() string {
	if p.Detail != nil {
		return p.Detail.URI + " · Datasets"
	}
	return "Datasets"
}

// datasetRow is one dataset of the list, its links computed in Go.
type datasetRow struct {
	*datasets.Dataset
	URL       string
	LastEvent *eventRow
	Producers []link
	Consumers []link
}

// link is a text and where it leads.
type link struct {
	Text, URL string
}

// eventRow is a dataset event with links to its source.
type eventRow struct {
	*store.DatasetEvent
	// DagURL is the source DAG's grid, TaskURL the source task
	// instance's page; empty when the event names no source.
	DagURL, TaskURL string
	Extra           string
}

// datasetDetail is one dataset: its newest events and the DAGs scheduled
// on it.
type datasetDetail struct {
	URI    string
	Events []*eventRow
	Total  int
	// Consumers are the DAGs scheduled on the dataset with their progress.
	Consumers []*consumerRow
}

// consumerRow is a DAG scheduled on the dataset: how many of its events
// the DAG has not consumed yet and which of its datasets it still waits
// for.
type consumerRow struct {
	*datasets.Progress
	URL        string
	Pending    int
	WaitingFor []link
}

// datasetURL is the detail view of the dataset uri.
func datasetURL(uri string) string { return "/datasets?uri=" + url.QueryEscape(uri) }

// datasetLinks links each of uris to its detail view.
func datasetLinks(uris []string) []link {
	out := make([]link, len(uris))
	for i, u := range uris {
		out[i] = link{Text: u, URL: datasetURL(u)}
	}
	return out
}

func newEventRow(e *store.DatasetEvent) *eventRow {
	r := &eventRow{DatasetEvent: e}
	if e.SourceDagID != "" {
		r.DagURL = dagURL(e.SourceDagID, "grid")
		if e.SourceRunID != "" && e.SourceTaskID != "" {
			r.TaskURL = tiURL(e.SourceDagID, e.SourceRunID, e.SourceTaskID)
			if e.SourceMapIndex >= 0 {
				r.TaskURL += "?map_index=" + strconv.Itoa(e.SourceMapIndex)
			}
		}
	}
	if len(e.Extra) > 0 {
		r.Extra = prettyJSON(e.Extra)
	}
	return r
}

// datasets serves /datasets, and /datasets?uri=... for one dataset.
func (h *handler) datasets(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if q := r.URL.Query(); q.Has("uri") {
		uri := q.Get("uri")
		if err := dags.CheckDatasetURI(uri); err != nil {
			h.fail(w, r, errorf(http.StatusBadRequest, "%v", err))
			return
		}
		d, err := h.datasetDetail(r, uri)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "datasets", &datasetsPage{Detail: d})
		return
	}
	list, err := datasets.List(ctx, h.Store, "")
	if err != nil {
		h.fail(w, r, fmt.Errorf("list datasets: %w", err))
		return
	}
	p := &datasetsPage{Rows: make([]*datasetRow, len(list))}
	for i, d := range list {
		row := &datasetRow{Dataset: d, URL: datasetURL(d.URI)}
		if d.LastEvent != nil {
			row.LastEvent = newEventRow(d.LastEvent)
		}
		for _, pr := range d.Producers {
			row.Producers = append(row.Producers, link{Text: pr.DagID + "." + pr.TaskID, URL: dagURL(pr.DagID, "grid")})
		}
		for _, c := range d.Consumers {
			row.Consumers = append(row.Consumers, link{Text: c, URL: dagURL(c, "grid")})
		}
		p.Rows[i] = row
	}
	h.render(w, r, http.StatusOK, "datasets", p)
}

// datasetDetail reads one dataset's newest events and its consumers'
// progress; a dataset without events or consumers is not found.
func (h *handler) datasetDetail(r *http.Request, uri string) (*datasetDetail, error) {
	ctx := r.Context()
	stats, err := h.Store.DatasetEventStats(ctx, &store.DatasetEventStatsParams{URIs: []string{uri}})
	if err != nil {
		return nil, fmt.Errorf("events of dataset %s: %w", uri, err)
	}
	consumers, err := datasets.Consumers(ctx, h.Store, uri)
	if err != nil {
		return nil, err
	}
	d := &datasetDetail{URI: uri}
	for _, s := range stats {
		d.Total += s.Count
	}
	if d.Total == 0 && len(consumers) == 0 {
		return nil, errorf(http.StatusNotFound, "no dataset %s: no event recorded and no DAG scheduled on it", uri)
	}
	events, err := datasets.Events(ctx, h.Store, uri, true, datasetEventsShown, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		d.Events = append(d.Events, newEventRow(e))
	}
	for _, c := range consumers {
		d.Consumers = append(d.Consumers, &consumerRow{Progress: c, URL: dagURL(c.DagID, "grid"), Pending: c.Pending[uri], WaitingFor: datasetLinks(c.WaitingFor)})
	}
	return d, nil
}

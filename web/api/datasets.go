package api

import (
	"net/http"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/datasets"
)

// Dataset is a dataset as the API shows it, close to Airflow's: the DAGs
// scheduled on it (consumer_dags), the tasks that recently updated it
// (producing_tasks), and its events.
type Dataset struct {
	URI            string              `json:"uri"`
	ConsumerDAGs   []DatasetDAGRef     `json:"consumer_dags"`
	ProducingTasks []datasets.Producer `json:"producing_tasks"`
	EventCount     int                 `json:"event_count"`
	// FirstEventTime and LastEventTime are null without events, LastEvent
	// too.
	FirstEventTime Time          `json:"first_event_time"`
	LastEventTime  Time          `json:"last_event_time"`
	LastEvent      *DatasetEvent `json:"last_event"`
}

// DatasetDAGRef names a DAG scheduled on a dataset.
type DatasetDAGRef struct {
	DagID string `json:"dag_id"`
}

// DatasetEvent is one update of a dataset, with Airflow's field names.
// The source fields are null for an event no task recorded.
type DatasetEvent struct {
	ID             int64          `json:"id"`
	DatasetURI     string         `json:"dataset_uri"`
	SourceDagID    *string        `json:"source_dag_id"`
	SourceRunID    *string        `json:"source_run_id"`
	SourceTaskID   *string        `json:"source_task_id"`
	SourceMapIndex int            `json:"source_map_index"`
	Timestamp      Time           `json:"timestamp"`
	Extra          map[string]any `json:"extra"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func datasetEventOut(e *store.DatasetEvent) *DatasetEvent {
	extra := e.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	return &DatasetEvent{ID: e.ID, DatasetURI: e.URI, SourceDagID: nullable(e.SourceDagID), SourceRunID: nullable(e.SourceRunID),
		SourceTaskID: nullable(e.SourceTaskID), SourceMapIndex: e.SourceMapIndex, Timestamp: Time(e.Timestamp), Extra: extra}
}

// datasetList serves GET /datasets: every dataset with an event or a DAG
// scheduled on it, by URI; ?uri_pattern= keeps the URIs containing it.
func (h *handler) datasetList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := datasets.List(r.Context(), h.Store, r.URL.Query().Get("uri_pattern"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*Dataset, 0, len(list))
	for _, d := range slice(list, pg) {
		ds := &Dataset{URI: d.URI, ConsumerDAGs: make([]DatasetDAGRef, len(d.Consumers)), ProducingTasks: d.Producers,
			EventCount: d.Events, FirstEventTime: Time(d.FirstEventAt), LastEventTime: Time(d.LastEventAt)}
		for i, c := range d.Consumers {
			ds.ConsumerDAGs[i] = DatasetDAGRef{DagID: c}
		}
		if ds.ProducingTasks == nil {
			ds.ProducingTasks = []datasets.Producer{}
		}
		if d.LastEvent != nil {
			ds.LastEvent = datasetEventOut(d.LastEvent)
		}
		out = append(out, ds)
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasets": out, "total_entries": len(list)})
}

// datasetEvents serves GET /datasets/events: the events of ?uri= (of
// every dataset without it), oldest first as in Airflow, newest first
// with order_by=-timestamp.
func (h *handler) datasetEvents(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	uri := q.Get("uri")
	if uri != "" {
		if err := dags.CheckDatasetURI(uri); err != nil {
			h.fail(w, r, badf("uri: %v", err))
			return
		}
	}
	var newestFirst bool
	switch o := q.Get("order_by"); o {
	case "", "timestamp", "id":
	case "-timestamp", "-id":
		newestFirst = true
	default:
		h.fail(w, r, badf("order_by %q: want timestamp or -timestamp", o))
		return
	}
	ctx := r.Context()
	sp := &store.DatasetEventStatsParams{}
	if uri != "" {
		sp.URIs = []string{uri}
	}
	stats, err := h.Store.DatasetEventStats(ctx, sp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total := 0
	for _, s := range stats {
		total += s.Count
	}
	events := []*store.DatasetEvent{}
	if pg.offset < total {
		if events, err = datasets.Events(ctx, h.Store, uri, newestFirst, pg.limit, pg.offset); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	out := make([]*DatasetEvent, len(events))
	for i, e := range events {
		out[i] = datasetEventOut(e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dataset_events": out, "total_entries": total})
}

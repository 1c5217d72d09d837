// Package datasets gathers what the web UI and the REST API show about
// datasets (data-aware scheduling): every dataset with its events, the
// tasks that updated it and the DAGs it schedules, and for one dataset its
// consumers' progress. It reads the store only, with a number of queries
// that does not grow with the number of events.
package datasets

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// RecentWindow is how many of the newest events (of every dataset) List
// reads to find each dataset's recent producers and last event.
const RecentWindow = 1000

// Producer is a task that updated a dataset.
type Producer struct {
	DagID  string `json:"dag_id"`
	TaskID string `json:"task_id"`
}

// Dataset is one dataset: its events and the DAGs around it.
type Dataset struct {
	URI string
	// Events is the number of events recorded; FirstEventAt and
	// LastEventAt bound their timestamps (zero without events).
	Events                    int
	FirstEventAt, LastEventAt time.Time
	// LastEvent is the newest event, nil without events.
	LastEvent *store.DatasetEvent
	// Producers are the distinct tasks that recorded an event among the
	// newest RecentWindow events, by DAG and task id.
	Producers []Producer
	// Consumers are the active DAGs scheduled on the dataset, by id.
	Consumers []string
}

// List returns every dataset with an event or an active DAG scheduled on
// it, by URI, filtered to the URIs containing contains when it is not
// empty. Its queries: the event statistics, the newest RecentWindow
// events, the DAG list, and the last event of each dataset whose last
// event is older than that window.
func List(ctx context.Context, st store.Store, contains string) ([]*Dataset, error) {
	byURI := map[string]*Dataset{}
	row := func(uri string) *Dataset {
		d := byURI[uri]
		if d == nil {
			d = &Dataset{URI: uri}
			byURI[uri] = d
		}
		return d
	}
	stats, err := st.DatasetEventStats(ctx, &store.DatasetEventStatsParams{})
	if err != nil {
		return nil, fmt.Errorf("dataset event statistics: %w", err)
	}
	recent, err := st.DatasetEventList(ctx, &store.DatasetEventListParams{NewestFirst: true, Limit: RecentWindow})
	if err != nil {
		return nil, fmt.Errorf("recent dataset events: %w", err)
	}
	byID := make(map[int64]*store.DatasetEvent, len(recent))
	for _, e := range recent {
		byID[e.ID] = e
		if e.SourceDagID != "" && strings.Contains(e.URI, contains) {
			d := row(e.URI)
			d.Producers = addProducer(d.Producers, Producer{DagID: e.SourceDagID, TaskID: e.SourceTaskID})
		}
	}
	for _, s := range stats {
		if !strings.Contains(s.URI, contains) {
			continue
		}
		d := row(s.URI)
		d.Events, d.FirstEventAt, d.LastEventAt = s.Count, s.First, s.Last
		if e, ok := byID[s.LastID]; ok {
			d.LastEvent = e
			continue
		}
		last, err := st.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: []string{s.URI}, NewestFirst: true, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("last event of dataset %s: %w", s.URI, err)
		}
		if len(last) == 1 {
			d.LastEvent = last[0]
			if last[0].SourceDagID != "" {
				d.Producers = addProducer(d.Producers, Producer{DagID: last[0].SourceDagID, TaskID: last[0].SourceTaskID})
			}
		}
	}
	consumers, err := ConsumerDAGs(ctx, st)
	if err != nil {
		return nil, err
	}
	for _, c := range consumers {
		for _, uri := range c.Datasets {
			if strings.Contains(uri, contains) {
				d := row(uri)
				d.Consumers = append(d.Consumers, c.DAG.DagID)
			}
		}
	}
	out := make([]*Dataset, 0, len(byURI))
	for _, d := range byURI {
		sort.Strings(d.Consumers)
		sort.Slice(d.Producers, func(i, j int) bool {
			a, b := d.Producers[i], d.Producers[j]
			return a.DagID < b.DagID || a.DagID == b.DagID && a.TaskID < b.TaskID
		})
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

func addProducer(ps []Producer, p Producer) []Producer {
	for _, q := range ps {
		if q == p {
			return ps
		}
	}
	return append(ps, p)
}

// ConsumerDAG is an active DAG scheduled on datasets.
type ConsumerDAG struct {
	DAG      *store.DAG
	Datasets []string
}

// ConsumerDAGs returns the active DAGs scheduled on datasets, by DAG id.
func ConsumerDAGs(ctx context.Context, st store.Store) ([]ConsumerDAG, error) {
	active := true
	all, err := st.DAGList(ctx, &store.DAGListParams{Active: &active})
	if err != nil {
		return nil, fmt.Errorf("list DAGs: %w", err)
	}
	var out []ConsumerDAG
	for _, d := range all {
		if uris, ok := dags.DatasetsOfSchedule(d.Schedule); ok {
			out = append(out, ConsumerDAG{DAG: d, Datasets: uris})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DAG.DagID < out[j].DAG.DagID })
	return out, nil
}

// Progress is where a DAG scheduled on datasets stands: for each of its
// datasets, how many events it has not consumed yet. Its next
// dataset-triggered run comes once every dataset has at least one.
type Progress struct {
	DagID  string
	Paused bool
	// Datasets are the DAG's datasets in schedule order, Pending their
	// counts of events not consumed yet.
	Datasets []string
	Pending  map[string]int
	// WaitingFor are the datasets without an event not consumed yet: what
	// the DAG's next run waits for (empty when it is due).
	WaitingFor []string
}

// ProgressOf returns the progress of the consumer DAG c, counting the
// events as the scheduler does: those after the last event the DAG
// consumed or, before its first dataset-triggered run, those recorded
// since the DAG first appeared.
func ProgressOf(ctx context.Context, st store.Store, c ConsumerDAG) (*Progress, error) {
	cursor, found, err := st.DatasetConsumerGet(ctx, c.DAG.DagID)
	if err != nil {
		return nil, fmt.Errorf("dataset cursor of DAG %s: %w", c.DAG.DagID, err)
	}
	p := &store.DatasetEventStatsParams{URIs: c.Datasets, AfterID: cursor}
	if !found {
		p.Since = c.DAG.CreatedAt
	}
	stats, err := st.DatasetEventStats(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("events not consumed by DAG %s: %w", c.DAG.DagID, err)
	}
	out := &Progress{DagID: c.DAG.DagID, Paused: c.DAG.IsPaused, Datasets: c.Datasets, Pending: map[string]int{}}
	for _, s := range stats {
		out.Pending[s.URI] = s.Count
	}
	for _, uri := range c.Datasets {
		if out.Pending[uri] == 0 {
			out.WaitingFor = append(out.WaitingFor, uri)
		}
	}
	return out, nil
}

// Consumers returns the progress of every active DAG scheduled on uri, by
// DAG id.
func Consumers(ctx context.Context, st store.Store, uri string) ([]*Progress, error) {
	all, err := ConsumerDAGs(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []*Progress
	for _, c := range all {
		for _, u := range c.Datasets {
			if u == uri {
				p, err := ProgressOf(ctx, st, c)
				if err != nil {
					return nil, err
				}
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// Events returns a page of uri's events (every dataset's when uri is
// empty): offset events skipped, then at most limit, newest first when
// newestFirst, else oldest first.
func Events(ctx context.Context, st store.Store, uri string, newestFirst bool, limit, offset int) ([]*store.DatasetEvent, error) {
	p := &store.DatasetEventListParams{NewestFirst: newestFirst, Limit: limit, Offset: offset}
	if uri != "" {
		p.URIs = []string{uri}
	}
	list, err := st.DatasetEventList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("dataset events: %w", err)
	}
	if list == nil {
		list = []*store.DatasetEvent{}
	}
	return list, nil
}

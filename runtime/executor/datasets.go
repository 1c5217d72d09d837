package executor

import (
	"context"
	"fmt"
	"slices"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// storeDatasets is operators.Datasets for a try the worker runs: events
// come from the store, and the extras task code sets wait in extras for
// the events the try's success records.
type storeDatasets struct {
	st     store.Store
	dag    *dags.DAG
	run    operators.RunInfo
	extras operators.OutletExtras
}

var _ operators.Datasets = (*storeDatasets)(nil)

// Events implements operators.Datasets.
func (d *storeDatasets) Events(ctx context.Context, uri string) ([]operators.DatasetEvent, error) {
	evs, err := d.st.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: []string{uri}, NewestFirst: true, Limit: operators.MaxInletEvents})
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return taskEvents(evs), nil
}

// Triggering implements operators.Datasets: for a dataset-triggered run,
// the events of the DAG's datasets within its data interval, which spans
// from the first to the last event the run consumed.
func (d *storeDatasets) Triggering(ctx context.Context) (map[string][]operators.DatasetEvent, error) {
	out := map[string][]operators.DatasetEvent{}
	if d.run.RunType != dags.RunTypeDatasetTriggered || d.dag == nil || len(d.dag.Schedule.Datasets) == 0 {
		return out, nil
	}
	evs, err := d.st.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: d.dag.Schedule.Datasets,
		Since: d.run.DataIntervalStart, Until: d.run.DataIntervalEnd, Limit: operators.MaxInletEvents})
	if err != nil {
		return nil, err
	}
	for _, e := range taskEvents(evs) {
		out[e.URI] = append(out[e.URI], e)
	}
	return out, nil
}

// SetExtra implements operators.Datasets.
func (d *storeDatasets) SetExtra(_ context.Context, uri string, extra map[string]any) error {
	if _, err := store.EncodeJSON(fmt.Sprintf("extra of dataset event %s", uri), extra, store.MaxDatasetExtraBytes); err != nil {
		return err
	}
	d.extras.Set(uri, extra)
	return nil
}

// taskEvents converts stored events to operators'.
func taskEvents(evs []*store.DatasetEvent) []operators.DatasetEvent {
	out := make([]operators.DatasetEvent, len(evs))
	for i, e := range evs {
		out[i] = operators.DatasetEvent{ID: e.ID, URI: e.URI, Timestamp: e.Timestamp, SourceDagID: e.SourceDagID, SourceRunID: e.SourceRunID,
			SourceTaskID: e.SourceTaskID, SourceMapIndex: e.SourceMapIndex, Extra: e.Extra}
	}
	return out
}

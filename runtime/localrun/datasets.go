package localrun

import (
	"context"
	"fmt"
	"sync"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// runEvents are the dataset events of a local run, which its tasks read
// (inlet_events) while the run loop appends to them.
type runEvents struct {
	mu     sync.Mutex
	dagID  string
	runID  string
	events []DatasetEvent
}

func (e *runEvents) add(ev DatasetEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

func (e *runEvents) all() []DatasetEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]DatasetEvent(nil), e.events...)
}

// localDatasets is operators.Datasets for one try of a local run: a local
// run sees no database, so inlet_events are the events its own tasks
// recorded so far and a manual run has no triggering events.
type localDatasets struct {
	events *runEvents
	extras operators.OutletExtras
}

var _ operators.Datasets = (*localDatasets)(nil)

// Events implements operators.Datasets.
func (d *localDatasets) Events(_ context.Context, uri string) ([]operators.DatasetEvent, error) {
	var out []operators.DatasetEvent
	for i, e := range d.events.all() {
		if e.URI == uri {
			out = append(out, operators.DatasetEvent{ID: int64(i + 1), URI: e.URI, Timestamp: e.Time, SourceDagID: d.events.dagID,
				SourceRunID: d.events.runID, SourceTaskID: e.TaskID, SourceMapIndex: e.MapIndex, Extra: e.Extra})
		}
	}
	if len(out) > operators.MaxInletEvents {
		out = out[len(out)-operators.MaxInletEvents:]
	}
	return out, nil
}

// Triggering implements operators.Datasets: a local run is a manual one.
func (d *localDatasets) Triggering(context.Context) (map[string][]operators.DatasetEvent, error) {
	return map[string][]operators.DatasetEvent{}, nil
}

// SetExtra implements operators.Datasets.
func (d *localDatasets) SetExtra(_ context.Context, uri string, extra map[string]any) error {
	if _, err := store.EncodeJSON(fmt.Sprintf("extra of dataset event %s", uri), extra, store.MaxDatasetExtraBytes); err != nil {
		return err
	}
	d.extras.Set(uri, extra)
	return nil
}

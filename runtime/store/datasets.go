package store

import (
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// MaxDatasetExtraBytes bounds the JSON of one dataset event's extra (64 KiB).
const MaxDatasetExtraBytes = 64 << 10

// DatasetEvent records that a dataset was updated: by a task instance
// that ended in success (Source*), at Timestamp.
type DatasetEvent struct {
	// ID grows with every event recorded; the scheduler keeps, per DAG
	// scheduled on datasets, the id of the last event it consumed.
	ID        int64     `json:"id"`
	URI       string    `json:"uri"`
	Timestamp time.Time `json:"timestamp"`
	// SourceDagID, SourceRunID, SourceTaskID and SourceMapIndex name the
	// task instance that updated the dataset; empty when the event came
	// from elsewhere.
	SourceDagID    string         `json:"source_dag_id"`
	SourceRunID    string         `json:"source_run_id"`
	SourceTaskID   string         `json:"source_task_id"`
	SourceMapIndex int            `json:"source_map_index"`
	Extra          map[string]any `json:"extra"`
}

// DatasetEventCreate is one event of DatasetEventsCreateParams.
type DatasetEventCreate struct {
	URI            string
	SourceDagID    string
	SourceRunID    string
	SourceTaskID   string
	SourceMapIndex int
	Extra          map[string]any
}

// DatasetEventsCreateParams records events, all with the same timestamp
// (now when zero), in one transaction.
type DatasetEventsCreateParams struct {
	Events    []DatasetEventCreate
	Timestamp time.Time
}

// Normalize checks p's URIs (dags.CheckDatasetURI) and fills in the
// timestamp.
func (p *DatasetEventsCreateParams) Normalize() error {
	for _, e := range p.Events {
		if err := dags.CheckDatasetURI(e.URI); err != nil {
			return fmt.Errorf("dataset event: %v: %w", err, ErrInvalid)
		}
	}
	p.Timestamp = TimeOrNow(p.Timestamp)
	return nil
}

// EncodeExtra returns an event's extra as JSON ("{}" when nil), checked
// against MaxDatasetExtraBytes.
func (e *DatasetEventCreate) EncodeExtra() (string, error) {
	if e.Extra == nil {
		return "{}", nil
	}
	return EncodeJSON(fmt.Sprintf("extra of dataset event %s", e.URI), e.Extra, MaxDatasetExtraBytes)
}

// DatasetEventListParams filters DatasetEventList. Events come by id,
// oldest first, or newest first with NewestFirst.
type DatasetEventListParams struct {
	// URIs, when not empty, keeps the events of these datasets.
	URIs []string
	// AfterID keeps the events with a larger id.
	AfterID int64
	// Since and Until, when not zero, keep the events with a timestamp
	// at or after Since and at or before Until (the events that made a
	// dataset-triggered run, whose data interval they span).
	Since       time.Time
	Until       time.Time
	NewestFirst bool
	Limit       int
	// Offset skips that many events of the order (paging).
	Offset int
}

// DatasetEventStatsParams selects the events DatasetEventStats
// summarises: those of URIs (every dataset when empty) with an id in
// (AfterID, UpToID] (no upper bound when UpToID is 0) and a timestamp at or
// after Since (when not zero).
type DatasetEventStatsParams struct {
	URIs    []string
	AfterID int64
	UpToID  int64
	Since   time.Time
}

// DatasetStat summarises the selected events of one dataset.
type DatasetStat struct {
	URI     string    `json:"uri"`
	Count   int       `json:"count"`
	FirstID int64     `json:"first_id"`
	LastID  int64     `json:"last_id"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// DatasetConsumerAdvanceParams moves the cursor of a DAG scheduled on
// datasets from From (0: the DAG has no cursor yet) to To, the id of the
// last event its new run consumes.
type DatasetConsumerAdvanceParams struct {
	DagID string
	From  int64
	To    int64
}

// Normalize checks p.
func (p *DatasetConsumerAdvanceParams) Normalize() error {
	if p.DagID == "" || p.To < p.From || p.From < 0 {
		return fmt.Errorf("dataset consumer %q: cursor from %d to %d: %w", p.DagID, p.From, p.To, ErrInvalid)
	}
	return nil
}

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// datasetRecheck is how often the DAGs scheduled on datasets are checked
// even when no new event was recorded: a consumer unpaused since, or a
// check that failed, gets its run then.
const datasetRecheck = 30 * time.Second

// datasetState is what the scheduler remembers between ticks about
// dataset events: the newest event id it has acted on, and when it last
// checked every consumer.
type datasetState struct {
	mu        sync.Mutex
	lastID    int64
	lastCheck time.Time
}

// createDatasetRuns creates one dataset_triggered run for each unpaused
// DAG scheduled on datasets whose condition holds for the datasets that
// got an event since the events its previous dataset-triggered run
// consumed (or, for a DAG without one, since the DAG was first recorded):
// every dataset of a list, any of a | b, and so on. Any number of events
// between two runs collapse into one run, which consumes every event up to
// then, as in Airflow (whose run deletes all the DAG's queued events).
//
// A tick without new events costs one indexed query (the newest event id).
// Each consumer's cursor moves by compare-and-set, so among schedulers
// sharing the store exactly one creates the run.
func (s *Scheduler) createDatasetRuns(ctx context.Context, now time.Time, st *TickStats) error {
	newest, err := s.Store.DatasetEventList(ctx, &store.DatasetEventListParams{NewestFirst: true, Limit: 1})
	if err != nil || len(newest) == 0 {
		return err
	}
	upTo := newest[0].ID
	s.ds.mu.Lock()
	idle := upTo == s.ds.lastID && now.Sub(s.ds.lastCheck) < datasetRecheck && !s.ds.lastCheck.IsZero()
	s.ds.mu.Unlock()
	if idle {
		return nil
	}
	paused, active := false, true
	all, err := s.Store.DAGList(ctx, &store.DAGListParams{Paused: &paused, Active: &active})
	if err != nil {
		return err
	}
	var errs []error
	for _, dag := range all {
		if !strings.HasPrefix(dag.Schedule, dags.DatasetSchedulePrefix) {
			continue
		}
		created, err := s.triggerOnDatasets(ctx, dag, upTo, now)
		if created {
			st.RunsCreated++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("DAG %s: %w", dag.DagID, err))
		}
	}
	if len(errs) == 0 {
		s.ds.mu.Lock()
		s.ds.lastID, s.ds.lastCheck = upTo, now
		s.ds.mu.Unlock()
	}
	return errors.Join(errs...)
}

// triggerOnDatasets creates the DAG's dataset-triggered run when its
// dataset condition holds for the events up to upTo, and reports whether
// it did.
func (s *Scheduler) triggerOnDatasets(ctx context.Context, dag *store.DAG, upTo int64, now time.Time) (bool, error) {
	d, err := s.DAGs.DAG(ctx, dag.DagID, dag.SourceHash)
	if err != nil {
		return false, err
	}
	cond := d.Schedule.Cond
	if cond == nil || len(d.Schedule.Datasets) == 0 {
		return false, nil
	}
	cursor, found, err := s.Store.DatasetConsumerGet(ctx, dag.DagID)
	if err != nil {
		return false, err
	}
	if cursor >= upTo {
		return false, nil
	}
	p := &store.DatasetEventStatsParams{URIs: d.Schedule.Datasets, AfterID: cursor, UpToID: upTo}
	if !found {
		// Events from before the DAG existed do not count, as in Airflow
		// (whose queue of events per consumer starts with the consumer).
		p.Since = dag.CreatedAt
	}
	stats, err := s.Store.DatasetEventStats(ctx, p)
	if err != nil {
		return false, err
	}
	updated := make(map[string]bool, len(stats))
	for _, x := range stats {
		updated[x.URI] = x.Count > 0
	}
	if len(stats) == 0 || !cond.Eval(func(uri string) bool { return updated[uri] }) {
		return false, nil // the condition does not hold yet
	}
	first, last := stats[0].First, stats[0].Last
	for _, x := range stats[1:] {
		if x.First.Before(first) {
			first = x.First
		}
		if x.Last.After(last) {
			last = x.Last
		}
	}
	err = s.Store.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: dag.DagID, From: cursor, To: upTo})
	if errors.Is(err, store.ErrStale) {
		return false, nil // another scheduler consumed these events
	}
	if err != nil {
		return false, err
	}
	logical := store.Truncate(now)
	run, err := s.CreateRun(ctx, CreateRunParams{
		DAGID:      dag.DagID,
		SourceHash: dag.SourceHash,
		RunType:    dags.RunTypeDatasetTriggered,
		Info:       dags.DagRunInfo{LogicalDate: logical, DataIntervalStart: first, DataIntervalEnd: last, RunAfter: logical},
		QueuedAt:   now,
	})
	if err != nil {
		return false, fmt.Errorf("create the dataset-triggered run: %w", err)
	}
	s.Logger.Info("datasets updated: run created", "dag", dag.DagID, "run", run.RunID, "datasets", len(stats), "events_up_to", upTo)
	return true, nil
}

package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testDatasetEvents(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	created, err := s.DatasetEventsCreate(ctx, &store.DatasetEventsCreateParams{Timestamp: t0, Events: []store.DatasetEventCreate{
		{URI: "s3://b/raw", SourceDagID: "producer", SourceRunID: "r1", SourceTaskID: "extract", SourceMapIndex: -1, Extra: map[string]any{"rows": int64(3)}},
		{URI: "s3://b/clean", SourceDagID: "producer", SourceRunID: "r1", SourceTaskID: "extract", SourceMapIndex: -1},
	}})
	if err != nil || len(created) != 2 {
		t.Fatalf("DatasetEventsCreate = %v, %v", created, err)
	}
	if created[0].ID <= 0 || created[1].ID <= created[0].ID || !created[0].Timestamp.Equal(store.Truncate(t0)) {
		t.Errorf("created events have ids %d, %d and timestamp %s; want growing ids and the truncated timestamp", created[0].ID, created[1].ID, created[0].Timestamp)
	}
	later, err := s.DatasetEventsCreate(ctx, &store.DatasetEventsCreateParams{Timestamp: t0.Add(time.Hour), Events: []store.DatasetEventCreate{{URI: "s3://b/raw"}}})
	if err != nil || len(later) != 1 || later[0].ID <= created[1].ID {
		t.Fatalf("second DatasetEventsCreate = %v, %v", later, err)
	}

	all, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{})
	if err != nil || len(all) != 3 {
		t.Fatalf("DatasetEventList = %d events, %v; want 3", len(all), err)
	}
	first := all[0]
	want := &store.DatasetEvent{ID: created[0].ID, URI: "s3://b/raw", Timestamp: store.Truncate(t0), SourceDagID: "producer", SourceRunID: "r1",
		SourceTaskID: "extract", SourceMapIndex: -1, Extra: map[string]any{"rows": int64(3)}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first event = %+v, want %+v", first, want)
	}
	if len(all[1].Extra) != 0 || all[1].Extra == nil {
		t.Errorf("event without extra has extra %#v, want an empty map", all[1].Extra)
	}
	newest, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: []string{"s3://b/raw"}, NewestFirst: true, Limit: 1})
	if err != nil || len(newest) != 1 || newest[0].ID != later[0].ID {
		t.Errorf("newest raw event = %v, %v; want id %d", newest, err, later[0].ID)
	}
	paged, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{NewestFirst: true, Limit: 1, Offset: 1})
	if err != nil || len(paged) != 1 || paged[0].ID != created[1].ID {
		t.Errorf("second newest event (offset 1) = %v, %v; want id %d", paged, err, created[1].ID)
	}
	if past, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{Offset: 3}); err != nil || len(past) != 0 {
		t.Errorf("offset past the end = %v, %v; want none", past, err)
	}
	after, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{AfterID: created[1].ID})
	if err != nil || len(after) != 1 || after[0].ID != later[0].ID {
		t.Errorf("events after %d = %v, %v; want only %d", created[1].ID, after, err, later[0].ID)
	}
	// The events a dataset-triggered run consumed: those of its data
	// interval, bounds included.
	span, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: []string{"s3://b/raw"}, Since: t0, Until: t0.Add(time.Hour)})
	if err != nil || len(span) != 2 {
		t.Errorf("raw events in [t0, t0+1h] = %v, %v; want both", span, err)
	}
	if early, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{Until: t0.Add(time.Minute)}); err != nil || len(early) != 2 || early[1].ID != created[1].ID {
		t.Errorf("events until t0+1m = %v, %v; want the first two", early, err)
	}
	if late, err := s.DatasetEventList(ctx, &store.DatasetEventListParams{Since: t0.Add(time.Minute)}); err != nil || len(late) != 1 || late[0].ID != later[0].ID {
		t.Errorf("events since t0+1m = %v, %v; want the later one", late, err)
	}

	stats, err := s.DatasetEventStats(ctx, &store.DatasetEventStatsParams{})
	if err != nil || len(stats) != 2 {
		t.Fatalf("DatasetEventStats = %v, %v; want two URIs", stats, err)
	}
	clean, raw := stats[0], stats[1]
	if clean.URI != "s3://b/clean" || clean.Count != 1 || raw.URI != "s3://b/raw" || raw.Count != 2 ||
		raw.FirstID != created[0].ID || raw.LastID != later[0].ID || !raw.First.Equal(store.Truncate(t0)) || !raw.Last.Equal(store.Truncate(t0.Add(time.Hour))) {
		t.Errorf("stats = %+v %+v", clean, raw)
	}
	window, err := s.DatasetEventStats(ctx, &store.DatasetEventStatsParams{URIs: []string{"s3://b/raw", "s3://b/none"}, AfterID: created[0].ID, UpToID: later[0].ID})
	if err != nil || len(window) != 1 || window[0].Count != 1 || window[0].FirstID != later[0].ID {
		t.Errorf("stats in (%d, %d] = %v, %v; want the later raw event only", created[0].ID, later[0].ID, window, err)
	}
	upTo, err := s.DatasetEventStats(ctx, &store.DatasetEventStatsParams{URIs: []string{"s3://b/raw"}, UpToID: created[1].ID})
	if err != nil || len(upTo) != 1 || upTo[0].Count != 1 {
		t.Errorf("stats up to %d = %v, %v; want one raw event", created[1].ID, upTo, err)
	}
	since, err := s.DatasetEventStats(ctx, &store.DatasetEventStatsParams{Since: t0.Add(time.Minute)})
	if err != nil || len(since) != 1 || since[0].URI != "s3://b/raw" || since[0].Count != 1 {
		t.Errorf("stats since %s = %v, %v; want the later raw event", t0.Add(time.Minute), since, err)
	}

	for _, bad := range []store.DatasetEventCreate{{URI: ""}, {URI: "a b"}, {URI: "x", Extra: map[string]any{"f": func() {}}}} {
		if _, err := s.DatasetEventsCreate(ctx, &store.DatasetEventsCreateParams{Events: []store.DatasetEventCreate{{URI: "ok"}, bad}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("DatasetEventsCreate(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
	if n, _ := s.DatasetEventList(ctx, &store.DatasetEventListParams{}); len(n) != 3 {
		t.Errorf("a refused batch left %d events, want the 3 from before", len(n))
	}
}

func testDatasetConsumers(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	if id, ok, err := s.DatasetConsumerGet(ctx, "consumer"); err != nil || ok || id != 0 {
		t.Fatalf("DatasetConsumerGet of a new DAG = %d, %v, %v; want 0, false, nil", id, ok, err)
	}
	if err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "consumer", From: 0, To: 5}); err != nil {
		t.Fatalf("first advance: %v", err)
	}
	if id, ok, err := s.DatasetConsumerGet(ctx, "consumer"); err != nil || !ok || id != 5 {
		t.Errorf("cursor = %d, %v, %v; want 5", id, ok, err)
	}
	if err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "consumer", From: 0, To: 7}); !errors.Is(err, store.ErrStale) {
		t.Errorf("creating an existing cursor: err = %v, want ErrStale", err)
	}
	if err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "consumer", From: 4, To: 7}); !errors.Is(err, store.ErrStale) {
		t.Errorf("advance from a wrong id: err = %v, want ErrStale", err)
	}
	if err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "consumer", From: 5, To: 3}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("advance backwards: err = %v, want ErrInvalid", err)
	}
	// Concurrent schedulers: exactly one moves the cursor from 5.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "consumer", From: 5, To: int64(10 + i)})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrStale) {
				t.Errorf("concurrent advance: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent advances from the same cursor won, want exactly 1", wins)
	}
	// A dataset-triggered run is a run type the store accepts.
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "consumer", RunID: "dataset_triggered__2024-03-01T10:00:00+00:00",
		RunType: dags.RunTypeDatasetTriggered, LogicalDate: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("RunCreate of a dataset_triggered run: %v", err)
	}
}

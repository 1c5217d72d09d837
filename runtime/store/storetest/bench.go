package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Bench runs the store benchmarks against the implementation h opens:
// single and batched task-instance transitions, and claims by eight
// concurrent claimers taking one or sixteen instances at a time. Each reports its rate as a custom metric
// (transitions/s, claims/s).
func Bench(b *testing.B, h Harness) {
	b.Run("TaskInstanceSetState", func(b *testing.B) { benchSetState(b, h) })
	b.Run("TaskInstancesSetStates/batch=100", func(b *testing.B) { benchSetStates(b, h, 100) })
	b.Run("TaskInstanceClaim/claimers=8/limit=1", func(b *testing.B) { benchClaim(b, h, 8, 1) })
	b.Run("TaskInstanceClaim/claimers=8/limit=16", func(b *testing.B) { benchClaim(b, h, 8, 16) })
}

// benchTIs creates n task instances in the given state, spread over runs
// of 1000, and returns their keys.
func benchTIs(b *testing.B, s store.Store, n int, state dags.TaskState) []store.TaskInstanceKey {
	b.Helper()
	ctx := context.Background()
	var keys []store.TaskInstanceKey
	for r := 0; len(keys) < n; r++ {
		runID := fmt.Sprintf("run_%d", r)
		if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "bench", RunID: runID, RunType: dags.RunTypeScheduled,
			LogicalDate: base.Add(time.Duration(r) * time.Hour)}); err != nil {
			b.Fatal(err)
		}
		p := &store.TaskInstancesCreateParams{DagID: "bench", RunID: runID}
		for i := 0; i < 1000 && len(keys) < n; i++ {
			id := fmt.Sprintf("task_%03d", i)
			p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: id, MapIndex: store.NoMapIndex, State: state, PriorityWeight: i % 7})
			keys = append(keys, key("bench", runID, id))
		}
		if _, err := s.TaskInstancesCreate(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

// flip returns the i-th transition over keys: none → scheduled on even
// passes, scheduled → none on odd ones, so every transition applies.
func flip(keys []store.TaskInstanceKey, i int) *store.TaskInstanceSetStateParams {
	from, to := dags.TaskStateNone, dags.TaskStateScheduled
	if (i/len(keys))%2 == 1 {
		from, to = to, from
	}
	return &store.TaskInstanceSetStateParams{Key: keys[i%len(keys)], From: []dags.TaskState{from}, To: to}
}

func benchSetState(b *testing.B, h Harness) {
	s := h.open(b)
	keys := benchTIs(b, s, 1000, dags.TaskStateNone)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := s.TaskInstanceSetState(ctx, flip(keys, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transitions/s")
}

func benchSetStates(b *testing.B, h Harness, batch int) {
	s := h.open(b)
	keys := benchTIs(b, s, 1000, dags.TaskStateNone)
	ctx := context.Background()
	ps := make([]*store.TaskInstanceSetStateParams, batch)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := range ps {
			ps[j] = flip(keys, i*batch+j)
		}
		applied, err := s.TaskInstancesSetStates(ctx, ps)
		if err != nil {
			b.Fatal(err)
		}
		for j, ok := range applied {
			if !ok {
				b.Fatalf("transition %d of batch %d did not apply", j, i)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "transitions/s")
}

// benchClaim claims b.N scheduled instances with concurrent claimers
// taking up to limit each.
func benchClaim(b *testing.B, h Harness, claimers, limit int) {
	s := h.open(b)
	benchTIs(b, s, b.N, dags.TaskStateScheduled)
	ctx := context.Background()
	var claimed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	b.ResetTimer()
	start := time.Now()
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for claimed.Load() < int64(b.N) {
				got, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: limit})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				claimed.Add(int64(len(got)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if claimed.Load() != int64(b.N) {
		b.Fatalf("claimed %d of %d", claimed.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "claims/s")
}

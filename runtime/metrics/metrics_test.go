package metrics_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/metrics"
	"github.com/starflow-dev/starflow/runtime/store"
)

// gather returns every sample of m's starflow_ metrics as "name{labels}"
// → value (a histogram's value is its sample count).
func gather(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), metrics.Namespace+"_") {
			continue
		}
		for _, mm := range mf.GetMetric() {
			var labels []string
			for _, l := range mm.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			k := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case mm.GetHistogram() != nil:
				out[k] = float64(mm.GetHistogram().GetSampleCount())
			case mm.GetGauge() != nil:
				out[k] = mm.GetGauge().GetValue()
			}
		}
	}
	return out
}

func TestObserveTry(t *testing.T) {
	t.Parallel()
	var nilMetrics *metrics.Metrics
	nilMetrics.ObserveTry(&store.TaskInstance{}) // must not panic

	m := metrics.New()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ti := range []*store.TaskInstance{
		{Operator: "bash", State: dags.TaskStateSuccess, QueuedAt: t0, StartDate: t0.Add(time.Second), EndDate: t0.Add(3 * time.Second), Duration: 2 * time.Second},
		{Operator: "bash", State: dags.TaskStateFailed, StartDate: t0, EndDate: t0.Add(time.Second), Duration: time.Second}, // never queued
		{Operator: "task", State: dags.TaskStateRunning, QueuedAt: t0, StartDate: t0.Add(time.Second / 2)},                  // not finished
		{Operator: "task", State: dags.TaskStateRunning, QueuedAt: t0, StartDate: t0.Add(-time.Second)},                     // clock skew
		nil,
	} {
		m.ObserveTry(ti)
	}
	got := gather(t, m)
	want := map[string]float64{
		"starflow_scheduling_latency_seconds{}":                       2,
		"starflow_task_duration_seconds{operator=bash,state=failed}":  1,
		"starflow_task_duration_seconds{operator=bash,state=success}": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("samples %v, want exactly %v", got, want)
	}
}

// countingStore counts reads and can fail.
type countingStore struct {
	reads atomic.Int32
	fail  atomic.Bool
}

func (s *countingStore) RunStateCounts(context.Context) (map[dags.DagRunState]int, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return nil, errors.New("database down")
	}
	return map[dags.DagRunState]int{dags.DagRunStateRunning: 2}, nil
}

func (s *countingStore) TaskInstanceStateCounts(context.Context) (map[dags.TaskState]int, error) {
	return map[dags.TaskState]int{dags.TaskStateQueued: 7}, nil
}

func TestStoreGaugesAreCachedAndReportFailures(t *testing.T) {
	t.Parallel()
	st := &countingStore{}
	m := metrics.New()
	depth := func(context.Context) (int64, int64, error) { return 3, 1, nil }
	if err := m.RegisterStore(st, depth, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got := gather(t, m)
		want := map[string]float64{
			"starflow_dag_runs{state=running}": 2, "starflow_dag_runs{state=queued}": 0, "starflow_dag_runs{state=success}": 0,
			"starflow_task_instances{state=queued}": 7, "starflow_task_instances{state=success}": 0, "starflow_task_instances{state=none}": 0,
			"starflow_metadata_up{}": 1, "starflow_queue_depth{kind=ready}": 3, "starflow_queue_depth{kind=pending}": 1,
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Fatalf("%s = %v (present %v), want %v", k, g, ok, v)
			}
		}
	}
	if n := st.reads.Load(); n != 1 {
		t.Errorf("store read %d times in three scrapes within the cache time, want 1", n)
	}

	down := &countingStore{}
	down.fail.Store(true)
	m2 := metrics.New()
	if err := m2.RegisterStore(down, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	got := gather(t, m2)
	if got["starflow_metadata_up{}"] != 0 {
		t.Errorf("metadata_up with the store down = %v", got["starflow_metadata_up{}"])
	}
	if _, ok := got["starflow_dag_runs{state=running}"]; ok {
		t.Error("run gauges reported although the store failed")
	}
}

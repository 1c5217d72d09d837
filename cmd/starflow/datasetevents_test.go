package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// datasetEventsSource has a producer whose task annotates its asset's
// event (outlet_events) and a consumer scheduled on the asset whose task
// reads the events that triggered its run and the asset's events
// (inlet_events), as Airflow's example_outlet_event_extra and
// example_inlet_event_extra.
const datasetEventsSource = `
orders = Asset(uri = "s3://ev/orders", name = "orders")

def write(*, outlet_events = None, params = None):
    outlet_events[orders].extra = {"rows": params["rows"], "ratio": 0.5}

def producer():
    task(write, task_id = "write", outlets = [orders])

dag(dag_id = "producer", build = producer, params = {"rows": 0})

ready = Asset("s3://ev/ready")

def go():
    empty(task_id = "go", outlets = [ready])

dag(dag_id = "go", build = go)

def read(*, triggering_asset_events = None, inlet_events = None):
    trig = [e.extra["rows"] for e in triggering_asset_events[orders]]
    same = [e.extra["rows"] for e in triggering_asset_events["s3://ev/orders"]]
    return {"triggering": trig, "same": same, "inlet": [e.extra["rows"] for e in inlet_events[orders]],
            "source": inlet_events[orders][-1].source_task_id, "float": inlet_events[orders][-1].extra["ratio"]}

def consumer():
    task(read, task_id = "read", inlets = [orders])

dag(dag_id = "consumer", build = consumer, schedule = [orders, ready])
`

func TestDatasetEventExtrasReachConsumers(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"events.star": datasetEventsSource})
		ctx := context.Background()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := e.store.DAGGet(ctx, "consumer"); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatal("the DAGs were never registered")
			}
		}
		// Two producer runs before the consumer's (it waits for ready
		// too): its run gets both events.
		for i, rows := range []int{3, 7} {
			run, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "producer", RunID: []string{"p1", "p2"}[i], Conf: map[string]any{"rows": rows}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if r := waitRun(t, e, "producer", run.RunID); r.State != dags.DagRunStateSuccess {
				t.Fatalf("producer run %s: %s", r.RunID, r.State)
			}
		}
		evs, err := e.store.DatasetEventList(ctx, &store.DatasetEventListParams{URIs: []string{"s3://ev/orders"}})
		if err != nil || len(evs) != 2 {
			t.Fatalf("events = %v, %v; want 2", evs, err)
		}
		if want := map[string]any{"rows": int64(7), "ratio": 0.5}; !reflect.DeepEqual(evs[1].Extra, want) {
			t.Errorf("the second event's extra = %#v, want %#v (set by outlet_events in the task)", evs[1].Extra, want)
		}
		if _, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "go", RunID: "go"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		var runs []*store.DagRun
		for deadline := time.Now().Add(30 * time.Second); len(runs) == 0; time.Sleep(50 * time.Millisecond) {
			if runs, err = e.store.RunList(ctx, &store.RunListParams{DagID: "consumer"}); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("no consumer run")
			}
		}
		run := waitRun(t, e, "consumer", runs[0].RunID)
		if run.State != dags.DagRunStateSuccess {
			t.Fatalf("consumer run %s: %s", run.RunID, run.State)
		}
		got := xcom(t, e, "consumer", run.RunID, "read", store.ReturnValueKey)
		want := map[string]any{"triggering": []any{int64(3), int64(7)}, "same": []any{int64(3), int64(7)},
			"inlet": []any{int64(3), int64(7)}, "source": "write", "float": 0.5}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("consumer read %#v, want %#v", got, want)
		}
	})
}

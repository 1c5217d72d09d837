package api_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

// datasetEnv is the fixture plus a DAG scheduled on two datasets, with
// events: two of s3://b/orders by pipeline.load, one of s3://b/other
// from elsewhere with an extra.
func datasetEnv(t *testing.T, st store.Store) (*env, []*store.DatasetEvent) {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("testdata", "dags", "*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata DAGs: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	consumer := `dag(dag_id = "report", build = lambda: empty(task_id = "r"), schedule = [dataset("s3://b/orders"), dataset("s3://b/customers")])` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "report.star"), []byte(consumer), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnvDir(t, st, dir)
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	var all []*store.DatasetEvent
	for i, ev := range []store.DatasetEventCreate{
		{URI: "s3://b/orders", SourceDagID: "pipeline", SourceRunID: runID, SourceTaskID: "load", SourceMapIndex: -1},
		{URI: "s3://b/other", SourceMapIndex: -1, Extra: map[string]any{"rows": 7}},
		{URI: "s3://b/orders", SourceDagID: "pipeline", SourceRunID: runID, SourceTaskID: "load", SourceMapIndex: -1},
	} {
		got, err := st.DatasetEventsCreate(context.Background(), &store.DatasetEventsCreateParams{Events: []store.DatasetEventCreate{ev}, Timestamp: at.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	return e, all
}

func TestDatasetsAPI(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) store.Store{
		"sqlite":   func(t testing.TB) store.Store { return testdb.SQLite(t) },
		"postgres": func(t testing.TB) store.Store { return testdb.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, ev := datasetEnv(t, open(t))
			ts := func(i int) string { return ev[i].Timestamp.UTC().Format(time.RFC3339Nano) }
			event := func(i int) map[string]any {
				m := map[string]any{"id": float64(ev[i].ID), "dataset_uri": ev[i].URI, "source_map_index": -1.0, "timestamp": ts(i),
					"source_dag_id": "pipeline", "source_run_id": runID, "source_task_id": "load", "extra": map[string]any{}}
				if i == 1 {
					m["source_dag_id"], m["source_run_id"], m["source_task_id"], m["extra"] = nil, nil, nil, map[string]any{"rows": 7.0}
				}
				return m
			}

			r := e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets", nil)
			if r.code != 200 {
				t.Fatalf("list: %d %s", r.code, r.body)
			}
			want := map[string]any{"total_entries": 3.0, "datasets": []any{
				map[string]any{"uri": "s3://b/customers", "consumer_dags": []any{map[string]any{"dag_id": "report"}}, "producing_tasks": []any{},
					"event_count": 0.0, "first_event_time": nil, "last_event_time": nil, "last_event": nil},
				map[string]any{"uri": "s3://b/orders", "consumer_dags": []any{map[string]any{"dag_id": "report"}},
					"producing_tasks": []any{map[string]any{"dag_id": "pipeline", "task_id": "load"}},
					"event_count":     2.0, "first_event_time": ts(0), "last_event_time": ts(2), "last_event": event(2)},
				map[string]any{"uri": "s3://b/other", "consumer_dags": []any{}, "producing_tasks": []any{},
					"event_count": 1.0, "first_event_time": ts(1), "last_event_time": ts(1), "last_event": event(1)},
			}}
			if got := r.json(t); !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				t.Fatalf("list:\n%s", g)
			}
			r = e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets?uri_pattern=other&limit=1", nil)
			if got := r.json(t); got["total_entries"] != 1.0 || len(got["datasets"].([]any)) != 1 {
				t.Errorf("uri_pattern: %s", r.body)
			}
			r = e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets?limit=1&offset=1", nil)
			if got := r.json(t); got["total_entries"] != 3.0 || !reflect.DeepEqual(got["datasets"], want["datasets"].([]any)[1:2]) {
				t.Errorf("page 2 of 1: %s", r.body)
			}

			for _, c := range []struct {
				query string
				want  []any
				total float64
			}{
				{"", []any{event(0), event(1), event(2)}, 3},
				{"?order_by=-timestamp", []any{event(2), event(1), event(0)}, 3},
				{"?uri=s3://b/orders", []any{event(0), event(2)}, 2},
				{"?uri=s3://b/orders&order_by=-timestamp&limit=1", []any{event(2)}, 2},
				{"?uri=s3://b/orders&limit=1&offset=1", []any{event(2)}, 2},
				{"?offset=5", []any{}, 3},
				{"?uri=s3://b/customers", []any{}, 0},
			} {
				r := e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets/events"+c.query, nil)
				if r.code != 200 {
					t.Fatalf("%s: %d %s", c.query, r.code, r.body)
				}
				got := r.json(t)
				if !reflect.DeepEqual(got["dataset_events"], c.want) || got["total_entries"] != c.total {
					t.Errorf("events%s: %s", c.query, r.body)
				}
			}
			expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets/events?order_by=uri", nil), 400, `order_by "uri"`)
			expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets/events?uri=a%20b", nil), 400, "white space")
			expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/datasets?limit=0", nil), 400, "limit")
			expectError(t, e.do(t, "", "GET", "/api/v1/datasets/events", nil), 401, "authentication required")
		})
	}
}

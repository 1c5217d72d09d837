package api_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/web/auth"
)

func TestDAGs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("list shows paused flag, schedule, next run and tags", func(t *testing.T) {
		body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags", nil).json(t)
		if body["total_entries"] != 2.0 {
			t.Fatalf("total_entries = %v, want 2 (the broken file defines none)", body["total_entries"])
		}
		list := body["dags"].([]any)
		other, pipeline := list[0].(map[string]any), list[1].(map[string]any)
		if other["dag_id"] != "other" || other["is_paused"] != true || other["next_dagrun"] != nil || other["schedule_interval"] != "None" || other["dag_display_name"] != "other" {
			t.Errorf("other = %v", other)
		}
		want := map[string]any{"dag_id": "pipeline", "dag_display_name": "Nightly pipeline", "description": "Extract, transform, load", "is_paused": false, "is_active": true,
			"schedule_interval": "@daily", "tags": []any{"team-a", "etl"}, "max_active_runs": 16.0, "max_active_tasks": 16.0}
		for k, v := range want {
			if !reflect.DeepEqual(pipeline[k], v) {
				t.Errorf("pipeline[%s] = %#v, want %#v", k, pipeline[k], v)
			}
		}
		next, _ := pipeline["next_dagrun"].(map[string]any)
		if next == nil || next["logical_date"] == nil || next["data_interval_end"] == nil {
			t.Errorf("pipeline next_dagrun = %v, want a planned run", pipeline["next_dagrun"])
		}
		if !strings.HasSuffix(pipeline["fileloc"].(string), "pipeline.star") || len(pipeline["source_hash"].(string)) == 0 {
			t.Errorf("pipeline fileloc/source_hash = %v / %v", pipeline["fileloc"], pipeline["source_hash"])
		}
	})

	t.Run("filters and pages", func(t *testing.T) {
		cases := []struct {
			query string
			ids   []string
			total float64
		}{
			{"?tags=team-b", []string{"other"}, 1},
			{"?tags=etl&tags=nothing", []string{"pipeline"}, 1},
			{"?dag_id_pattern=pipe", []string{"pipeline"}, 1},
			{"?dag_id_pattern=PiPe", []string{"pipeline"}, 1}, // Airflow's ilike
			{"?tags=etl&limit=1&offset=1", []string{}, 1},     // tags in the store's query: paged and counted there
			{"?paused=true", []string{"other"}, 1},
			{"?paused=false", []string{"pipeline"}, 1},
			{"?limit=1", []string{"other"}, 2},
			{"?limit=1&offset=1", []string{"pipeline"}, 2},
			{"?offset=5", []string{}, 2},
		}
		for _, c := range cases {
			body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags"+c.query, nil).json(t)
			var ids []string
			for _, d := range body["dags"].([]any) {
				ids = append(ids, d.(map[string]any)["dag_id"].(string))
			}
			if strings.Join(ids, ",") != strings.Join(c.ids, ",") || body["total_entries"] != c.total {
				t.Errorf("%s: dags %v total %v, want %v total %v", c.query, ids, body["total_entries"], c.ids, c.total)
			}
		}
	})

	t.Run("bad list parameters are 400 with a message", func(t *testing.T) {
		for q, msg := range map[string]string{"?limit=0": "limit", "?limit=5000": "limit", "?offset=-1": "offset", "?paused=maybe": "paused", "?limit=x": "limit"} {
			expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/dags"+q, nil), http.StatusBadRequest, msg)
		}
	})

	t.Run("get includes its file's import errors", func(t *testing.T) {
		body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline", nil).json(t)
		if body["dag_id"] != "pipeline" || body["dag_display_name"] != "Nightly pipeline" || len(body["import_errors"].([]any)) != 0 ||
			body["start_date"] != "2024-01-01T00:00:00Z" || body["end_date"] != nil || body["timezone"] != "UTC" || body["catchup"] != false {
			t.Errorf("GET pipeline = %v", body)
		}
		// Airflow's DAG details dump every param as Param.dump() does: a
		// plain value has an empty schema, a Param its keywords but
		// default and description, and no default is null.
		const class = "airflow.sdk.definitions.param.Param"
		wantParams := map[string]any{
			"n": map[string]any{"__class": class, "value": 1.0, "description": nil, "schema": map[string]any{}},
			"who": map[string]any{"__class": class, "value": "Ada", "description": "Who to greet",
				"schema": map[string]any{"type": "string", "minLength": 2.0, "title": "Name"}},
			"day": map[string]any{"__class": class, "value": nil, "description": nil,
				"schema": map[string]any{"type": []any{"null", "string"}, "format": "date"}},
		}
		if !reflect.DeepEqual(body["params"], wantParams) {
			t.Errorf("params =\n%v\nwant\n%v", body["params"], wantParams)
		}
		if details := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline/details", nil).json(t); !reflect.DeepEqual(details, body) {
			t.Errorf("GET pipeline/details =\n%v\nwant GET pipeline's\n%v", details, body)
		}
	})

	t.Run("pause and unpause", func(t *testing.T) {
		r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/dags/other", map[string]any{"is_paused": false})
		if r.code != http.StatusOK || r.json(t)["is_paused"] != false {
			t.Fatalf("unpause: %d %s", r.code, r.body)
		}
		if got := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/other", nil).json(t)["is_paused"]; got != false {
			t.Errorf("after unpausing, is_paused = %v", got)
		}
		if r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/dags/other", map[string]any{"is_paused": true}); r.json(t)["is_paused"] != true {
			t.Errorf("pause: %s", r.body)
		}
	})

	t.Run("bad pause bodies are 400 with a message", func(t *testing.T) {
		cases := map[string]string{
			`{}`:                    "nothing to change",
			`{"is_paused": "yes"}`:  `field "is_paused" must be bool`,
			`{"paused": true}`:      `unknown field "paused"`,
			``:                      "empty request body",
			`{"is_paused": true}{}`: "more than one JSON value",
			`[true]`:                "invalid request body",
		}
		for body, msg := range cases {
			expectError(t, e.do(t, auth.RoleOp, "PATCH", "/api/v1/dags/other", body), http.StatusBadRequest, msg)
		}
	})

	t.Run("tasks and source of the current version", func(t *testing.T) {
		body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline/tasks", nil).json(t)
		tasks := body["tasks"].([]any)
		if len(tasks) != 3 || body["total_entries"] != 3.0 {
			t.Fatalf("tasks = %v", body)
		}
		first := tasks[0].(map[string]any)
		want := map[string]any{"task_id": "extract", "task_display_name": "Extract rows", "operator": "bash", "trigger_rule": "all_success", "retries": 0.0, "pool": "default_pool",
			"queue": "default", "task_group": "", "upstream_task_ids": []any{}, "downstream_task_ids": []any{"transform"}, "params": map[string]any{}, "doc_md": ""}
		if !reflect.DeepEqual(first, want) {
			t.Errorf("first task =\n%v\nwant\n%v", first, want)
		}
		second := tasks[1].(map[string]any)
		if second["task_display_name"] != "transform" {
			t.Errorf("task without a display name: task_display_name = %v, want its id", second["task_display_name"])
		}
		wantParams := map[string]any{"batch": map[string]any{"__class": "airflow.sdk.definitions.param.Param", "value": 500.0, "description": nil,
			"schema": map[string]any{"type": "integer", "minimum": 1.0}}}
		if !reflect.DeepEqual(second["params"], wantParams) {
			t.Errorf("transform's params = %v, want %v", second["params"], wantParams)
		}
		src := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline/source", nil).json(t)
		files, _ := src["files"].(map[string]any)
		if len(files) != 1 || !strings.Contains(files[src["entry_file"].(string)].(string), `dag_id = "pipeline"`) {
			t.Errorf("source = %v", src)
		}
	})

	t.Run("import errors name the file and position", func(t *testing.T) {
		body := e.do(t, auth.RoleViewer, "GET", "/api/v1/importErrors", nil).json(t)
		errs := body["import_errors"].([]any)
		if body["total_entries"] != 1.0 || len(errs) != 1 {
			t.Fatalf("import errors = %v", body)
		}
		ie := errs[0].(map[string]any)
		if !strings.HasSuffix(ie["filename"].(string), "broken.star") || ie["line"] != 4.0 || ie["col"] != 9.0 ||
			!strings.Contains(ie["stack_trace"].(string), "did you mean bash_command") || ie["timestamp"] == nil {
			t.Errorf("import error = %v", ie)
		}
	})
}

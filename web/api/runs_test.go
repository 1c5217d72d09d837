package api_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestRunGetIsExact(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := newEnvOn(t, s)
		got := e.do(t, auth.RoleViewer, "GET", runPath, nil).json(t)
		hash := got["source_hash"]
		want := map[string]any{
			"dag_id": "pipeline", "dag_run_id": runID, "run_type": "manual", "state": "queued",
			"logical_date": "2024-01-02T00:00:00Z", "data_interval_start": "2024-01-01T00:00:00Z", "data_interval_end": "2024-01-02T00:00:00Z",
			"conf": map[string]any{"n": 2.0}, "source_hash": hash, "queued_at": "2024-01-02T00:00:00Z", "start_date": nil, "end_date": nil,
		}
		if !reflect.DeepEqual(got, want) || hash == "" {
			t.Errorf("GET run =\n%v\nwant\n%v", got, want)
		}
	})
}

func TestRunList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// Four more runs: scheduled ones on 2024-01-03..05, one failed.
	for i, day := range []int{3, 4, 5} {
		ld := time.Date(2024, 1, day, 0, 0, 0, 0, time.UTC)
		run, err := e.sched.CreateRun(ctx, scheduler.CreateRunParams{DAGID: "pipeline", SourceHash: mustDAG(t, e).SourceHash, RunType: dags.RunTypeScheduled,
			Info: dags.DagRunInfo{LogicalDate: ld, DataIntervalStart: ld, DataIntervalEnd: ld.AddDate(0, 0, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := e.store.RunSetState(ctx, &store.RunSetStateParams{DagID: run.DagID, RunID: run.RunID, To: dags.DagRunStateFailed}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		query string
		ids   []string
		total float64
	}{
		{"", []string{"scheduled__2024-01-05T00:00:00+00:00", "scheduled__2024-01-04T00:00:00+00:00", "scheduled__2024-01-03T00:00:00+00:00", runID}, 4},
		{"?state=failed", []string{"scheduled__2024-01-04T00:00:00+00:00"}, 1},
		{"?state=queued&limit=1", []string{"scheduled__2024-01-05T00:00:00+00:00"}, 3},
		{"?state=queued&state=failed&limit=1", []string{"scheduled__2024-01-05T00:00:00+00:00"}, 4},
		{"?run_type=manual", []string{runID}, 1},
		{"?run_type=scheduled&limit=2", []string{"scheduled__2024-01-05T00:00:00+00:00", "scheduled__2024-01-04T00:00:00+00:00"}, 3},
		{"?logical_date_gte=2024-01-03&logical_date_lt=2024-01-05T00:00:00Z", []string{"scheduled__2024-01-04T00:00:00+00:00", "scheduled__2024-01-03T00:00:00+00:00"}, 2},
		{"?limit=2&offset=2", []string{"scheduled__2024-01-03T00:00:00+00:00", runID}, 4},
		{"?limit=2&offset=10", nil, 4},
	}
	for _, c := range cases {
		body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline/dagRuns"+c.query, nil).json(t)
		var ids []string
		for _, r := range body["dag_runs"].([]any) {
			ids = append(ids, r.(map[string]any)["dag_run_id"].(string))
		}
		if strings.Join(ids, " ") != strings.Join(c.ids, " ") || body["total_entries"] != c.total {
			t.Errorf("%q: runs %v total %v, want %v total %v", c.query, ids, body["total_entries"], c.ids, c.total)
		}
	}
	if body := e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/~/dagRuns?limit=1", nil).json(t); body["total_entries"] != 4.0 {
		t.Errorf("runs of every DAG: total %v, want 4", body["total_entries"])
	}
	for q, msg := range map[string]string{"?state=bogus": `state "bogus"`, "?run_type=cron": `run_type "cron"`,
		"?logical_date_gte=yesterday": "logical_date_gte", "?logical_date_lt=2024-13-01": "logical_date_lt", "?limit=-3": "limit"} {
		expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/dags/pipeline/dagRuns"+q, nil), http.StatusBadRequest, msg)
	}
}

func mustDAG(t testing.TB, e *env) *store.DAG {
	t.Helper()
	d, err := e.store.DAGGet(context.Background(), "pipeline")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/dagRuns", map[string]any{
		"dag_run_id": "from-api", "logical_date": "2024-02-01T06:00:00Z", "conf": map[string]any{"n": 5, "ratio": 0.5, "tags": []any{"a"}}})
	if r.code != http.StatusOK {
		t.Fatalf("trigger: %d %s", r.code, r.body)
	}
	run := r.json(t)
	if run["dag_run_id"] != "from-api" || run["run_type"] != "manual" || run["state"] != "queued" || run["logical_date"] != "2024-02-01T06:00:00Z" ||
		!reflect.DeepEqual(run["conf"], map[string]any{"n": 5.0, "ratio": 0.5, "tags": []any{"a"}}) {
		t.Errorf("triggered run = %v", run)
	}
	stored, err := e.store.RunGet(context.Background(), "pipeline", "from-api")
	if err != nil || stored.Conf["n"] != int64(5) || stored.Conf["ratio"] != 0.5 {
		t.Errorf("stored run = %+v, %v; want conf n=int64(5), ratio=0.5", stored, err)
	}
	tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "pipeline", RunID: "from-api"})
	if err != nil || len(tis) != 3 {
		t.Errorf("task instances of the new run = %d, %v; want 3", len(tis), err)
	}
	// Without a body field at all: logical date now, generated run id.
	if r := e.do(t, auth.RoleAdmin, "POST", "/api/v1/dags/pipeline/dagRuns", map[string]any{}); r.code != http.StatusOK ||
		!strings.HasPrefix(r.json(t)["dag_run_id"].(string), "manual__2024-03-01T12:00:00") {
		t.Errorf("trigger with an empty body: %d %s", r.code, r.body)
	}
	expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/dagRuns", map[string]any{"dag_run_id": "from-api"}), http.StatusConflict, "from-api")

	bad := map[string]string{
		`{"conf": [1, 2]}`:                "conf must be a JSON object",
		`{"conf": "x"}`:                   "conf must be a JSON object",
		`{"conf": 3}`:                     "conf must be a JSON object",
		`{"conf": {"a": }}`:               "invalid request body",
		`{"logical_date": "tomorrow"}`:    `logical_date "tomorrow"`,
		`{"logical_date": 5}`:             `field "logical_date" must be string`,
		`{"dag_run_id": "x", "extra": 1}`: `unknown field "extra"`,
		`{"conf": {"big": "` + strings.Repeat("x", store.MaxConfBytes) + `"}}`: "too large",
		`{"dag_run_id": "."}`:        `run_id "." must be 1-250`,
		`{"dag_run_id": ".."}`:       `run_id ".." must be 1-250`,
		`{"dag_run_id": "<script>"}`: `must be 1-250 letters`,
		`{"dag_run_id": "a/b"}`:      `must be 1-250 letters`,
	}
	for body, msg := range bad {
		expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/dagRuns", body), http.StatusBadRequest, msg)
	}
}

package sensors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/templates"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

type conns map[string]*operators.Connection

func (c conns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if conn, ok := c[id]; ok {
		cp := *conn
		return &cp, nil
	}
	return nil, fmt.Errorf("connection %q not found", id)
}

// httpDAG defines the http_sensor tasks; the check is real Starlark.
const httpDAG = `
def ready(resp):
    return resp["json"]["status"] == "ready"

def build():
    http_sensor(task_id = "plain", endpoint = "{{ params.base }}/appears", poke_interval = "1s")
    http_sensor(task_id = "checked", endpoint = "status", http_conn_id = "api", response_check = ready,
                request_params = {"day": "{{ ds }}"}, headers = {"X-Run": "{{ run_id }}"}, poke_interval = "1s")
    http_sensor(task_id = "broken", endpoint = "{{ params.base }}/broken", poke_interval = "1s", retries = 2)

dag(dag_id = "web", build = build)
`

func TestHTTPSensor(t *testing.T) {
	t.Parallel()
	var appears, status, broken atomic.Int32
	var mu sync.Mutex
	var queries []string
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/appears", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if appears.Add(1) <= 2 {
			nethttp.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "here")
	})
	mux.HandleFunc("/status", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery+" "+r.Header.Get("X-Run"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if status.Add(1) <= 1 {
			fmt.Fprint(w, `{"status": "starting"}`)
			return
		}
		fmt.Fprint(w, `{"status": "ready"}`)
	})
	mux.HandleFunc("/broken", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		broken.Add(1)
		nethttp.Error(w, "on fire", nethttp.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	l := loader.New(loader.Options{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators:      []operators.Spec{(&sensors.HTTPSensor{}).Spec()},
		RuntimeModules: call.Modules(),
	})
	f := l.Load(context.Background(), loader.BundleSource("", map[string]string{"web.star": httpDAG}), "web.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	d := f.DAG("web")
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	var portN int
	fmt.Sscan(port, &portN)
	run := func(taskID string) (*operators.Result, error, *clock, string) {
		log := &syncBuffer{}
		c := &operators.Call{DAG: d, Task: d.Task(taskID), MapIndex: -1, TryNumber: 1, Log: log,
			Run:         operators.RunInfo{DAGID: "web", RunID: "manual__2024-03-01", LogicalDate: t0},
			Params:      map[string]any{"base": srv.URL},
			Connections: conns{"api": {ID: "api", Type: "http", Host: host, Port: portN}},
			Functions:   call.New(f),
		}
		c.Renderer = templates.NewRenderer(c)
		clk := newClock(t0)
		s := &sensors.HTTPSensor{Base: clk.base(), Client: srv.Client()}
		res, err := s.Execute(context.Background(), c)
		return res, err, clk, log.String()
	}

	res, err, clk, log := run("plain")
	if err != nil || res.State != dags.TaskStateSuccess || len(clk.Sleeps()) != 2 || appears.Load() != 3 {
		t.Errorf("plain: %+v, %v after %d sleeps and %d requests; want success after 404, 404, 200\n%s", res, err, len(clk.Sleeps()), appears.Load(), log)
	}
	if count(log, "404 Not Found: not yet") != 2 {
		t.Errorf("plain: log:\n%s", log)
	}

	res, err, clk, log = run("checked")
	if err != nil || res.State != dags.TaskStateSuccess || len(clk.Sleeps()) != 1 {
		t.Errorf("checked: %+v, %v after %d sleeps; want success on the second poke\n%s", res, err, len(clk.Sleeps()), log)
	}
	if !strings.Contains(log, "response_check returned False: not yet") {
		t.Errorf("checked: log:\n%s", log)
	}
	mu.Lock()
	if len(queries) != 2 || queries[0] != "day=2024-03-01 manual__2024-03-01" {
		t.Errorf("checked: requests %q, want the query and header rendered", queries)
	}
	mu.Unlock()

	_, err, clk, log = run("broken")
	if err == nil || operators.IsFinal(err) || !strings.Contains(err.Error(), "status 500 Internal Server Error") {
		t.Errorf("broken: %v; want a retryable status error", err)
	}
	if len(clk.Sleeps()) != 0 || broken.Load() != 1 || !strings.Contains(log, "Response body: on fire") {
		t.Errorf("broken: %d sleeps, %d requests; want the first poke to fail the try\n%s", len(clk.Sleeps()), broken.Load(), log)
	}
}

func TestSQLSensorWaitsForARow(t *testing.T) {
	t.Parallel()
	conn, err := store.ParseConnectionURI("pg", testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if conn.Login == "" {
		conn.Login = "postgres"
	}
	cs := conns{"pg": conn}
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		c := &operators.Call{Connections: cs}
		if _, err := sqlop.Exec(ctx, c, "pg", q, nil); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE loads (day date PRIMARY KEY, done boolean NOT NULL)")

	clk := newClock(t0)
	clk.hook = func(n int) {
		switch n {
		case 1:
			exec("INSERT INTO loads VALUES ('2024-03-01', false)") // a row, but a falsy cell
		case 2:
			exec("UPDATE loads SET done = true")
		}
	}
	s := &sensors.SQLSensor{Base: clk.base()}
	c, log := newCall(sensors.SQLKind, map[string]any{"conn_id": "pg", "sql": "SELECT done FROM loads WHERE day = $1",
		"parameters": []any{"{{ ds }}"}, "poke_interval": "1m"})
	c.Connections = cs
	res, err := s.Execute(ctx, c)
	if err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("Execute = %+v, %v\n%s", res, err, log)
	}
	out := log.String()
	if len(clk.Sleeps()) != 2 || !strings.Contains(out, "no row: not yet") || !strings.Contains(out, "first cell is False: not yet") ||
		!strings.Contains(out, "first cell is True: done") {
		t.Errorf("%d sleeps; log:\n%s", len(clk.Sleeps()), out)
	}

	// fail_on_empty fails for good; a bad query fails the try (retries apply).
	c, _ = newCall(sensors.SQLKind, map[string]any{"conn_id": "pg", "sql": "SELECT 1 FROM loads WHERE false", "fail_on_empty": true})
	c.Connections = cs
	if _, err := s.Execute(ctx, c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "no row") {
		t.Errorf("fail_on_empty: %v", err)
	}
	c, _ = newCall(sensors.SQLKind, map[string]any{"conn_id": "pg", "sql": "SELECT nope FROM loads"})
	c.Connections = cs
	if _, err := s.Execute(ctx, c); err == nil || operators.IsFinal(err) || !strings.Contains(err.Error(), "42703") {
		t.Errorf("bad column: %v; want a retryable error with SQLSTATE 42703", err)
	}
}

// fakeRuns answers TaskState from a script of states, one per poke, and
// records what it was asked.
type fakeRuns struct {
	operators.DagRuns // Trigger and RunState are not used by the sensor
	mu                sync.Mutex
	states            []string // "" means not found
	asked             []string
}

func (f *fakeRuns) TaskState(_ context.Context, dagID, taskID string, ld time.Time) (dags.TaskState, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf("%s/%s/%s", dagID, taskID, ld.Format(time.RFC3339)))
	st := f.states[0]
	if len(f.states) > 1 {
		f.states = f.states[1:]
	}
	return dags.TaskState(st), st != "", nil
}

// groupRuns answers GroupStates from a script of state lists, one per
// poke.
type groupRuns struct {
	operators.DagRuns
	pokes  [][]dags.TaskState
	asked  int
	groups []string
}

func (g *groupRuns) GroupStates(_ context.Context, dagID, groupID string, _ time.Time) ([]dags.TaskState, error) {
	g.groups = append(g.groups, dagID+"/"+groupID)
	st := g.pokes[min(g.asked, len(g.pokes)-1)]
	g.asked++
	return st, nil
}

// TestExternalTaskSensorGroup: with external_task_group_id the sensor waits
// until every task of the group is in allowed_states, fails when one is in
// failed_states, and keeps waiting while the group has no task instances.
func TestExternalTaskSensorGroup(t *testing.T) {
	t.Parallel()
	s, f, n := dags.TaskStateSuccess, dags.TaskStateFailed, dags.TaskStateNone
	for name, tt := range map[string]struct {
		pokes [][]dags.TaskState
		want  dags.TaskState // "" for a final error
		asked int
	}{
		"waits for every task":          {[][]dags.TaskState{nil, {s, n}, {s, s}}, dags.TaskStateSuccess, 3},
		"fails when one fails":          {[][]dags.TaskState{{n, n}, {s, f}}, "", 2},
		"a missing group is waited for": {[][]dags.TaskState{nil}, "", 5},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			runs := &groupRuns{pokes: tt.pokes}
			c, log := newCall(sensors.ExternalTaskKind, map[string]any{"external_dag_id": "up", "external_task_group_id": "grp",
				"poke_interval": "1m", "timeout": "3m", "failed_states": []any{"failed", "skipped"}})
			c.DagRuns = runs
			res, err := (&sensors.ExternalTaskSensor{Base: clk.base()}).Execute(context.Background(), c)
			switch {
			case tt.want == "" && (err == nil || !operators.IsFinal(err)):
				t.Errorf("Execute = %+v, %v; want a final error", res, err)
			case tt.want != "" && (err != nil || res.State != tt.want):
				t.Errorf("Execute = %+v, %v; want %s", res, err, tt.want)
			}
			if runs.asked != tt.asked || runs.groups[0] != "up/grp" {
				t.Errorf("asked %d times for %v, want %d for up/grp\n%s", runs.asked, runs.groups, tt.asked, log)
			}
		})
	}
	c, _ := newCall(sensors.ExternalTaskKind, map[string]any{"external_dag_id": "up", "external_task_id": "a", "external_task_group_id": "grp"})
	c.DagRuns = &groupRuns{pokes: [][]dags.TaskState{nil}}
	if _, err := (&sensors.ExternalTaskSensor{}).Execute(context.Background(), c); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("task and group: %v; want an error", err)
	}
}

func TestExternalTaskSensor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		states []string
		want   dags.TaskState // "" for a final error
		pokes  int
	}{
		{"waits until the task succeeds", map[string]any{"external_dag_id": "up", "external_task_id": "load"},
			[]string{"", "running", "success"}, dags.TaskStateSuccess, 3},
		{"fails at once in a failed state", map[string]any{"external_dag_id": "up", "external_task_id": "load"},
			[]string{"running", "failed"}, "", 2},
		{"skips in a skipped state", map[string]any{"external_dag_id": "up", "external_task_id": "load", "skipped_states": []any{"skipped"}},
			[]string{"skipped"}, dags.TaskStateSkipped, 1},
		{"soft_fail skips instead of failing", map[string]any{"external_dag_id": "up", "external_task_id": "load", "soft_fail": true},
			[]string{"upstream_failed", "failed"}, dags.TaskStateSkipped, 2},
		{"custom allowed states", map[string]any{"external_dag_id": "up", "external_task_id": "load", "allowed_states": []any{"success", "skipped"}},
			[]string{"queued", "skipped"}, dags.TaskStateSuccess, 2},
		{"whole run with a delta", map[string]any{"external_dag_id": "{{ params.other }}", "execution_delta": "1h"},
			[]string{"running", "success"}, dags.TaskStateSuccess, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			runs := &fakeRuns{states: tt.states}
			c, log := newCall(sensors.ExternalTaskKind, tt.config)
			c.Params = map[string]any{"other": "upstream_dag"}
			c.DagRuns = runs
			res, err := (&sensors.ExternalTaskSensor{Base: clk.base()}).Execute(context.Background(), c)
			switch {
			case tt.want == "" && (err == nil || !operators.IsFinal(err)):
				t.Errorf("Execute = %+v, %v; want a final error", res, err)
			case tt.want != "" && (err != nil || res.State != tt.want):
				t.Errorf("Execute = %+v, %v; want %s", res, err, tt.want)
			}
			if len(runs.asked) != tt.pokes {
				t.Errorf("%d pokes, want %d\n%s", len(runs.asked), tt.pokes, log)
			}
		})
	}
	runs := &fakeRuns{states: []string{"success"}}
	c, _ := newCall(sensors.ExternalTaskKind, map[string]any{"external_dag_id": "{{ params.other }}", "execution_delta": "1h"})
	c.Params = map[string]any{"other": "upstream_dag"}
	c.DagRuns = runs
	if _, err := (&sensors.ExternalTaskSensor{}).Execute(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if want := "upstream_dag//2024-02-29T23:00:00Z"; runs.asked[0] != want {
		t.Errorf("asked for %s, want %s", runs.asked[0], want)
	}

	for cfg, want := range map[string]map[string]any{
		`unknown state "sucess"`:             {"external_dag_id": "up", "allowed_states": []any{"sucess"}},
		"in allowed_states and in":           {"external_dag_id": "up", "failed_states": []any{"success"}},
		"no access to other DAGs' runs here": {"external_dag_id": "up"},
	} {
		c, _ := newCall(sensors.ExternalTaskKind, want)
		if !strings.Contains(cfg, "no access") {
			c.DagRuns = &fakeRuns{states: []string{"success"}}
		}
		if _, err := (&sensors.ExternalTaskSensor{}).Execute(context.Background(), c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), cfg) {
			t.Errorf("%v: %v; want a final error with %q", want, err, cfg)
		}
	}
}

package call_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
	httpop "github.com/starflow-dev/starflow/operators/http"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// moduleSource uses the http and sql modules inside task functions.
const moduleSource = `
def fetch(ctx, base):
    r = http.get(base + "/json", params = {"day": ctx.ds, "n": 2}, headers = {"X-Team": "data"})
    return {"status": r.status_code, "ok": r.ok, "count": r.json()["count"], "type": r.headers["Content-Type"],
            "reason": r.reason, "url": r.url}

def send(base):
    a = http.post(base + "/echo", json = {"k": [1, None]})
    b = http.put(base + "/echo", data = "raw")
    c = http.request("delete", base + "/echo")
    return [a.json(), b.json(), c.json()]

def with_conn():
    return http.get("echo", conn_id = "api").json()

def failing(base):
    r = http.get(base + "/fail")
    return [r.status_code, r.ok, r.text]

def slow(base):
    return http.get(base + "/slow", timeout = "100ms")

def not_json(base):
    return http.get(base + "/fail").json()

def database():
    sql.execute("pg", "CREATE TABLE items (id int, name text)")
    n = sql.execute("pg", "INSERT INTO items VALUES ($1, $2), ($3, $4)", parameters = [1, "a", 2, "b"])
    m = sql.execute("pg", "UPDATE items SET name = upper(name) WHERE id = @id", parameters = {"id": 2})
    return {"inserted": n, "updated": m, "rows": sql.query("pg", "SELECT id, name FROM items ORDER BY id")}

def bad_sql():
    return sql.query("pg", "SELEC 1")

def build():
    for fn in [fetch, send, with_conn, failing, slow, not_json, database, bad_sql]:
        task(fn)
    http(task_id = "op", url = "x")
    sql(task_id = "q", sql = "SELECT 1", conn_id = "pg")

dag(dag_id = "modules", build = build)
`

func moduleServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/json", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"count": 3, "query": %q, "team": %q}`, r.URL.RawQuery, r.Header.Get("X-Team"))
	})
	mux.HandleFunc("/echo", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(body), "type": r.Header.Get("Content-Type"), "user": user, "pass": pass})
	})
	mux.HandleFunc("/fail", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Error(w, "broken", nethttp.StatusBadGateway)
	})
	mux.HandleFunc("/slow", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		nethttp.DefaultClient.CloseIdleConnections()
	})
	return srv
}

func moduleLoader() *loader.Loader {
	return loader.New(loader.Options{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators:      []operators.Spec{httpop.New().Spec(), sqlop.New().Spec()},
		RuntimeModules: call.Modules(),
	})
}

func TestModules(t *testing.T) {
	t.Parallel()
	srv := moduleServer(t)
	pg, err := store.ParseConnectionURI("pg", testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	f := moduleLoader().Load(context.Background(), loader.BundleSource("", map[string]string{"modules.star": moduleSource}), "modules.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	d := f.DAG("modules")
	runner := call.New(f)
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	host, port, _ := strings.Cut(hostPort, ":")
	var portN int
	fmt.Sscan(port, &portN)
	connections := memConns{
		"api": {ID: "api", Type: "http", Host: host, Port: portN, Login: "bot", Password: "hunter2"},
		"pg":  pg,
	}

	tests := []struct {
		task    string
		args    []any
		want    any
		wantErr string
		wantLog string
	}{
		{task: "fetch", args: []any{srv.URL}, want: map[string]any{"status": int64(200), "ok": true, "count": int64(3),
			"type": "application/json", "reason": "OK", "url": srv.URL + "/json?day=2024-01-01&n=2"},
			wantLog: "http.get " + srv.URL + "/json?day=2024-01-01&n=2: 200 OK"},
		{task: "send", args: []any{srv.URL}, want: []any{
			map[string]any{"method": "POST", "body": `{"k":[1,null]}`, "type": "application/json", "user": "", "pass": ""},
			map[string]any{"method": "PUT", "body": "raw", "type": "", "user": "", "pass": ""},
			map[string]any{"method": "DELETE", "body": "", "type": "", "user": "", "pass": ""},
		}},
		{task: "with_conn", want: map[string]any{"method": "GET", "body": "", "type": "", "user": "bot", "pass": "hunter2"}},
		{task: "failing", args: []any{srv.URL}, want: []any{int64(502), false, "broken\n"}},
		{task: "slow", args: []any{srv.URL}, wantErr: "modules.star:21:20: http.get: HTTP GET " + srv.URL + "/slow: no complete response within the timeout of 100ms"},
		{task: "not_json", args: []any{srv.URL}, wantErr: "response.json: response body is not JSON"},
		{task: "database", want: map[string]any{"inserted": int64(2), "updated": int64(1), "rows": []any{
			map[string]any{"id": int64(1), "name": "a"}, map[string]any{"id": int64(2), "name": "B"}}},
			wantLog: "sql.execute on pg: 2 rows affected"},
		{task: "bad_sql", wantErr: `modules.star:33:21: sql.query: ERROR: syntax error at or near "SELEC" (SQLSTATE 42601)`},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			// database and bad_sql share the schema; keep the order.
			log := &syncBuffer{}
			c := &operators.Call{
				DAG: d, Task: d.Task(tt.task), Log: log, Connections: connections, MapIndex: -1, TryNumber: 1,
				Run: operators.RunInfo{DAGID: "modules", RunID: "r", LogicalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
			}
			got, err := runner.CallFunction(context.Background(), c, c.Task.Function, tt.args, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CallFunction = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CallFunction: %v\nlog:\n%s", err, log.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result =\n%#v\nwant\n%#v", got, tt.want)
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log.String())
			}
			if strings.Contains(log.String(), "hunter2") {
				t.Errorf("the log shows the connection's password:\n%s", log.String())
			}
		})
	}
}

func TestModulesRefuseParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"x = http.get(\"http://example.com\")\n", "bad.star:1:13: http.get: only available inside a task function while its task runs, not while a DAG file is parsed"},
		{"x = sql.query(\"pg\", \"SELECT 1\")\n", "bad.star:1:14: sql.query: only available inside a task function while its task runs, not while a DAG file is parsed"},
		{"x = http.fetch\n", "bad.star:1:9: builtin_function_or_method has no .fetch field or method"},
	}
	for _, tt := range tests {
		f := moduleLoader().Load(context.Background(), loader.BundleSource("", map[string]string{"bad.star": tt.src}), "bad.star")
		if len(f.Errors) != 1 {
			t.Fatalf("errors = %v, want one", f.Errors)
		}
		if got := fmt.Sprintf("%s: %s", f.Errors[0].Pos, f.Errors[0].Message); !strings.HasPrefix(got, tt.want) {
			t.Errorf("error =\n%s\nwant\n%s", got, tt.want)
		}
	}
}

package sql_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// password is set on the connection; the test server trusts every
// client, so it is accepted, and no log or error may show it.
const password = "Pg-s3cr3t-42"

type conns map[string]*operators.Connection

func (c conns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if conn, ok := c[id]; ok {
		cp := *conn
		return &cp, nil
	}
	return nil, fmt.Errorf("connection %q not found", id)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup returns the connections of a fresh schema on the test server:
// "pg" and "elsewhere" (a port nobody listens on).
func setup(t *testing.T) conns {
	t.Helper()
	conn, err := store.ParseConnectionURI("pg", testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	conn.Password = password
	if conn.Login == "" {
		conn.Login = "postgres"
	}
	return conns{
		"pg":        conn,
		"elsewhere": {ID: "elsewhere", Type: "postgres", Host: "127.0.0.1", Port: 1, Login: "etl", Password: password, Schema: "x"},
		"web":       {ID: "web", Type: "http", Host: "example.com"},
	}
}

// run executes one sql task with config and returns its outcome and log.
func run(t *testing.T, cs conns, config map[string]any) (*operators.Result, error, string) {
	t.Helper()
	task := dags.NewTask("q", sqlop.Kind, dags.Pos{})
	task.Config = config
	log := &syncBuffer{}
	c := &operators.Call{
		Task:        task,
		Run:         operators.RunInfo{DAGID: "d", RunID: "manual__2024-03-01", LogicalDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		MapIndex:    -1,
		TryNumber:   1,
		Params:      map[string]any{"table": "orders"},
		Log:         log,
		Connections: cs,
	}
	c.Renderer = templates.NewRenderer(c)
	res, err := sqlop.New().Execute(context.Background(), c)
	out := log.String()
	if strings.Contains(out, password) || (err != nil && strings.Contains(err.Error(), password)) {
		t.Errorf("the connection's password shows:\nlog: %s\nerror: %v", out, err)
	}
	return res, err, out
}

func mustRun(t *testing.T, cs conns, config map[string]any) any {
	t.Helper()
	res, err, log := run(t, cs, config)
	if err != nil {
		t.Fatalf("Execute(%v): %v\nlog:\n%s", config, err, log)
	}
	return res.ReturnValue
}

func TestSQLOperator(t *testing.T) {
	t.Parallel()
	cs := setup(t)

	// Several statements in one transaction, the same list parameters
	// going to the statement that has placeholders.
	got := mustRun(t, cs, map[string]any{"conn_id": "pg", "fetch": "none", "sql": []any{
		`CREATE TABLE {{ params.table }} (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), qty int,
			at timestamptz, day date, tags text[], meta jsonb, paid bool, ratio float8)`,
		`INSERT INTO {{ params.table }} (name, price, qty, at, day, tags, meta, paid, ratio)
			VALUES ($1, $2, $3, '2024-03-01T10:00:00Z', '{{ ds }}', ARRAY['a','b'], '{"k": [1, "x"]}', $4, 0.25)`,
	}, "parameters": []any{"widget", 9.5, int64(3), true}})
	if got != nil {
		t.Errorf("fetch none returned %#v", got)
	}

	// Named parameters and RETURNING with fetch one.
	got = mustRun(t, cs, map[string]any{"conn_id": "pg", "fetch": "one",
		"sql":        "INSERT INTO orders (name, price, qty, paid) VALUES (@name, @price, @qty, false) RETURNING id, name",
		"parameters": map[string]any{"name": "gadget", "price": "12.34", "qty": int64(7)}})
	if want := []any{int64(2), "gadget"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fetch one = %#v, want %#v", got, want)
	}

	// fetch all (the default): lists of JSON-like values.
	got = mustRun(t, cs, map[string]any{"conn_id": "pg", "sql": "SELECT id, name, price, qty, at, day, tags, meta, paid, ratio, NULL AS nothing FROM orders ORDER BY id"})
	want := []any{
		[]any{int64(1), "widget", 9.5, int64(3), "2024-03-01T10:00:00Z", "2024-03-01", []any{"a", "b"}, map[string]any{"k": []any{1.0, "x"}}, true, 0.25, nil},
		[]any{int64(2), "gadget", 12.34, int64(7), nil, nil, nil, nil, false, nil, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fetch all =\n%#v\nwant\n%#v", got, want)
	}

	// as_dict, with parameters for a SELECT.
	got = mustRun(t, cs, map[string]any{"conn_id": "pg", "as_dict": true, "sql": "SELECT name, qty * 2 AS double FROM orders WHERE qty > $1", "parameters": []any{int64(5)}})
	if want := []any{map[string]any{"name": "gadget", "double": int64(14)}}; !reflect.DeepEqual(got, want) {
		t.Errorf("as_dict = %#v, want %#v", got, want)
	}

	// A script: one string, several statements, no parameters.
	mustRun(t, cs, map[string]any{"conn_id": "pg", "fetch": "none", "sql": "CREATE TABLE log (msg text); INSERT INTO log VALUES ('one'), ('two');"})
	if got := mustRun(t, cs, map[string]any{"conn_id": "pg", "sql": "SELECT count(*) FROM log"}); !reflect.DeepEqual(got, []any{[]any{int64(2)}}) {
		t.Errorf("count after the script = %#v", got)
	}

	// A statement without rows: None even with fetch all.
	if got := mustRun(t, cs, map[string]any{"conn_id": "pg", "sql": "UPDATE orders SET qty = qty + 1"}); got != nil {
		t.Errorf("UPDATE returned %#v, want None", got)
	}
	// fetch one of no rows: None.
	if got := mustRun(t, cs, map[string]any{"conn_id": "pg", "fetch": "one", "sql": "SELECT 1 WHERE false"}); got != nil {
		t.Errorf("fetch one of no rows = %#v, want None", got)
	}
	// fetch all of no rows: an empty list.
	if got := mustRun(t, cs, map[string]any{"conn_id": "pg", "sql": "SELECT 1 WHERE false"}); !reflect.DeepEqual(got, []any{}) {
		t.Errorf("fetch all of no rows = %#v, want []", got)
	}
}

func TestSQLTransactions(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	mustRun(t, cs, map[string]any{"conn_id": "pg", "sql": "CREATE TABLE t (n int)"})
	count := func() int64 {
		rows := mustRun(t, cs, map[string]any{"conn_id": "pg", "fetch": "one", "sql": "SELECT count(*) FROM t"})
		return rows.([]any)[0].(int64)
	}

	_, err, log := run(t, cs, map[string]any{"conn_id": "pg", "sql": []any{"INSERT INTO t VALUES (1)", "SELECT 1 / 0"}})
	if err == nil || !strings.Contains(err.Error(), "sql: statement 2: ERROR: division by zero (SQLSTATE 22012)") {
		t.Fatalf("error = %v", err)
	}
	if !strings.Contains(log, "PostgreSQL error 22012: division by zero") {
		t.Errorf("log lacks the PostgreSQL error:\n%s", log)
	}
	if n := count(); n != 0 {
		t.Errorf("after a failed transaction the table holds %d rows, want the insert rolled back", n)
	}

	_, err, _ = run(t, cs, map[string]any{"conn_id": "pg", "autocommit": true, "sql": []any{"INSERT INTO t VALUES (1)", "SELECT 1 / 0"}})
	if err == nil {
		t.Fatal("division by zero succeeded")
	}
	if n := count(); n != 1 {
		t.Errorf("with autocommit the table holds %d rows, want the first insert kept", n)
	}
	if operators.IsFinal(err) {
		t.Errorf("an SQL error must leave the retries to decide: %v", err)
	}
}

func TestSQLStatementTimeout(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	for _, autocommit := range []bool{false, true} {
		t.Run(fmt.Sprintf("autocommit=%v", autocommit), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err, log := run(t, cs, map[string]any{"conn_id": "pg", "autocommit": autocommit, "statement_timeout": 200 * time.Millisecond,
				"sql": "SELECT pg_sleep(5)"})
			if err == nil || !strings.Contains(err.Error(), "canceling statement due to statement timeout (SQLSTATE 57014)") {
				t.Fatalf("error = %v", err)
			}
			if !strings.Contains(log, "PostgreSQL error 57014") {
				t.Errorf("log lacks the code:\n%s", log)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("the statement ran %s despite a 200ms statement_timeout", d)
			}
		})
	}
}

func TestSQLErrors(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	tests := []struct {
		name    string
		config  map[string]any
		want    string
		wantLog string
		final   bool
	}{
		{"a syntax error", map[string]any{"conn_id": "pg", "sql": "SELEC 1"},
			`sql: statement 1: ERROR: syntax error at or near "SELEC" (SQLSTATE 42601)`, `PostgreSQL error 42601: syntax error at or near "SELEC"`, false},
		{"a syntax error with parameters", map[string]any{"conn_id": "pg", "sql": "SELEC $1", "parameters": []any{int64(1)}},
			"(SQLSTATE 42601)", "at character 1", false},
		{"an unknown table", map[string]any{"conn_id": "pg", "sql": "SELECT * FROM nowhere"},
			`relation "nowhere" does not exist (SQLSTATE 42P01)`, "PostgreSQL error 42P01", false},
		{"too many parameters", map[string]any{"conn_id": "pg", "sql": "SELECT $1::int", "parameters": []any{int64(1), int64(2)}},
			"expected 1 arguments, got 2", "", false},
		{"an unreachable server", map[string]any{"conn_id": "elsewhere", "sql": "SELECT 1"},
			`sql: connection "elsewhere": connect to etl@127.0.0.1:1/x:`, "", false},
		{"a connection of another type", map[string]any{"conn_id": "web", "sql": "SELECT 1"},
			`connection "web" is of type "http"; the sql operator needs a postgres connection`, "", false},
		{"an unknown connection", map[string]any{"conn_id": "nope", "sql": "SELECT 1"},
			`connection "nope" not found`, "", false},
		{"an empty statement", map[string]any{"conn_id": "pg", "sql": []any{"SELECT 1", " "}}, "statement 2 is empty", "", true},
		{"parameters of the wrong type", map[string]any{"conn_id": "pg", "sql": "SELECT 1", "parameters": "x"}, "want a list or a dict", "", true},
		{"a fetch mode not offered", map[string]any{"conn_id": "pg", "sql": "SELECT 1", "fetch": "many"}, `got "many", want one of none, one, all`, "", true},
		{"no conn_id", map[string]any{"sql": "SELECT 1"}, "sql: missing argument conn_id", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err, log := run(t, cs, tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q\nlog:\n%s", err, tt.want, log)
			}
			if !strings.Contains(log, tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log)
			}
			if operators.IsFinal(err) != tt.final {
				t.Errorf("IsFinal = %v, want %v", operators.IsFinal(err), tt.final)
			}
		})
	}
}

func TestSQLStopsWithItsContext(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	task := dags.NewTask("q", sqlop.Kind, dags.Pos{})
	task.Config = map[string]any{"conn_id": "pg", "sql": "SELECT pg_sleep(10)"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sqlop.New().Execute(ctx, &operators.Call{Task: task, Connections: cs, Log: &syncBuffer{}})
	if err == nil {
		t.Fatal("a cancelled statement succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Execute returned %s after its context ended", d)
	}
}

func TestQueryAndExec(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	c := &operators.Call{Connections: cs, Log: &syncBuffer{}}
	ctx := context.Background()
	if _, err := sqlop.Exec(ctx, c, "pg", "CREATE TABLE kv (k text PRIMARY KEY, v int)", nil); err != nil {
		t.Fatal(err)
	}
	n, err := sqlop.Exec(ctx, c, "pg", "INSERT INTO kv VALUES ($1, $2), ($3, $4)", []any{"a", int64(1), "b", int64(2)})
	if err != nil || n != 2 {
		t.Fatalf("Exec insert = %d, %v; want 2 rows", n, err)
	}
	n, err = sqlop.Exec(ctx, c, "pg", "UPDATE kv SET v = v * 10 WHERE k = @k", map[string]any{"k": "b"})
	if err != nil || n != 1 {
		t.Fatalf("Exec update = %d, %v; want 1 row", n, err)
	}
	rows, err := sqlop.Query(ctx, c, "pg", "SELECT k, v FROM kv ORDER BY k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []map[string]any{{"k": "a", "v": int64(1)}, {"k": "b", "v": int64(20)}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("Query = %#v, want %#v", rows, want)
	}
	if _, err := sqlop.Query(ctx, c, "pg", "SELECT nope FROM kv", nil); err == nil || !strings.Contains(err.Error(), "42703") {
		t.Errorf("Query of an unknown column = %v, want SQLSTATE 42703", err)
	}
}

func TestSpecIsValid(t *testing.T) {
	t.Parallel()
	s := sqlop.New().Spec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDocsListEveryParameter keeps the docs in step with the spec.
func TestDocsListEveryParameter(t *testing.T) {
	t.Parallel()
	s := sqlop.New().Spec()
	for _, file := range []string{"../../docs/operators.md", "../../docs/authoring.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(data), "\n## `"+s.Kind+"`\n")
		if !ok {
			t.Errorf("%s has no section ## `%s`", file, s.Kind)
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		for _, p := range s.Params {
			if !strings.Contains(section, p.Name) {
				t.Errorf("%s: the %s section does not mention parameter %s", file, s.Kind, p.Name)
			}
		}
	}
}

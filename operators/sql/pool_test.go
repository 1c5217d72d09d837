package sql_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// pooledCall is the call of an sql task with config.
func pooledCall(cs conns, config map[string]any) *operators.Call {
	task := dags.NewTask("q", sqlop.Kind, dags.Pos{})
	task.Config = config
	c := &operators.Call{Task: task, Run: operators.RunInfo{DAGID: "d", RunID: "r"}, MapIndex: -1, TryNumber: 1,
		Log: io.Discard, Connections: cs}
	c.Renderer = templates.NewRenderer(c)
	return c
}

// backends counts the server sessions whose application_name is app.
func backends(t *testing.T, cs conns, app string) int {
	t.Helper()
	conn := *cs["pg"]
	conn.Extra = map[string]any{}
	rows, err := sqlop.Query(context.Background(), &operators.Call{Connections: conns{"pg": &conn}}, "pg",
		"SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", []any{app})
	if err != nil {
		t.Fatal(err)
	}
	return int(rows[0]["n"].(int64))
}

// TestPoolsReuseConnections runs 40 sql tasks and 20 module calls from 8
// goroutines through pools of at most 3 connections: every result is
// right, at most 3 connections are ever opened (counted by dials and by
// the server's pg_stat_activity), and Close ends them all.
func TestPoolsReuseConnections(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	app := fmt.Sprintf("starflow-pool-test-%d", time.Now().UnixNano())
	if cs["pg"].Extra == nil {
		cs["pg"].Extra = map[string]any{}
	}
	cs["pg"].Extra["application_name"] = app // besides the test schema's search_path
	pools := sqlop.NewPools(3)
	op := &sqlop.Operator{Pools: pools}
	if _, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"sql": "CREATE TABLE hits (n int)", "conn_id": "pg", "fetch": "none"})); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				n := int64(g*10 + i)
				res, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{
					"sql": []any{"INSERT INTO hits VALUES ($1)", "SELECT $1::int + 1"}, "conn_id": "pg", "parameters": []any{n}, "fetch": "one"}))
				if err != nil {
					errs <- err
					continue
				}
				if got := fmt.Sprint(res.ReturnValue); got != fmt.Sprintf("[%d]", n+1) {
					errs <- fmt.Errorf("task %d returned %s", n, got)
				}
			}
			for i := 0; i < 2; i++ {
				c := pooledCall(cs, nil)
				if _, err := pools.Exec(context.Background(), c, "pg", "INSERT INTO hits VALUES (-1)", nil); err != nil {
					errs <- err
				}
				if _, err := pools.Query(context.Background(), c, "pg", "SELECT count(*) FROM hits", nil); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows, err := pools.Query(context.Background(), pooledCall(cs, nil), "pg", "SELECT count(*) AS n, count(*) FILTER (WHERE n >= 0) AS tasks FROM hits", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0]["n"] != int64(56) || rows[0]["tasks"] != int64(40) {
		t.Errorf("rows %v, want 56 of which 40 from tasks", rows[0])
	}
	if d := pools.Dials(); d < 1 || d > 3 {
		t.Errorf("%d connections opened for 61 sessions, want 1 to 3", d)
	}
	if n := backends(t, cs, app); n < 1 || n > 3 {
		t.Errorf("%d server sessions of the pool, want 1 to 3", n)
	}
	pools.Close()
	// The server ends a session shortly after the client says goodbye.
	n := backends(t, cs, app)
	for deadline := time.Now().Add(10 * time.Second); n != 0 && time.Now().Before(deadline); n = backends(t, cs, app) {
		time.Sleep(50 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("%d server sessions left 10 s after Close, want 0", n)
	}
	if _, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"sql": "SELECT 1", "conn_id": "pg"})); err == nil ||
		!strings.Contains(err.Error(), "closed") {
		t.Errorf("a task after Close: err %v, want the pools closed", err)
	}
}

// TestPooledSessionsStartClean: a task that changes its session (a
// setting, a temporary table) leaves nothing to the next task that gets
// the same pooled connection.
func TestPooledSessionsStartClean(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	pools := sqlop.NewPools(1)
	t.Cleanup(pools.Close)
	op := &sqlop.Operator{Pools: pools}
	if _, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"conn_id": "pg", "autocommit": true, "fetch": "none",
		"statement_timeout": "1234ms",
		"sql":               []any{"CREATE TEMP TABLE scratch (x int)", "SET search_path TO nowhere"}})); err != nil {
		t.Fatal(err)
	}
	res, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"conn_id": "pg", "fetch": "one",
		"sql": "SELECT current_setting('statement_timeout'), to_regclass('pg_temp.scratch') IS NULL, current_setting('search_path') <> 'nowhere'"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.ReturnValue); got != "[0 true true]" {
		t.Errorf("the next session sees %s, want [0 true true] (a clean session)", got)
	}
	if d := pools.Dials(); d != 1 {
		t.Errorf("%d connections opened, want 1 (reused)", d)
	}
	// A task that fails inside its transaction leaves a usable pool.
	if _, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"conn_id": "pg", "sql": "SELECT 1/0"})); err == nil {
		t.Fatal("division by zero succeeded")
	}
	if _, err := op.Execute(context.Background(), pooledCall(cs, map[string]any{"conn_id": "pg", "sql": "SELECT 1"})); err != nil {
		t.Errorf("the task after a failed one: %v", err)
	}
}

// TestNilPoolsConnectPerCall: without pools, every session dials.
func TestNilPoolsConnectPerCall(t *testing.T) {
	t.Parallel()
	cs := setup(t)
	var pools *sqlop.Pools
	pc, release, err := pools.Session(context.Background(), pooledCall(cs, nil), "pg")
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := pc.QueryRow(context.Background(), "SELECT 1", pgx.QueryExecModeSimpleProtocol).Scan(&one); err != nil || one != 1 {
		t.Errorf("SELECT 1 = %d, %v", one, err)
	}
	release()
	if !pc.IsClosed() {
		t.Error("release left a per-call connection open")
	}
	pools.Close() // a no-op
}

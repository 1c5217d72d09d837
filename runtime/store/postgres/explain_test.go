package postgres

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/pgtest"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TestSchedulerQueriesUseIndexes fills a database with 1,000,000 task
// instances (10,000 runs of 100 DAGs, nearly all finished, as a busy
// installation looks) and checks with EXPLAIN that the scheduler's main
// queries are answered from an index, not by scanning the table.
func TestSchedulerQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := Open(ctx, pgtest.URL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	// Bulk loading is much faster with the secondary indexes built
	// afterwards, from their own definitions.
	var indexDefs []string
	rows, err := s.pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'task_instance' AND indexname <> 'task_instance_pkey'`)
	if err != nil {
		t.Fatal(err)
	}
	var dropIndexes []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		dropIndexes = append(dropIndexes, "DROP INDEX "+name)
		indexDefs = append(indexDefs, def)
	}
	if err := rows.Err(); err != nil || len(indexDefs) == 0 {
		t.Fatalf("task_instance indexes: %v, %v", indexDefs, err)
	}
	load := append(dropIndexes, []string{
		// The last two runs of every DAG are running; the rest succeeded.
		`INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, conf, created_at, updated_at)
		SELECT 'dag_' || d, 'scheduled__' || r, 'scheduled',
			CASE WHEN r > 98 THEN 'running' ELSE 'success' END,
			timestamptz '2024-01-01' + r * interval '1 day', '{}', now(), now()
		FROM generate_series(1, 100) d, generate_series(1, 100) r`,
		// In running runs, tasks 1-10 are scheduled, 11-15 queued, 16-20
		// running and the rest waiting; everything else succeeded.
		`INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, try_number, priority_weight, logical_date, updated_at)
		SELECT r.dag_id, r.run_id, 'task_' || t, -1,
			CASE WHEN r.state = 'success' THEN 'success'
				WHEN t <= 10 THEN 'scheduled' WHEN t <= 15 THEN 'queued' WHEN t <= 20 THEN 'running' ELSE 'none' END,
			1, t % 10, r.logical_date, now()
		FROM dag_run r, generate_series(1, 100) t`,
	}...)
	load = append(append(load, indexDefs...), `ANALYZE`)
	for _, q := range load {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM task_instance`).Scan(&n); err != nil || n != 1_000_000 {
		t.Fatalf("task instances = %d, %v", n, err)
	}
	t.Logf("generated 1,000,000 task instances in %v", time.Since(start).Round(time.Millisecond))

	running := []dags.TaskState{dags.TaskStateRunning}
	tiQ, tiArgs := taskInstanceListSQL(&store.TaskInstanceListParams{DagID: "dag_7", States: running})
	runQ, runArgs := sqlq.RunListSQL(sqlq.Postgres, &store.RunListParams{DagID: "dag_7", States: []dags.DagRunState{dags.DagRunStateRunning, dags.DagRunStateQueued}})
	retryQ, retryArgs := taskInstanceListSQL(&store.TaskInstanceListParams{States: []dags.TaskState{dags.TaskStateUpForRetry}, RetryDueBefore: time.Now()})
	activeQ, activeArgs, _ := sqlq.TaskInstanceStates(sqlq.Postgres, &store.TaskInstanceStatesParams{DagID: "dag_7", RunID: "scheduled__99",
		States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}})
	someQ, someArgs, _ := sqlq.TaskInstanceStates(sqlq.Postgres, &store.TaskInstanceStatesParams{DagID: "dag_7", RunID: "scheduled__99",
		TaskIDs: []string{"task_3", "task_4"}})
	tests := []struct {
		name  string
		query string
		args  []any
		index string // a regular expression: the index (or indexes) the plan may use
	}{
		{"active task instances of a run (max_active_tasks)", activeQ, activeArgs, "ti_run_unfinished"},
		{"some tasks' instances of a run (a finished task's downstream)", someQ, someArgs, "task_instance_pkey"},
		{"ready task instances by state and priority (claim)", claimSQL + prefixed("ti", tiCols),
			[]any{32, "", "", "", time.Now()}, "ti_state_priority"},
		// Either index: ti_run_unfinished holds the DAG's unfinished rows
		// under its dag_id prefix too, and the planner may join the two.
		{"running task instances of a DAG", tiQ, tiArgs, "ti_dag_state|ti_run_unfinished"},
		{"active runs of a DAG", runQ, runArgs, "dag_run_dag_state"},
		{"retries due", retryQ, retryArgs, "ti_state_priority"},
		{"pool occupancy", sqlq.PoolSQL + ` GROUP BY p.name, p.slots, p.description`, nil, "ti_pool_state"},
	}
	usesIndex := regexp.MustCompile(`(Index|Index Only|Bitmap Index) Scan (Backward )?(using|on) `)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.pool.Query(ctx, "EXPLAIN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !usesIndex.MatchString(text) || !regexp.MustCompile(tt.index).MatchString(text) {
				t.Errorf("plan does not use index %s:\n%s", tt.index, text)
			}
			if strings.Contains(text, "Seq Scan on task_instance") {
				t.Errorf("plan scans the whole task_instance table:\n%s", text)
			}
		})
	}
}

// TestHotLookupsWithoutStatistics runs the lookups of a task instance's
// every transition over one run of 3,000 task instances, 2,000 of them
// finished (each through four states, so dead row versions too), beside
// three runs of the same DAG with 1,000 scheduled, queued or running, in a
// fresh schema the planner has no statistics for (a new database, or a
// server without autovacuum), and checks with EXPLAIN ANALYZE that each
// reads the rows it returns, not the run: none filters more than a few
// rows out. With a list bound as one array and the full (dag_id, run_id,
// state) index, each lookup read every row of the run, so a chain's step
// grew with its length.
func TestHotLookupsWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Open(ctx, pgtest.URL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		`INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, conf, created_at, updated_at)
		VALUES ('big', 'r', 'manual', 'running', now(), '{}', now(), now())`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, try_number, priority_weight, logical_date, updated_at)
		SELECT 'big', 'r', 't' || lpad(i::text, 4, '0'), -1, 'none', 0, 1, now(), now() FROM generate_series(0, 2999) i`,
		// Other runs of the DAG, their task instances scheduled, queued
		// and running: not to be read for run r's lookups.
		`INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, conf, created_at, updated_at)
		SELECT 'big', 'o' || i, 'manual', 'running', now() - i * interval '1 day', '{}', now(), now() FROM generate_series(1, 3) i`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, try_number, priority_weight, logical_date, updated_at)
		SELECT 'big', 'o' || r, 't' || lpad(i::text, 4, '0'), -1, (ARRAY['scheduled', 'queued', 'running'])[r], 1, 1, now(), now()
		FROM generate_series(1, 3) r, generate_series(0, 999) i`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}
	for _, st := range []string{"scheduled", "queued", "running", "success"} {
		if _, err := s.pool.Exec(ctx, `UPDATE task_instance SET state = $1 WHERE run_id = 'r' AND task_id < 't2000'`, st); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE task_instance SET state = 'running', try_number = 1 WHERE task_id = 't2000'`); err != nil {
		t.Fatal(err)
	}
	var reltuples float64
	if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'task_instance'::regclass`).Scan(&reltuples); err != nil || reltuples >= 0 {
		t.Fatalf("task_instance has statistics (reltuples %v, %v); the test needs a table never analyzed", reltuples, err)
	}
	states := func(p *store.TaskInstanceStatesParams) (string, []any) {
		p.DagID, p.RunID = "big", "r"
		q, args, ok := sqlq.TaskInstanceStates(sqlq.Postgres, p)
		if !ok {
			t.Fatalf("%+v selects nothing", p)
		}
		return q, args
	}
	end := &store.TaskInstanceSetStateParams{Key: store.TaskInstanceKey{DagID: "big", RunID: "r", TaskID: "t2000", MapIndex: -1},
		From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 1, To: dags.TaskStateSuccess, EndDate: time.Now()}
	type lookup struct {
		name  string
		query string
		args  []any
	}
	var tests []lookup
	add := func(name string, p *store.TaskInstanceStatesParams) {
		q, args := states(p)
		tests = append(tests, lookup{name, q, args})
	}
	add("a finished task's downstream", &store.TaskInstanceStatesParams{TaskIDs: []string{"t2001", "t2002"}})
	add("the run's active task instances", &store.TaskInstanceStatesParams{
		States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}})
	add("whether any task instance can progress", &store.TaskInstanceStatesParams{States: []dags.TaskState{dags.TaskStateScheduled,
		dags.TaskStateQueued, dags.TaskStateRunning, dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule, dags.TaskStateRestarting,
		dags.TaskStateDeferred}, Limit: 1})
	add("the page of waiting task instances", &store.TaskInstanceStatesParams{States: []dags.TaskState{dags.TaskStateNone}, Limit: 64, ByPriority: true})
	tests = append(tests, lookup{"the compare-and-set of a try's end", setStateSQL, setStateArgs(end, time.Now())})
	removed := regexp.MustCompile(`Rows Removed by Filter: (\d+)`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE) "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			for _, m := range removed.FindAllStringSubmatch(text, -1) {
				if n, _ := strconv.Atoi(m[1]); n > 64 {
					t.Errorf("the lookup filtered %d rows out of the run:\n%s", n, text)
				}
			}
			if strings.Contains(text, "Seq Scan on task_instance") {
				t.Errorf("plan scans the whole task_instance table:\n%s", text)
			}
		})
	}
}

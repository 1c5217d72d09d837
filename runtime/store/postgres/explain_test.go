package postgres

import (
	"context"
	"regexp"
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
		index string
	}{
		{"active task instances of a run (max_active_tasks)", activeQ, activeArgs, "ti_run_state"},
		{"some tasks' instances of a run (a finished task's downstream)", someQ, someArgs, "task_instance_pkey"},
		{"ready task instances by state and priority (claim)", claimSQL + prefixed("ti", tiCols),
			[]any{32, "", "", "", time.Now()}, "ti_state_priority"},
		{"running task instances of a DAG", tiQ, tiArgs, "ti_dag_state"},
		{"active runs of a DAG", runQ, runArgs, "dag_run_dag_state"},
		{"retries due", retryQ, retryArgs, "ti_state_priority"},
		{"pool occupancy", poolSQL + ` GROUP BY p.name, p.slots, p.description`, nil, "ti_pool_state"},
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
			if !usesIndex.MatchString(text) || !strings.Contains(text, tt.index) {
				t.Errorf("plan does not use index %s:\n%s", tt.index, text)
			}
			if strings.Contains(text, "Seq Scan on task_instance") {
				t.Errorf("plan scans the whole task_instance table:\n%s", text)
			}
		})
	}
}

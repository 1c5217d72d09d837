package sqlite

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// DAGCount counts the DAGs DAGList would return without paging.
func (s *Store) DAGCount(ctx context.Context, p *store.DAGListParams) (int, error) {
	var where []string
	var args []any
	if p.Paused != nil {
		where = append(where, "is_paused = ?")
		args = append(args, boolInt(*p.Paused))
	}
	if p.Active != nil {
		where = append(where, "is_active = ?")
		args = append(args, boolInt(*p.Active))
	}
	if !p.DueBefore.IsZero() {
		where = append(where, "next_create_after <= ?")
		args = append(args, tv(store.Truncate(p.DueBefore)))
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM dag`+whereClause(where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dags: %w", err)
	}
	return n, nil
}

// RunStateCounts counts every DAG run per state.
func (s *Store) RunStateCounts(ctx context.Context) (map[dags.DagRunState]int, error) {
	out := map[dags.DagRunState]int{}
	if err := s.countBy(ctx, `SELECT state, COUNT(*) FROM dag_run GROUP BY state`, func(st string, n int) {
		out[dags.DagRunState(st)] = n
	}); err != nil {
		return nil, fmt.Errorf("count dag runs per state: %w", err)
	}
	return out, nil
}

// TaskInstanceStateCounts counts every task instance per state.
func (s *Store) TaskInstanceStateCounts(ctx context.Context) (map[dags.TaskState]int, error) {
	out := map[dags.TaskState]int{}
	if err := s.countBy(ctx, `SELECT state, COUNT(*) FROM task_instance GROUP BY state`, func(st string, n int) {
		out[dags.TaskState(st)] = n
	}); err != nil {
		return nil, fmt.Errorf("count task instances per state: %w", err)
	}
	return out, nil
}

func (s *Store) countBy(ctx context.Context, q string, add func(string, int)) error {
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		add(st, n)
	}
	return rows.Err()
}

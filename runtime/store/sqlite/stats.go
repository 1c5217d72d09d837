package sqlite

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
)

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

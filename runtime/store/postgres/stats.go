package postgres

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
)

// RunStateCounts counts every DAG run per state.
func (s *Store) RunStateCounts(ctx context.Context) (map[dags.DagRunState]int, error) {
	var out map[dags.DagRunState]int
	err := s.do(ctx, func(int) error {
		out = map[dags.DagRunState]int{}
		return s.countBy(ctx, `SELECT state, COUNT(*) FROM dag_run GROUP BY state`, func(st string, n int) {
			out[dags.DagRunState(st)] = n
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count dag runs per state: %w", err)
	}
	return out, nil
}

// TaskInstanceStateCounts counts every task instance per state.
func (s *Store) TaskInstanceStateCounts(ctx context.Context) (map[dags.TaskState]int, error) {
	var out map[dags.TaskState]int
	err := s.do(ctx, func(int) error {
		out = map[dags.TaskState]int{}
		return s.countBy(ctx, `SELECT state, COUNT(*) FROM task_instance GROUP BY state`, func(st string, n int) {
			out[dags.TaskState(st)] = n
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count task instances per state: %w", err)
	}
	return out, nil
}

func (s *Store) countBy(ctx context.Context, q string, add func(string, int)) error {
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		add(st, int(n))
	}
	return rows.Err()
}

package sqlq

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
)

// RunStateCounts is store.Store.RunStateCounts over a store's Conn.
func (m Methods) RunStateCounts(ctx context.Context) (map[dags.DagRunState]int, error) {
	out, err := countBy[dags.DagRunState](ctx, m.c, `SELECT state, COUNT(*) FROM dag_run GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count dag runs per state: %w", err)
	}
	return out, nil
}

// TaskInstanceStateCounts is store.Store.TaskInstanceStateCounts over a
// store's Conn.
func (m Methods) TaskInstanceStateCounts(ctx context.Context) (map[dags.TaskState]int, error) {
	out, err := countBy[dags.TaskState](ctx, m.c, `SELECT state, COUNT(*) FROM task_instance GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count task instances per state: %w", err)
	}
	return out, nil
}

// countBy runs a query of (key, count) rows and returns them as a map.
func countBy[K ~string](ctx context.Context, c Conn, q string) (map[K]int, error) {
	out := map[K]int{}
	err := c.Query(ctx, q, nil, func() { clear(out) }, func(r Scanner) error {
		var k string
		var n int
		if err := r.Scan(&k, &n); err != nil {
			return err
		}
		out[K(k)] = n
		return nil
	})
	return out, err
}

package sqlq

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TaskInstanceCounts is store.Store.TaskInstanceCounts over a store's
// Conn: counts per run and state.
func (m Methods) TaskInstanceCounts(ctx context.Context, p *store.TaskInstanceCountsParams) ([]*store.TaskInstanceCount, error) {
	w := &where{d: m.c.D}
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	if p.RunID != "" {
		w.eq("run_id", p.RunID)
	}
	if len(p.States) > 0 {
		w.few("state", strs(p.States))
	}
	out, err := QueryAll(ctx, m.c, `SELECT dag_id, run_id, state, COUNT(*) FROM task_instance`+w.clause()+
		` GROUP BY dag_id, run_id, state ORDER BY dag_id, run_id, state`, w.args, func(r Scanner) (*store.TaskInstanceCount, error) {
		var c store.TaskInstanceCount
		err := r.Scan(&c.DagID, &c.RunID, &c.State, &c.Count)
		return &c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count task instances: %w", err)
	}
	return out, nil
}

// TaskInstanceExpand is store.Store.TaskInstanceExpand over a store's
// Conn: the unmapped instance becomes map index 0 and indexes 1..Count-1
// are created beside it, in one transaction.
func (m Methods) TaskInstanceExpand(ctx context.Context, p *store.TaskInstanceExpandParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	d, k := m.c.D, p.Key
	w := &where{d: d, args: []any{d.Time(now())}}
	w.eq("dag_id", k.DagID)
	w.eq("run_id", k.RunID)
	w.eq("task_id", k.TaskID)
	w.conds = append(w.conds, "map_index = -1")
	w.few("state", strs(p.From))
	rctx, retried := TrackRetry(ctx)
	err := m.c.InTx(rctx, func(tx Conn) error {
		n, err := tx.ExecCount(ctx, `UPDATE task_instance SET map_index = 0, state = 'none', updated_at = `+d.Param(1)+w.clause(), w.args...)
		if err != nil {
			return err
		}
		if n == 0 {
			if *retried {
				// A lost connection after our commit: the expansion is ours.
				var n int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM task_instance WHERE dag_id = `+d.Param(1)+` AND run_id = `+d.Param(2)+
					` AND task_id = `+d.Param(3)+` AND map_index >= 0`, []any{k.DagID, k.RunID, k.TaskID}, &n); err == nil && n == p.Count {
					return nil
				}
			}
			return fmt.Errorf("task instance %s is not in %v: %w", k, p.From, store.ErrStale)
		}
		if p.Count == 1 {
			return nil
		}
		return tx.Exec(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < `+d.Param(1)+`)
			INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, max_tries,
				pool, pool_slots, priority_weight, queue, operator, logical_date, updated_at)
			SELECT dag_id, run_id, task_id, seq.i, 'none', max_tries, pool, pool_slots, priority_weight, queue, operator, logical_date, updated_at
			FROM task_instance, seq
			WHERE dag_id = `+d.Param(2)+` AND run_id = `+d.Param(3)+` AND task_id = `+d.Param(4)+` AND map_index = 0`,
			p.Count-1, k.DagID, k.RunID, k.TaskID)
	})
	if err != nil {
		return fmt.Errorf("expand task instance %s into %d: %w", k, p.Count, err)
	}
	return nil
}

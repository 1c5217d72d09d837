package sqlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// RunDatesQuery is the query of store.Store.RunDates: run_id, logical
// date, state.
func RunDatesQuery(d Dialect, p *store.RunDatesParams) (query string, args []any) {
	w := &where{d: d}
	w.eq("dag_id", p.DagID)
	if !p.From.IsZero() {
		w.args = append(w.args, d.Time(p.From))
		w.conds = append(w.conds, "logical_date >= "+d.Param(len(w.args)))
	}
	if !p.To.IsZero() {
		w.args = append(w.args, d.Time(p.To))
		w.conds = append(w.conds, "logical_date < "+d.Param(len(w.args)))
	}
	q := "SELECT run_id, logical_date, state FROM dag_run WHERE " + strings.Join(w.conds, " AND ") +
		" ORDER BY logical_date DESC, run_id DESC"
	if p.Limit > 0 {
		w.args = append(w.args, p.Limit)
		q += " LIMIT " + d.Param(len(w.args))
	}
	return q, w.args
}

// RunDates is store.Store.RunDates over m's Conn.
func (m Methods) RunDates(ctx context.Context, p *store.RunDatesParams) ([]store.RunDate, error) {
	c := m.c
	if err := p.Validate(); err != nil {
		return nil, err
	}
	q, args := RunDatesQuery(c.D, p)
	out := []store.RunDate{}
	err := c.Query(ctx, q, args, func() { out = out[:0] }, func(r Scanner) error {
		var d store.RunDate
		if err := r.Scan(&d.RunID, At(&d.LogicalDate), &d.State); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list run dates of %s: %w", p.DagID, err)
	}
	return out, nil
}

// TaskSpansQuery is the query of store.Store.TaskSpans: run_id, task_id,
// first start and last end. It reads the runs' rows
// through the task instance key's index and groups them in the database.
func TaskSpansQuery(d Dialect, p *store.TaskSpansParams) (query string, args []any) {
	w := &where{d: d}
	w.eq("dag_id", p.DagID)
	w.in("run_id", p.RunIDs)
	return "SELECT run_id, task_id, MIN(start_date), MAX(end_date)" +
		" FROM task_instance WHERE " + strings.Join(w.conds, " AND ") +
		" AND start_date IS NOT NULL AND end_date IS NOT NULL GROUP BY run_id, task_id ORDER BY run_id, task_id", w.args
}

// TaskSpans is store.Store.TaskSpans over m's Conn.
func (m Methods) TaskSpans(ctx context.Context, p *store.TaskSpansParams) ([]store.TaskSpan, error) {
	c := m.c
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out := []store.TaskSpan{}
	if len(p.RunIDs) == 0 {
		return out, nil
	}
	q, args := TaskSpansQuery(c.D, p)
	err := c.Query(ctx, q, args, func() { out = out[:0] }, func(r Scanner) error {
		var s store.TaskSpan
		if err := r.Scan(&s.RunID, &s.TaskID, At(&s.Start), At(&s.End)); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("task spans of %s: %w", p.DagID, err)
	}
	return out, nil
}

// RunCountsByDAG is store.Store.RunCountsByDAG over m's Conn: it reads
// the (dag_id, state) index of the DAGs named, not every run.
func (m Methods) RunCountsByDAG(ctx context.Context, p *store.RunCountsByDAGParams) (map[string]map[dags.DagRunState]int, error) {
	c := m.c
	out := map[string]map[dags.DagRunState]int{}
	if len(p.DagIDs) == 0 {
		return out, nil
	}
	w := &where{d: c.D}
	w.in("dag_id", p.DagIDs)
	err := c.Query(ctx, "SELECT dag_id, state, COUNT(*) FROM dag_run"+w.clause()+" GROUP BY dag_id, state", w.args,
		func() { clear(out) }, func(r Scanner) error {
			var id string
			var s dags.DagRunState
			var n int64
			if err := r.Scan(&id, &s, &n); err != nil {
				return err
			}
			if out[id] == nil {
				out[id] = map[dags.DagRunState]int{}
			}
			out[id][s] = int(n)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count runs of %d dags: %w", len(p.DagIDs), err)
	}
	return out, nil
}

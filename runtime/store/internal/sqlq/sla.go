package sqlq

import (
	"context"
	"fmt"
	"strconv"

	"github.com/starflow-dev/starflow/runtime/store"
)

// SLAMissRecord is store.Store.SLAMissRecord over a store's Conn: true
// when this call recorded the miss.
func (m Methods) SLAMissRecord(ctx context.Context, p *store.SLAMissRecordParams) (bool, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return false, err
	}
	n, err := c.ExecCount(ctx, `INSERT INTO sla_miss (dag_id, run_id, task_id, logical_date, deadline, state, recorded_at)
		VALUES (`+params(c.D, 1, 7)+`) ON CONFLICT (dag_id, run_id, task_id) DO NOTHING`,
		p.DagID, p.RunID, p.TaskID, c.D.Time(p.LogicalDate), c.D.Time(p.Deadline), string(p.State), c.D.Time(p.RecordedAt))
	if err != nil {
		return false, fmt.Errorf("record SLA miss of %s/%s/%s: %w", p.DagID, p.RunID, p.TaskID, err)
	}
	return n == 1, nil
}

// SLAMissList is store.Store.SLAMissList over a store's Conn: the latest
// deadline first.
func (m Methods) SLAMissList(ctx context.Context, p *store.SLAMissListParams) ([]*store.SLAMiss, error) {
	if p == nil {
		p = &store.SLAMissListParams{}
	}
	w := &where{d: m.c.D}
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	if p.RunID != "" {
		w.eq("run_id", p.RunID)
	}
	q := `SELECT dag_id, run_id, task_id, logical_date, deadline, state, recorded_at FROM sla_miss` + w.clause() +
		` ORDER BY deadline DESC, dag_id, run_id, task_id`
	if p.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(p.Limit)
	}
	out, err := QueryAll(ctx, m.c, q, w.args, func(r Scanner) (*store.SLAMiss, error) {
		var s store.SLAMiss
		err := r.Scan(&s.DagID, &s.RunID, &s.TaskID, At(&s.LogicalDate), At(&s.Deadline), &s.State, At(&s.RecordedAt))
		return &s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list SLA misses: %w", err)
	}
	return out, nil
}

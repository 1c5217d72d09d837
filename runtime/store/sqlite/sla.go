package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// SLAMissRecord records an SLA miss once.
func (s *Store) SLAMissRecord(ctx context.Context, p *store.SLAMissRecordParams) (bool, error) {
	if err := p.Normalize(); err != nil {
		return false, err
	}
	res, err := s.write.ExecContext(ctx, `INSERT INTO sla_miss (dag_id, run_id, task_id, logical_date, deadline, state, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dag_id, run_id, task_id) DO NOTHING`,
		p.DagID, p.RunID, p.TaskID, tv(p.LogicalDate), tv(p.Deadline), string(p.State), tv(p.RecordedAt))
	if err != nil {
		return false, fmt.Errorf("record SLA miss of %s/%s/%s: %w", p.DagID, p.RunID, p.TaskID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record SLA miss of %s/%s/%s: %w", p.DagID, p.RunID, p.TaskID, err)
	}
	return n == 1, nil
}

// SLAMissList returns SLA misses, latest deadline first.
func (s *Store) SLAMissList(ctx context.Context, p *store.SLAMissListParams) ([]*store.SLAMiss, error) {
	if p == nil {
		p = &store.SLAMissListParams{}
	}
	var where []string
	var args []any
	if p.DagID != "" {
		where, args = append(where, "dag_id = ?"), append(args, p.DagID)
	}
	if p.RunID != "" {
		where, args = append(where, "run_id = ?"), append(args, p.RunID)
	}
	q := `SELECT dag_id, run_id, task_id, logical_date, deadline, state, recorded_at FROM sla_miss`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY deadline DESC, dag_id, run_id, task_id"
	if p.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list SLA misses: %w", err)
	}
	defer rows.Close()
	var out []*store.SLAMiss
	for rows.Next() {
		var m store.SLAMiss
		var ld, dl, ra sql.NullInt64
		var st string
		if err := rows.Scan(&m.DagID, &m.RunID, &m.TaskID, &ld, &dl, &st, &ra); err != nil {
			return nil, fmt.Errorf("list SLA misses: %w", err)
		}
		m.LogicalDate, m.Deadline, m.RecordedAt, m.State = tget(ld), tget(dl), tget(ra), dags.TaskState(st)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list SLA misses: %w", err)
	}
	return out, nil
}

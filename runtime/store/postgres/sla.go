package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// SLAMissRecord records an SLA miss once.
func (s *Store) SLAMissRecord(ctx context.Context, p *store.SLAMissRecordParams) (bool, error) {
	if err := p.Normalize(); err != nil {
		return false, err
	}
	var created bool
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO sla_miss (dag_id, run_id, task_id, logical_date, deadline, state, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dag_id, run_id, task_id) DO NOTHING`,
			p.DagID, p.RunID, p.TaskID, tv(p.LogicalDate), p.Deadline.UTC(), string(p.State), p.RecordedAt.UTC())
		created = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record SLA miss of %s/%s/%s: %w", p.DagID, p.RunID, p.TaskID, err)
	}
	return created, nil
}

// SLAMissList returns SLA misses, latest deadline first.
func (s *Store) SLAMissList(ctx context.Context, p *store.SLAMissListParams) ([]*store.SLAMiss, error) {
	if p == nil {
		p = &store.SLAMissListParams{}
	}
	var where []string
	var args []any
	if p.DagID != "" {
		args = append(args, p.DagID)
		where = append(where, fmt.Sprintf("dag_id = $%d", len(args)))
	}
	if p.RunID != "" {
		args = append(args, p.RunID)
		where = append(where, fmt.Sprintf("run_id = $%d", len(args)))
	}
	q := `SELECT dag_id, run_id, task_id, logical_date, deadline, state, recorded_at FROM sla_miss`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY deadline DESC, dag_id, run_id, task_id"
	if p.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	var out []*store.SLAMiss
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, func(r pgx.Row) (*store.SLAMiss, error) {
			var m store.SLAMiss
			var ld, dl, ra *time.Time
			var st string
			if err := r.Scan(&m.DagID, &m.RunID, &m.TaskID, &ld, &dl, &st, &ra); err != nil {
				return nil, err
			}
			m.LogicalDate, m.Deadline, m.RecordedAt, m.State = tget(ld), tget(dl), tget(ra), dags.TaskState(st)
			return &m, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list SLA misses: %w", err)
	}
	return out, nil
}

package postgres

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// AuditAdd records one user action.
func (s *Store) AuditAdd(ctx context.Context, e *store.AuditEntry) error {
	if err := e.Normalize(); err != nil {
		return err
	}
	q, args := sqlq.AuditAdd(sqlq.Postgres, e, e.Dttm)
	err := s.do(ctx, func(int) error { return s.pool.QueryRow(ctx, q, args...).Scan(&e.ID) })
	if err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Event, err)
	}
	return nil
}

// AuditList returns audit entries newest first.
func (s *Store) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	p.Normalize()
	q, args := sqlq.AuditList(sqlq.Postgres, p)
	var out []*store.AuditEntry
	err := s.do(ctx, func(int) error {
		out = []*store.AuditEntry{}
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := &store.AuditEntry{}
			if err := rows.Scan(&e.ID, &e.Dttm, &e.Event, &e.DagID, &e.TaskID, &e.RunID, &e.Owner, &e.Source, &e.Extra); err != nil {
				return err
			}
			e.Dttm = e.Dttm.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// AuditAdd records one user action.
func (s *Store) AuditAdd(ctx context.Context, e *store.AuditEntry) error {
	if err := e.Normalize(); err != nil {
		return err
	}
	q, args := sqlq.AuditAdd(sqlq.SQLite, e, tv(e.Dttm))
	if err := s.write.QueryRowContext(ctx, q, args...).Scan(&e.ID); err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Event, err)
	}
	return nil
}

// AuditList returns audit entries newest first.
func (s *Store) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	p.Normalize()
	q, args := sqlq.AuditList(sqlq.SQLite, p)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	out := []*store.AuditEntry{}
	for rows.Next() {
		e := &store.AuditEntry{}
		var dttm sql.NullInt64
		if err := rows.Scan(&e.ID, &dttm, &e.Event, &e.DagID, &e.TaskID, &e.RunID, &e.Owner, &e.Source, &e.Extra); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		e.Dttm = tget(dttm)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

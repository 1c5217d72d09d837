package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// AuditAdd records one user action.
func (s *Store) AuditAdd(ctx context.Context, e *store.AuditEntry) error {
	return sqlq.AuditAdd(ctx, s.conn(), e)
}

// AuditList returns audit entries newest first.
func (s *Store) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	return sqlq.AuditList(ctx, s.conn(), p)
}

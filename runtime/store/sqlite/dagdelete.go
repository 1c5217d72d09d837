package sqlite

import (
	"context"
	"fmt"
)

// Reset drops every table and creates the schema again.
func (s *Store) Reset(ctx context.Context) error {
	s.stmtMu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.stmtMu.Unlock()
	if err := s.withMigrationLock(ctx, func() error { return s.mig.Reset(ctx) }); err != nil {
		return fmt.Errorf("reset SQLite %s: %w", s.path, err)
	}
	return nil
}

package postgres

import (
	"context"
	"fmt"
)

// Reset drops every table and creates the schema again.
func (s *Store) Reset(ctx context.Context) error {
	if err := s.mig.Reset(ctx); err != nil {
		return fmt.Errorf("reset PostgreSQL %s: %w", s.url, err)
	}
	return nil
}

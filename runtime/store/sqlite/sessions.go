package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// SessionRevoke records a revoked session and purges expired ones.
func (s *Store) SessionRevoke(ctx context.Context, id string, expires time.Time) error {
	if err := store.CheckSessionRevoke(id, expires); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_session WHERE expires_at < ?`, tv(now().Add(-store.RevokedSessionGrace))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO revoked_session (id, expires_at) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, id, tv(store.Truncate(expires)))
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether a session was revoked.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM revoked_session WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check revoked session: %w", err)
	}
	return true, nil
}

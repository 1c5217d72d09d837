package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// SessionRevoke records a revoked session and purges expired ones.
func (s *Store) SessionRevoke(ctx context.Context, id string, expires time.Time) error {
	if err := store.CheckSessionRevoke(id, expires); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		if _, err := tx.Exec(ctx, `DELETE FROM revoked_session WHERE expires_at < $1`, now().Add(-store.RevokedSessionGrace)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO revoked_session (id, expires_at) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET expires_at = GREATEST(revoked_session.expires_at, EXCLUDED.expires_at)`,
			id, store.Truncate(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether a session was revoked.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var found bool
	err := s.do(ctx, func(int) error {
		var one int
		err := s.pool.QueryRow(ctx, `SELECT 1 FROM revoked_session WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("check revoked session: %w", err)
	}
	return found, nil
}

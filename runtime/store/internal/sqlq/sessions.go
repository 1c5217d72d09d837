package sqlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// SessionRevoke is store.Store.SessionRevoke over a store's Conn: the
// revocation is recorded (keeping the later expiry) and the revocations
// expired past the grace are purged, in one transaction.
func (m Methods) SessionRevoke(ctx context.Context, id string, expires time.Time) error {
	if err := store.CheckSessionRevoke(id, expires); err != nil {
		return err
	}
	d := m.c.D
	err := m.c.InTx(ctx, func(tx Conn) error {
		if err := tx.Exec(ctx, `DELETE FROM revoked_session WHERE expires_at < `+d.Param(1), d.Time(now().Add(-store.RevokedSessionGrace))); err != nil {
			return err
		}
		return tx.Exec(ctx, `INSERT INTO revoked_session (id, expires_at) VALUES (`+params(d, 1, 2)+`)
			ON CONFLICT (id) DO UPDATE SET expires_at = `+d.Greatest+`(revoked_session.expires_at, excluded.expires_at)`,
			id, d.Time(store.Truncate(expires)))
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionRevoked is store.Store.SessionRevoked over a store's Conn.
func (m Methods) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var one int
	err := m.c.QueryRow(ctx, `SELECT 1 FROM revoked_session WHERE id = `+m.c.D.Param(1), []any{id}, &one)
	if errors.Is(err, ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check revoked session: %w", err)
	}
	return true, nil
}

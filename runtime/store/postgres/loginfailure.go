package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// LoginFailureAdd counts one failed login per key.
func (s *Store) LoginFailureAdd(ctx context.Context, p *store.LoginFailureAddParams) ([]store.LoginFailure, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	out := make([]store.LoginFailure, len(p.Keys))
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_failure WHERE last_failure < $1`, p.At.Add(-store.LoginFailureRetention).UTC()); err != nil {
			return err
		}
		for i, k := range p.Keys {
			out[i] = store.LoginFailure{Key: k, LastFailure: p.At}
			if err := tx.QueryRow(ctx, `INSERT INTO login_failure (login_key, failures, last_failure) VALUES ($1, 1, $2)
				ON CONFLICT (login_key) DO UPDATE SET
					failures = CASE WHEN login_failure.last_failure < $3 THEN 1 ELSE login_failure.failures + 1 END,
					last_failure = GREATEST(login_failure.last_failure, EXCLUDED.last_failure)
				RETURNING failures`, k, p.At.UTC(), p.At.Add(-p.Window).UTC()).Scan(&out[i].Failures); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record failed login: %w", err)
	}
	return out, nil
}

// LoginFailureList returns the recorded failures of keys.
func (s *Store) LoginFailureList(ctx context.Context, keys []string) ([]store.LoginFailure, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var out []store.LoginFailure
	err := s.do(ctx, func(int) error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT login_key, failures, last_failure FROM login_failure WHERE login_key = ANY($1)`, keys)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f store.LoginFailure
			var last time.Time
			if err := rows.Scan(&f.Key, &f.Failures, &last); err != nil {
				return err
			}
			f.LastFailure = last.UTC()
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list failed logins: %w", err)
	}
	return out, nil
}

// LoginFailureReset forgets a key's failures.
func (s *Store) LoginFailureReset(ctx context.Context, key string) error {
	err := s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM login_failure WHERE login_key = $1`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset failed logins: %w", err)
	}
	return nil
}

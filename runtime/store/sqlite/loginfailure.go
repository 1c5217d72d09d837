package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// LoginFailureAdd counts one failed login per key.
func (s *Store) LoginFailureAdd(ctx context.Context, p *store.LoginFailureAddParams) ([]store.LoginFailure, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	out := make([]store.LoginFailure, len(p.Keys))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failure WHERE last_failure < ?`, tv(p.At.Add(-store.LoginFailureRetention))); err != nil {
			return err
		}
		for i, k := range p.Keys {
			out[i] = store.LoginFailure{Key: k, LastFailure: p.At}
			if err := tx.QueryRowContext(ctx, `INSERT INTO login_failure (login_key, failures, last_failure) VALUES (?, 1, ?)
				ON CONFLICT (login_key) DO UPDATE SET
					failures = CASE WHEN login_failure.last_failure < ? THEN 1 ELSE login_failure.failures + 1 END,
					last_failure = max(login_failure.last_failure, excluded.last_failure)
				RETURNING failures`, k, tv(p.At), tv(p.At.Add(-p.Window))).Scan(&out[i].Failures); err != nil {
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
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.read.QueryContext(ctx, `SELECT login_key, failures, last_failure FROM login_failure
		WHERE login_key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list failed logins: %w", err)
	}
	defer rows.Close()
	var out []store.LoginFailure
	for rows.Next() {
		var f store.LoginFailure
		var last sql.NullInt64
		if err := rows.Scan(&f.Key, &f.Failures, &last); err != nil {
			return nil, fmt.Errorf("list failed logins: %w", err)
		}
		f.LastFailure = tget(last)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list failed logins: %w", err)
	}
	return out, nil
}

// LoginFailureReset forgets a key's failures.
func (s *Store) LoginFailureReset(ctx context.Context, key string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM login_failure WHERE login_key = ?`, key); err != nil {
		return fmt.Errorf("reset failed logins: %w", err)
	}
	return nil
}

package sqlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// LoginFailureAdd is store.Store.LoginFailureAdd over a store's Conn.
func (m Methods) LoginFailureAdd(ctx context.Context, p *store.LoginFailureAddParams) ([]store.LoginFailure, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	d := c.D
	add := `INSERT INTO login_failure (login_key, failures, last_failure) VALUES (` + d.Param(1) + `, 1, ` + d.Param(2) + `)
		ON CONFLICT (login_key) DO UPDATE SET
			failures = CASE WHEN login_failure.last_failure < ` + d.Param(3) + ` THEN 1 ELSE login_failure.failures + 1 END,
			last_failure = ` + d.Greatest + `(login_failure.last_failure, excluded.last_failure)
		RETURNING failures`
	out := make([]store.LoginFailure, len(p.Keys))
	err := c.InTx(ctx, func(tx Conn) error {
		if err := tx.Exec(ctx, `DELETE FROM login_failure WHERE last_failure < `+d.Param(1), d.Time(p.At.Add(-store.LoginFailureRetention))); err != nil {
			return err
		}
		for i, k := range p.Keys {
			out[i] = store.LoginFailure{Key: k, LastFailure: p.At}
			err := tx.WriteRow(ctx, add, []any{k, d.Time(p.At), d.Time(p.At.Add(-p.Window))},
				func(r Scanner) error { return r.Scan(&out[i].Failures) })
			if err != nil {
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

// LoginFailureList is store.Store.LoginFailureList over a store's Conn.
func (m Methods) LoginFailureList(ctx context.Context, keys []string) ([]store.LoginFailure, error) {
	c := m.c
	if len(keys) == 0 {
		return nil, nil
	}
	w := &where{d: c.D}
	w.few("login_key", keys)
	q := `SELECT login_key, failures, last_failure FROM login_failure WHERE ` + strings.Join(w.conds, " AND ")
	out, err := QueryAll(ctx, c, q, w.args, func(r Scanner) (store.LoginFailure, error) {
		var f store.LoginFailure
		err := r.Scan(&f.Key, &f.Failures, At(&f.LastFailure))
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("list failed logins: %w", err)
	}
	return out, nil
}

// LoginFailureReset is store.Store.LoginFailureReset over a store's Conn.
func (m Methods) LoginFailureReset(ctx context.Context, key string) error {
	c := m.c
	if err := c.Exec(ctx, `DELETE FROM login_failure WHERE login_key = `+c.D.Param(1), key); err != nil {
		return fmt.Errorf("reset failed logins: %w", err)
	}
	return nil
}

package sqlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// UserColumns are the columns of app_user that scanUser reads, in order.
const UserColumns = "username, password_hash, role, created_at, updated_at, active, deactivated_at"

func scanUser(r Scanner) (*store.User, error) {
	var u store.User
	err := r.Scan(&u.Username, &u.PasswordHash, &u.Role, At(&u.CreatedAt), At(&u.UpdatedAt), &u.Active, At(&u.DeactivatedAt))
	return &u, err
}

// UserGet is store.Store.UserGet over a store's Conn.
func (m Methods) UserGet(ctx context.Context, username string) (*store.User, error) {
	return userGet(ctx, m.c, username, "get user", "")
}

// userGet reads a user; lock ends the query (the dialect's ForUpdate in a
// transaction that goes on to change the row).
func userGet(ctx context.Context, c Conn, username, what, lock string) (*store.User, error) {
	var u *store.User
	err := c.ScanRow(ctx, "SELECT "+UserColumns+" FROM app_user WHERE username = "+c.D.Param(1)+lock, []any{username},
		func(r Scanner) error {
			var err error
			u, err = scanUser(r)
			return err
		})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, username, err)
	}
	return u, nil
}

// UserList is store.Store.UserList over a store's Conn.
func (m Methods) UserList(ctx context.Context) ([]*store.User, error) {
	out, err := QueryAll(ctx, m.c, "SELECT "+UserColumns+" FROM app_user ORDER BY username", nil, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UserUpdate is store.Store.UserUpdate over a store's Conn: the user's
// row and, when the update ends them (store.UserUpdateParams.EndsTokens),
// the deletion of its API tokens in one transaction.
func (m Methods) UserUpdate(ctx context.Context, p *store.UserUpdateParams) (*store.User, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var u *store.User
	err := m.c.InTx(ctx, func(tx Conn) error {
		d := tx.D
		var err error
		if u, err = userGet(ctx, tx, p.Username, "update user", d.ForUpdate); err != nil {
			return err
		}
		ends := p.EndsTokens(u.Role)
		if p.PasswordHash != nil {
			u.PasswordHash = *p.PasswordHash
		}
		if p.Role != nil {
			u.Role = *p.Role
		}
		u.UpdatedAt = now()
		if p.Active != nil {
			if u.Active && !*p.Active {
				u.DeactivatedAt = u.UpdatedAt
			}
			u.Active = *p.Active
		}
		if err := tx.Exec(ctx, `UPDATE app_user SET password_hash = `+d.Param(1)+`, role = `+d.Param(2)+
			`, active = `+d.Param(3)+`, deactivated_at = `+d.Param(4)+`, updated_at = `+d.Param(5)+` WHERE username = `+d.Param(6),
			u.PasswordHash, u.Role, d.Bool(u.Active), d.Time(u.DeactivatedAt), d.Time(u.UpdatedAt), u.Username); err != nil {
			return fmt.Errorf("update user %q: %w", p.Username, err)
		}
		if ends {
			if err := tx.Exec(ctx, `DELETE FROM api_token WHERE username = `+d.Param(1), u.Username); err != nil {
				return fmt.Errorf("update user %q: delete its API tokens: %w", p.Username, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

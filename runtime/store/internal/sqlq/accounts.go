package sqlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// userCreateCols are the columns UserCreate sets; active takes its
// default.
const userCreateCols = `username, password_hash, role, created_at, updated_at`

// UserCreate is store.Store.UserCreate over a store's Conn.
func (m Methods) UserCreate(ctx context.Context, p *store.UserCreateParams) (*store.User, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	t := now()
	rctx, retried := TrackRetry(ctx)
	err := c.Exec(rctx, `INSERT INTO app_user (`+userCreateCols+`) VALUES (`+params(c.D, 1, 5)+`)`,
		p.Username, p.PasswordHash, p.Role, c.D.Time(t), c.D.Time(t))
	if err != nil && c.IsUnique(err) {
		// A retry after a lost commit finds its own row: the bcrypt hash
		// is salted, so unique to this call.
		if u, gerr := m.UserGet(ctx, p.Username); *retried && gerr == nil && u.PasswordHash == p.PasswordHash {
			return u, nil
		}
		return nil, fmt.Errorf("user %q: %w", p.Username, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", p.Username, err)
	}
	return &store.User{Username: p.Username, PasswordHash: p.PasswordHash, Role: p.Role, Active: true, CreatedAt: t, UpdatedAt: t}, nil
}

// UserDelete is store.Store.UserDelete over a store's Conn (its tokens go
// with it).
func (m Methods) UserDelete(ctx context.Context, username string) error {
	return ExecOne(ctx, m.c, fmt.Sprintf("user %q", username), `DELETE FROM app_user WHERE username = `+m.c.D.Param(1), username)
}

// tokenCols are the columns scanToken reads, in order.
const tokenCols = `id, name, username, hash, created_at`

func scanToken(r Scanner) (*store.APIToken, error) {
	var t store.APIToken
	err := r.Scan(&t.ID, &t.Name, &t.Username, &t.Hash, At(&t.CreatedAt))
	return &t, err
}

// APITokenCreate is store.Store.APITokenCreate over a store's Conn.
func (m Methods) APITokenCreate(ctx context.Context, p *store.APITokenCreateParams) (*store.APIToken, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var tok *store.APIToken
	rctx, retried := TrackRetry(ctx)
	err := c.WriteRow(rctx, `INSERT INTO api_token (name, username, hash, created_at) VALUES (`+params(c.D, 1, 4)+`) RETURNING `+tokenCols,
		[]any{p.Name, p.Username, p.Hash, c.D.Time(now())}, func(r Scanner) error {
			var err error
			tok, err = scanToken(r)
			return err
		})
	switch {
	case err != nil && c.IsUnique(err):
		// The hash is random, so finding it after a retry means our own
		// insert committed.
		if t, gerr := m.APITokenGetByHash(ctx, p.Hash); *retried && gerr == nil && t.Name == p.Name {
			return t, nil
		}
		return nil, fmt.Errorf("api token %q of user %q: %w", p.Name, p.Username, store.ErrConflict)
	case err != nil && c.IsForeignKey(err):
		return nil, fmt.Errorf("api token %q: user %q: %w", p.Name, p.Username, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("create api token %q: %w", p.Name, err)
	}
	return tok, nil
}

// APITokenGetByHash is store.Store.APITokenGetByHash over a store's Conn.
func (m Methods) APITokenGetByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	c := m.c
	var t *store.APIToken
	err := c.ScanRow(ctx, `SELECT `+tokenCols+` FROM api_token WHERE hash = `+c.D.Param(1), []any{hash}, func(r Scanner) error {
		var err error
		t, err = scanToken(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("api token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get api token: %w", err)
	}
	return t, nil
}

// APITokenList is store.Store.APITokenList over a store's Conn: the
// tokens of one user, or of all for "".
func (m Methods) APITokenList(ctx context.Context, username string) ([]*store.APIToken, error) {
	c := m.c
	out, err := QueryAll(ctx, c, `SELECT `+tokenCols+` FROM api_token WHERE `+c.D.Param(1)+` = '' OR username = `+c.D.Param(1)+`
		ORDER BY username, name`, []any{username}, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// APITokenDelete is store.Store.APITokenDelete over a store's Conn.
func (m Methods) APITokenDelete(ctx context.Context, id int64) error {
	return ExecOne(ctx, m.c, fmt.Sprintf("api token %d", id), `DELETE FROM api_token WHERE id = `+m.c.D.Param(1), id)
}

// WorkerHeartbeat is store.Store.WorkerHeartbeat over a store's Conn.
func (m Methods) WorkerHeartbeat(ctx context.Context, p *store.WorkerHeartbeatParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	queues, err := json.Marshal(p.Queues)
	if err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", p.Consumer, err)
	}
	err = c.Exec(ctx, `INSERT INTO worker (consumer, hostname, queues, running, slots, started_at, last_heartbeat)
		VALUES (`+params(c.D, 1, 7)+`) ON CONFLICT (consumer) DO UPDATE SET hostname = excluded.hostname,
		queues = excluded.queues, running = excluded.running, slots = excluded.slots,
		started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
		p.Consumer, p.Hostname, string(queues), p.Running, p.Slots, c.D.Time(p.StartedAt), c.D.Time(p.At))
	if err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", p.Consumer, err)
	}
	return nil
}

// WorkerList is store.Store.WorkerList over a store's Conn.
func (m Methods) WorkerList(ctx context.Context) ([]*store.Worker, error) {
	out, err := QueryAll(ctx, m.c, `SELECT consumer, hostname, queues, running, slots, started_at, last_heartbeat
		FROM worker ORDER BY consumer`, nil, func(r Scanner) (*store.Worker, error) {
		var w store.Worker
		var queues string
		if err := r.Scan(&w.Consumer, &w.Hostname, &queues, &w.Running, &w.Slots, At(&w.StartedAt), At(&w.LastHeartbeat)); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(queues), &w.Queues); err != nil {
			w.Queues = []string{}
		}
		return &w, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return out, nil
}

// WorkerDelete is store.Store.WorkerDelete over a store's Conn.
func (m Methods) WorkerDelete(ctx context.Context, consumer string) error {
	return ExecOne(ctx, m.c, fmt.Sprintf("worker %q", consumer), `DELETE FROM worker WHERE consumer = `+m.c.D.Param(1), consumer)
}

// WorkerPrune is store.Store.WorkerPrune over a store's Conn.
func (m Methods) WorkerPrune(ctx context.Context, before time.Time) (int, error) {
	c := m.c
	n, err := c.ExecCount(ctx, `DELETE FROM worker WHERE last_heartbeat < `+c.D.Param(1), c.D.Time(store.Truncate(before)))
	if err != nil {
		return 0, fmt.Errorf("prune workers: %w", err)
	}
	return int(n), nil
}

// SchedulerHeartbeat is store.Store.SchedulerHeartbeat over a store's
// Conn.
func (m Methods) SchedulerHeartbeat(ctx context.Context, p *store.SchedulerHeartbeatParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	err := c.Exec(ctx, `INSERT INTO scheduler_heartbeat (id, hostname, started_at, last_heartbeat)
		VALUES (`+params(c.D, 1, 4)+`) ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname,
		started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
		p.ID, p.Hostname, c.D.Time(p.StartedAt), c.D.Time(p.At))
	if err != nil {
		return fmt.Errorf("scheduler %q heartbeat: %w", p.ID, err)
	}
	return nil
}

// SchedulerHeartbeatList is store.Store.SchedulerHeartbeatList over a
// store's Conn: the latest first.
func (m Methods) SchedulerHeartbeatList(ctx context.Context) ([]*store.SchedulerHeartbeat, error) {
	out, err := QueryAll(ctx, m.c, `SELECT id, hostname, started_at, last_heartbeat FROM scheduler_heartbeat
		ORDER BY last_heartbeat DESC, id`, nil, func(r Scanner) (*store.SchedulerHeartbeat, error) {
		var h store.SchedulerHeartbeat
		err := r.Scan(&h.ID, &h.Hostname, At(&h.StartedAt), At(&h.LastHeartbeat))
		return &h, err
	})
	if err != nil {
		return nil, fmt.Errorf("list scheduler heartbeats: %w", err)
	}
	return out, nil
}

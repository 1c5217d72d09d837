package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// userCols are the columns UserCreate sets; active takes its default.
const userCols = `username, password_hash, role, created_at, updated_at`

// UserCreate creates a webserver user.
func (s *Store) UserCreate(ctx context.Context, p *store.UserCreateParams) (*store.User, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	t := now()
	_, err := s.write.ExecContext(ctx, `INSERT INTO app_user (`+userCols+`) VALUES (?, ?, ?, ?, ?)`,
		p.Username, p.PasswordHash, p.Role, tv(t), tv(t))
	if isUnique(err) {
		return nil, fmt.Errorf("user %q: %w", p.Username, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", p.Username, err)
	}
	return &store.User{Username: p.Username, PasswordHash: p.PasswordHash, Role: p.Role, Active: true, CreatedAt: t, UpdatedAt: t}, nil
}

// UserDelete deletes a user and its tokens.
func (s *Store) UserDelete(ctx context.Context, username string) error {
	return s.execOne(ctx, fmt.Sprintf("user %q", username), `DELETE FROM app_user WHERE username = ?`, username)
}

const tokenCols = `id, name, username, hash, created_at`

func scanToken(r scanner) (*store.APIToken, error) {
	var t store.APIToken
	var ca sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &t.Username, &t.Hash, &ca); err != nil {
		return nil, err
	}
	t.CreatedAt = tget(ca)
	return &t, nil
}

// APITokenCreate stores a new API token's hash.
func (s *Store) APITokenCreate(ctx context.Context, p *store.APITokenCreateParams) (*store.APIToken, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	t := now()
	var id int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO api_token (name, username, hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		p.Name, p.Username, p.Hash, tv(t)).Scan(&id)
	switch {
	case isUnique(err):
		return nil, fmt.Errorf("api token %q of user %q: %w", p.Name, p.Username, store.ErrConflict)
	case isForeignKey(err):
		return nil, fmt.Errorf("api token %q: user %q: %w", p.Name, p.Username, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("create api token %q: %w", p.Name, err)
	}
	return &store.APIToken{ID: id, Name: p.Name, Username: p.Username, Hash: p.Hash, CreatedAt: t}, nil
}

// APITokenGetByHash returns the token with the given hash.
func (s *Store) APITokenGetByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_token WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("api token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get api token: %w", err)
	}
	return t, nil
}

// APITokenList returns the tokens of one user, or of all.
func (s *Store) APITokenList(ctx context.Context, username string) ([]*store.APIToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_token WHERE ? = '' OR username = ?
		ORDER BY username, name`, username, username)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// APITokenDelete deletes a token.
func (s *Store) APITokenDelete(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("api token %d", id), `DELETE FROM api_token WHERE id = ?`, id)
}

// WorkerHeartbeat records a worker's state.
func (s *Store) WorkerHeartbeat(ctx context.Context, p *store.WorkerHeartbeatParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	queues, err := json.Marshal(p.Queues)
	if err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", p.Consumer, err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO worker (consumer, hostname, queues, running, slots, started_at, last_heartbeat)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (consumer) DO UPDATE SET hostname = excluded.hostname,
		queues = excluded.queues, running = excluded.running, slots = excluded.slots,
		started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
		p.Consumer, p.Hostname, string(queues), p.Running, p.Slots, tv(p.StartedAt), tv(p.At))
	if err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", p.Consumer, err)
	}
	return nil
}

// WorkerList returns every worker that has reported.
func (s *Store) WorkerList(ctx context.Context) ([]*store.Worker, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT consumer, hostname, queues, running, slots, started_at, last_heartbeat
		FROM worker ORDER BY consumer`)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	defer rows.Close()
	var out []*store.Worker
	for rows.Next() {
		var w store.Worker
		var queues string
		var sa, hb sql.NullInt64
		if err := rows.Scan(&w.Consumer, &w.Hostname, &queues, &w.Running, &w.Slots, &sa, &hb); err != nil {
			return nil, fmt.Errorf("list workers: %w", err)
		}
		if err := json.Unmarshal([]byte(queues), &w.Queues); err != nil {
			w.Queues = []string{}
		}
		w.StartedAt, w.LastHeartbeat = tget(sa), tget(hb)
		out = append(out, &w)
	}
	return out, rows.Err()
}

// WorkerDelete forgets a worker.
func (s *Store) WorkerDelete(ctx context.Context, consumer string) error {
	return s.execOne(ctx, fmt.Sprintf("worker %q", consumer), `DELETE FROM worker WHERE consumer = ?`, consumer)
}

// WorkerPrune forgets workers silent since before the given time.
func (s *Store) WorkerPrune(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM worker WHERE last_heartbeat < ?`, tv(store.Truncate(before)))
	if err != nil {
		return 0, fmt.Errorf("prune workers: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SchedulerHeartbeat records a scheduler's heartbeat.
func (s *Store) SchedulerHeartbeat(ctx context.Context, p *store.SchedulerHeartbeatParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO scheduler_heartbeat (id, hostname, started_at, last_heartbeat)
		VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname,
		started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
		p.ID, p.Hostname, tv(p.StartedAt), tv(p.At))
	if err != nil {
		return fmt.Errorf("scheduler %q heartbeat: %w", p.ID, err)
	}
	return nil
}

// SchedulerHeartbeatList returns every scheduler's last heartbeat.
func (s *Store) SchedulerHeartbeatList(ctx context.Context) ([]*store.SchedulerHeartbeat, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, hostname, started_at, last_heartbeat FROM scheduler_heartbeat
		ORDER BY last_heartbeat DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list scheduler heartbeats: %w", err)
	}
	defer rows.Close()
	var out []*store.SchedulerHeartbeat
	for rows.Next() {
		var h store.SchedulerHeartbeat
		var sa, hb sql.NullInt64
		if err := rows.Scan(&h.ID, &h.Hostname, &sa, &hb); err != nil {
			return nil, fmt.Errorf("list scheduler heartbeats: %w", err)
		}
		h.StartedAt, h.LastHeartbeat = tget(sa), tget(hb)
		out = append(out, &h)
	}
	return out, rows.Err()
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	retried := false
	err := s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		_, err := s.pool.Exec(ctx, `INSERT INTO app_user (`+userCols+`) VALUES ($1, $2, $3, $4, $5)`,
			p.Username, p.PasswordHash, p.Role, t, t)
		return err
	})
	if isUnique(err) {
		// A retry after a lost commit finds its own row: the bcrypt hash
		// is salted, so unique to this call.
		if u, gerr := s.UserGet(ctx, p.Username); retried && gerr == nil && u.PasswordHash == p.PasswordHash {
			return u, nil
		}
		return nil, fmt.Errorf("user %q: %w", p.Username, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", p.Username, err)
	}
	return &store.User{Username: p.Username, PasswordHash: p.PasswordHash, Role: p.Role, Active: true, CreatedAt: t, UpdatedAt: t}, nil
}

// UserDelete deletes a user and its tokens.
func (s *Store) UserDelete(ctx context.Context, username string) error {
	return s.execOne(ctx, fmt.Sprintf("user %q", username), `DELETE FROM app_user WHERE username = $1`, username)
}

const tokenCols = `id, name, username, hash, created_at`

func scanToken(r pgx.Row) (*store.APIToken, error) {
	var t store.APIToken
	var ca *time.Time
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
	var tok *store.APIToken
	retried := false
	err := s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		var err error
		tok, err = scanToken(s.pool.QueryRow(ctx, `INSERT INTO api_token (name, username, hash, created_at)
			VALUES ($1, $2, $3, $4) RETURNING `+tokenCols, p.Name, p.Username, p.Hash, now()))
		return err
	})
	switch {
	case isUnique(err):
		// The hash is random, so finding it after a retry means our own
		// insert committed.
		if t, gerr := s.APITokenGetByHash(ctx, p.Hash); retried && gerr == nil && t.Name == p.Name {
			return t, nil
		}
		return nil, fmt.Errorf("api token %q of user %q: %w", p.Name, p.Username, store.ErrConflict)
	case isForeignKey(err):
		return nil, fmt.Errorf("api token %q: user %q: %w", p.Name, p.Username, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("create api token %q: %w", p.Name, err)
	}
	return tok, nil
}

// APITokenGetByHash returns the token with the given hash.
func (s *Store) APITokenGetByHash(ctx context.Context, hash string) (*store.APIToken, error) {
	var t *store.APIToken
	err := s.do(ctx, func(int) error {
		var err error
		t, err = scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_token WHERE hash = $1`, hash))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("api token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get api token: %w", err)
	}
	return t, nil
}

// APITokenList returns the tokens of one user, or of all.
func (s *Store) APITokenList(ctx context.Context, username string) ([]*store.APIToken, error) {
	var out []*store.APIToken
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_token WHERE $1 = '' OR username = $1
			ORDER BY username, name`, username)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanToken)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// APITokenDelete deletes a token.
func (s *Store) APITokenDelete(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("api token %d", id), `DELETE FROM api_token WHERE id = $1`, id)
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
	err = s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO worker (consumer, hostname, queues, running, slots, started_at, last_heartbeat)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consumer) DO UPDATE SET hostname = excluded.hostname,
			queues = excluded.queues, running = excluded.running, slots = excluded.slots,
			started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
			p.Consumer, p.Hostname, string(queues), p.Running, p.Slots, tv(p.StartedAt), p.At)
		return err
	})
	if err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", p.Consumer, err)
	}
	return nil
}

func scanWorker(r pgx.Row) (*store.Worker, error) {
	var w store.Worker
	var queues string
	var sa, hb *time.Time
	if err := r.Scan(&w.Consumer, &w.Hostname, &queues, &w.Running, &w.Slots, &sa, &hb); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(queues), &w.Queues); err != nil {
		w.Queues = []string{}
	}
	w.StartedAt, w.LastHeartbeat = tget(sa), tget(hb)
	return &w, nil
}

// WorkerList returns every worker that has reported.
func (s *Store) WorkerList(ctx context.Context) ([]*store.Worker, error) {
	var out []*store.Worker
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT consumer, hostname, queues, running, slots, started_at, last_heartbeat
			FROM worker ORDER BY consumer`)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanWorker)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return out, nil
}

// WorkerDelete forgets a worker.
func (s *Store) WorkerDelete(ctx context.Context, consumer string) error {
	return s.execOne(ctx, fmt.Sprintf("worker %q", consumer), `DELETE FROM worker WHERE consumer = $1`, consumer)
}

// WorkerPrune forgets workers silent since before the given time.
func (s *Store) WorkerPrune(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM worker WHERE last_heartbeat < $1`, store.Truncate(before))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune workers: %w", err)
	}
	return int(n), nil
}

// SchedulerHeartbeat records a scheduler's heartbeat.
func (s *Store) SchedulerHeartbeat(ctx context.Context, p *store.SchedulerHeartbeatParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	err := s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO scheduler_heartbeat (id, hostname, started_at, last_heartbeat)
			VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname,
			started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat`,
			p.ID, p.Hostname, tv(p.StartedAt), p.At)
		return err
	})
	if err != nil {
		return fmt.Errorf("scheduler %q heartbeat: %w", p.ID, err)
	}
	return nil
}

// SchedulerHeartbeatList returns every scheduler's last heartbeat.
func (s *Store) SchedulerHeartbeatList(ctx context.Context) ([]*store.SchedulerHeartbeat, error) {
	var out []*store.SchedulerHeartbeat
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT id, hostname, started_at, last_heartbeat FROM scheduler_heartbeat
			ORDER BY last_heartbeat DESC, id`)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, func(r pgx.Row) (*store.SchedulerHeartbeat, error) {
			var h store.SchedulerHeartbeat
			var sa, hb *time.Time
			if err := r.Scan(&h.ID, &h.Hostname, &sa, &hb); err != nil {
				return nil, err
			}
			h.StartedAt, h.LastHeartbeat = tget(sa), tget(hb)
			return &h, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list scheduler heartbeats: %w", err)
	}
	return out, nil
}

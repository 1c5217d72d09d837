package sql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starflow-dev/starflow/operators"
)

// Defaults of Pools.
const (
	// DefaultMaxConnsPerPool bounds the connections of one pool.
	DefaultMaxConnsPerPool = 4
	// DefaultMaxIdle is how long an unused pooled connection stays open.
	DefaultMaxIdle = 5 * time.Minute
	// DefaultMaxLifetime is how long a pooled connection is used at most.
	DefaultMaxLifetime = 30 * time.Minute
)

// resetSession runs before a pooled connection goes back to its pool, so
// that the next task starts from a clean session, as a new connection
// would: settings, temporary tables, LISTENs and advisory locks are
// dropped. Prepared statements stay (pgx tracks them).
const resetSession = "RESET ALL; DISCARD TEMP; UNLISTEN *; SELECT pg_advisory_unlock_all()"

// Pools keeps one bounded pool of PostgreSQL connections per connection
// id and configuration, shared by the sql operator and the sql module of
// task functions of one process. The program that runs tries owns it (a
// worker, `starflow test-dag`) and closes it when it stops. A nil *Pools
// is valid: every session then opens a connection of its own. It is safe
// for concurrent use.
type Pools struct {
	// MaxConns bounds the connections of each pool; zero means
	// DefaultMaxConnsPerPool. Set it before the first use.
	MaxConns int32

	mu     sync.Mutex
	pools  map[string]*pgxpool.Pool // by conn id + "\x00" + connection string
	byConn map[string]string        // the current key of each conn id
	closed bool
	dials  atomic.Int64
}

// NewPools returns an empty set of pools with connections bounded by
// maxConns per pool (zero: DefaultMaxConnsPerPool).
func NewPools(maxConns int) *Pools {
	return &Pools{MaxConns: int32(maxConns)}
}

// Dials counts the connections the pools have opened so far.
func (p *Pools) Dials() int64 {
	if p == nil {
		return 0
	}
	return p.dials.Load()
}

// Close closes every pool; it waits for the connections in use to be
// released. Sessions asked for afterwards fail.
func (p *Pools) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	pools := p.pools
	p.pools, p.byConn, p.closed = nil, nil, true
	p.mu.Unlock()
	for _, pool := range pools {
		pool.Close()
	}
}

// errClosed is the error of a session asked for after Close.
var errClosed = errors.New("the sql connection pools are closed (the worker is stopping)")

// pool returns the pool of a connection, creating it on first use. A
// connection whose configuration changed (a new password) gets a new
// pool; the old one is closed once its connections are released.
func (p *Pools) pool(conn *operators.Connection, cfg *pgx.ConnConfig) (*pgxpool.Pool, error) {
	key := conn.ID + "\x00" + cfg.ConnString()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	if pool, ok := p.pools[key]; ok {
		return pool, nil
	}
	pcfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pcfg.ConnConfig = cfg
	pcfg.MaxConns = p.MaxConns
	if pcfg.MaxConns <= 0 {
		pcfg.MaxConns = DefaultMaxConnsPerPool
	}
	pcfg.MinConns = 0
	pcfg.MaxConnIdleTime = DefaultMaxIdle
	pcfg.MaxConnLifetime = DefaultMaxLifetime
	pcfg.AfterConnect = func(context.Context, *pgx.Conn) error {
		p.dials.Add(1)
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %s", conn.ID, scrub(err.Error(), conn.Password))
	}
	if p.pools == nil {
		p.pools, p.byConn = map[string]*pgxpool.Pool{}, map[string]string{}
	}
	if old, ok := p.byConn[conn.ID]; ok && old != key {
		if stale := p.pools[old]; stale != nil {
			delete(p.pools, old)
			go stale.Close()
		}
	}
	p.pools[key], p.byConn[conn.ID] = pool, key
	return pool, nil
}

// Session returns a connection to the PostgreSQL database of connection
// connID, read through c.Connections: a pooled one when p is not nil,
// otherwise a new one. release gives it back (resetting the session) or
// closes it; call it exactly once. Errors never contain the password.
func (p *Pools) Session(ctx context.Context, c *operators.Call, connID string) (pc *pgx.Conn, release func(), err error) {
	if p == nil {
		pc, err := Connect(ctx, c, connID)
		if err != nil {
			return nil, nil, err
		}
		return pc, func() { closeConn(pc) }, nil
	}
	conn, cfg, err := connectionConfig(ctx, c, connID)
	if err != nil {
		return nil, nil, err
	}
	pool, err := p.pool(conn, cfg)
	if err != nil {
		return nil, nil, err
	}
	pooled, err := pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("connection %q: connect to %s: %s", connID, describeConn(conn), scrub(err.Error(), conn.Password))
	}
	return pooled.Conn(), func() { giveBack(pooled) }, nil
}

// giveBack resets a pooled connection's session and releases it; a
// connection that cannot be reset, or is inside a transaction, is closed
// instead, and the pool opens a new one when needed.
func giveBack(pooled *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pc := pooled.Conn()
	if !pc.IsClosed() {
		if pc.PgConn().TxStatus() != 'I' {
			_ = pc.Close(ctx)
		} else if _, err := pc.PgConn().Exec(ctx, resetSession).ReadAll(); err != nil {
			_ = pc.Close(ctx)
		}
	}
	pooled.Release()
}

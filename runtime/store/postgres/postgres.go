package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
	"github.com/starflow-dev/starflow/runtime/store/migrations"
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	sqlq.Methods // the methods written once for both stores
	url          string
	pool         *pgxpool.Pool
	sqldb        *sql.DB // the same pool, for goose
	log          *slog.Logger
	mig          *migrations.Provider
	retry        store.Backoff
}

var _ store.Store = (*Store)(nil)

// opRetry is how operations retry a lost connection: about 6 seconds in
// all, enough for a pool to reconnect or a server to fail over.
var opRetry = store.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second, Attempts: 8}

// Open connects to the database named by rawURL and brings its schema in
// line with opts.Migrate. An unreachable server is an error naming the URL
// without its password; daemons wrap Open in store.OpenWithRetry.
func Open(ctx context.Context, rawURL string, opts store.Options) (*Store, error) {
	switch store.URLScheme(rawURL) {
	case "postgres", "postgresql":
	default:
		return nil, fmt.Errorf("not a postgres:// URL: %s: %w", store.RedactURL(rawURL), store.ErrInvalid)
	}
	redacted := store.RedactURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL URL %s: %v: %w", redacted, redactErr(err, rawURL), store.ErrInvalid)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "starflow"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL %s: %v", redacted, redactErr(err, rawURL))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL %s: %v", redacted, redactErr(err, rawURL))
	}
	s := &Store{url: redacted, pool: pool, sqldb: stdlib.OpenDBFromPool(pool),
		log: opts.LoggerOrDefault(), retry: opRetry}
	s.Methods = sqlq.NewMethods(s.conn()).WithSecrets(opts.Secrets)
	s.mig, err = migrations.NewProvider(ctx, migrations.Postgres, s.sqldb, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.mig.Ensure(ctx, opts.Migrate); err != nil {
		s.Close()
		return nil, fmt.Errorf("PostgreSQL %s: %w", redacted, err)
	}
	return s, nil
}

// redactErr returns err's message with the URL's password removed, for
// drivers that quote what they were given.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if i := strings.Index(rawURL, "://"); i >= 0 {
		rest := rawURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 && c+1 < at {
				msg = strings.ReplaceAll(msg, rest[c+1:at], "xxxxx")
			}
		}
	}
	return msg
}

// Pool returns the connection pool, for tools and tests that need raw SQL.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() error {
	err := s.sqldb.Close()
	s.pool.Close()
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL %s: %w", s.url, err)
	}
	return nil
}

// SchemaStatus reports the schema version.
func (s *Store) SchemaStatus(ctx context.Context) (store.SchemaStatus, error) {
	return s.mig.Status(ctx)
}

// Migrate upgrades the schema.
func (s *Store) Migrate(ctx context.Context) error {
	versions, err := s.mig.Up(ctx)
	if err != nil {
		return err
	}
	if len(versions) > 0 {
		s.log.InfoContext(ctx, "migrated metadata database", "url", s.url, "versions", versions)
	}
	return nil
}

// transient reports whether err means the connection was lost or the
// server asked to retry, so that the operation may be tried again.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutdown, crash, cannot connect now
			return true
		case pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection reset")
}

// do runs fn until it succeeds, fails for good, or the retry budget is
// spent. attempt is 0 on the first call.
func (s *Store) do(ctx context.Context, fn func(attempt int) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = fn(attempt)
		if !transient(err) || attempt+1 >= s.retry.Attempts {
			return err
		}
		sqlq.NoteRetry(ctx)
		d := s.retry.Delay(attempt + 1)
		s.log.WarnContext(ctx, "metadata database operation failed, retrying", "err", err, "attempt", attempt+1, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// inTx runs fn in a transaction, retried as a whole on a lost connection.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx, attempt int) error) error {
	return s.do(ctx, func(attempt int) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx, attempt) })
	})
}

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

// tv encodes a time: NULL for the zero time.
func tv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func tget(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func now() time.Time { return store.Truncate(time.Now()) }

func nz[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func strs[T ~string](xs []T) []string {
	if len(xs) == 0 {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func scanAll[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// conn is the store as sqlq.Conn: statements on the pool, retried on a
// lost connection.
func (s *Store) conn() sqlq.Conn {
	return sqlq.Conn{
		D: sqlq.Postgres,
		ExecFn: func(ctx context.Context, q string, args []any) (int64, error) {
			var n int64
			err := s.do(ctx, func(int) error {
				tag, err := s.pool.Exec(ctx, q, args...)
				n = tag.RowsAffected()
				return err
			})
			return n, err
		},
		QueryFn: func(ctx context.Context, q string, args []any, _ bool, fn func(sqlq.Rows) error) error {
			return s.do(ctx, func(int) error { return queryRows(ctx, s.pool, q, args, fn) })
		},
		TxFn: func(ctx context.Context, fn func(sqlq.Conn) error) error {
			return s.inTx(ctx, func(tx pgx.Tx, _ int) error { return fn(txConn(tx)) })
		},
		IsForeignKey: isForeignKey,
		IsUnique:     isUnique,
	}
}

// txConn is a transaction as sqlq.Conn: its statements are not retried on
// their own (inTx retries the whole).
func txConn(tx pgx.Tx) sqlq.Conn {
	return sqlq.Conn{
		D: sqlq.Postgres,
		ExecFn: func(ctx context.Context, q string, args []any) (int64, error) {
			tag, err := tx.Exec(ctx, q, args...)
			return tag.RowsAffected(), err
		},
		QueryFn: func(ctx context.Context, q string, args []any, _ bool, fn func(sqlq.Rows) error) error {
			return queryRows(ctx, tx, q, args, fn)
		},
		IsForeignKey: isForeignKey,
		IsUnique:     isUnique,
	}
}

// queryRows runs q on db (the pool or a transaction) and passes its rows
// to fn.
func queryRows(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, q string, args []any, fn func(sqlq.Rows) error) error {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := fn(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

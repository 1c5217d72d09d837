package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
	"github.com/starflow-dev/starflow/runtime/store/migrations"
)

// BusyTimeout is how long a statement waits for another process's lock.
const BusyTimeout = 10 * time.Second

// Store is the SQLite implementation of store.Store.
type Store struct {
	sqlq.Methods // the methods written once for both stores
	url          string
	path         string
	write        *sql.DB // exactly one connection: SQLite has one writer
	read         *sql.DB // read-only pool; the same as write in memory
	log          *slog.Logger
	mig          *migrations.Provider

	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt // prepared statements, by pool and text
	// txWanted are the statements that transactions ran unprepared (a
	// transaction cannot prepare on the writer pool: it holds its one
	// connection); the next transaction prepares them before it begins.
	txWanted map[string]bool
}

// maxStmts bounds the prepared statements kept: statements whose text
// varies with their arguments (a list of n placeholders) beyond it run
// unprepared.
const maxStmts = 512

// stmtKey names a prepared statement: its text on the writer or the
// readers.
type stmtKey struct {
	db *sql.DB
	q  string
}

var _ store.Store = (*Store)(nil)

// Path returns the database file named by a sqlite:// URL, or ":memory:".
// A bare path without a scheme is accepted too.
func Path(rawURL string) (string, error) {
	p := rawURL
	if store.URLScheme(rawURL) != "" {
		if store.URLScheme(rawURL) != "sqlite" {
			return "", fmt.Errorf("not a sqlite:// URL: %s: %w", store.RedactURL(rawURL), store.ErrInvalid)
		}
		p = rawURL[len("sqlite://"):]
	}
	if p == "" {
		return "", fmt.Errorf("sqlite URL %q names no file (want sqlite:///path/to/starflow.db or sqlite://:memory:): %w", rawURL, store.ErrInvalid)
	}
	if strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("sqlite URL %q: the file name must not contain '?' or '#': %w", rawURL, store.ErrInvalid)
	}
	return p, nil
}

// Open opens (creating when needed) the SQLite database named by rawURL
// and brings its schema in line with opts.Migrate.
func Open(ctx context.Context, rawURL string, opts store.Options) (*Store, error) {
	path, err := Path(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{url: rawURL, path: path, log: opts.LoggerOrDefault()}
	s.Methods = sqlq.NewMethods(s.conn()).WithSecrets(opts.Secrets)
	busy := fmt.Sprintf("_busy_timeout=%d", BusyTimeout.Milliseconds())
	if path == ":memory:" {
		// A private in-memory database lives as long as its one
		// connection, so it must never be closed by the pool.
		var b [8]byte
		_, _ = rand.Read(b[:])
		db, err := sql.Open("sqlite", "file:/starflow-"+hex.EncodeToString(b[:])+"?vfs=memdb&_foreign_keys=1&_txlock=immediate&"+busy)
		if err != nil {
			return nil, fmt.Errorf("open in-memory SQLite: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.write, s.read = db, db
	} else {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
		common := path + "?" + busy + "&_foreign_keys=1&_synchronous=NORMAL"
		w, err := sql.Open("sqlite", common+"&_journal_mode=WAL&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		// The writer connection creates the file and switches it to WAL
		// before any reader opens it.
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		r, err := sql.Open("sqlite", common+"&_query_only=1")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		s.write, s.read = w, r
	}
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	s.mig, err = migrations.NewProvider(ctx, migrations.SQLite, s.write, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.withMigrationLock(ctx, func() error { return s.mig.Ensure(ctx, opts.Migrate) }); err != nil {
		s.Close()
		return nil, fmt.Errorf("SQLite %s: %w", path, err)
	}
	return s, nil
}

// DB returns the writer connection pool (one connection), for tools and
// tests that need raw SQL.
func (s *Store) DB() *sql.DB { return s.write }

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping SQLite %s: %w", s.path, err)
	}
	return nil
}

// SchemaStatus reports the schema version.
func (s *Store) SchemaStatus(ctx context.Context) (store.SchemaStatus, error) {
	return s.mig.Status(ctx)
}

// Migrate upgrades the schema.
func (s *Store) Migrate(ctx context.Context) error {
	var versions []int64
	err := s.withMigrationLock(ctx, func() error {
		var err error
		versions, err = s.mig.Up(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if len(versions) > 0 {
		s.log.InfoContext(ctx, "migrated metadata database", "path", s.path, "versions", versions)
	}
	return nil
}

// withMigrationLock runs fn holding the database's migration lock (see
// lockMigrations); an in-memory database needs none.
func (s *Store) withMigrationLock(ctx context.Context, fn func() error) error {
	if s.path == ":memory:" {
		return fn()
	}
	unlock, err := lockMigrations(ctx, s.path)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// stmt returns the statement q prepared once on the writer connection
// (preparing is a large part of a short statement's cost in SQLite). Call
// it outside a transaction the first time: preparing needs the connection
// free; a transaction binds the statement with tx.StmtContext.
func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return s.stmtOn(ctx, s.write, q)
}

// readStmt returns the statement q prepared on the reader pool (database/sql
// prepares it again on each connection that runs it, once).
func (s *Store) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return s.stmtOn(ctx, s.read, q)
}

func (s *Store) stmtOn(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	k := stmtKey{db, q}
	s.stmtMu.Lock()
	st := s.stmts[k]
	s.stmtMu.Unlock()
	if st != nil {
		return st, nil
	}
	// Not under stmtMu: preparing waits for the writer connection, which
	// a transaction that itself looks up statements may hold.
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare statement: %w", err)
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if prev := s.stmts[k]; prev != nil {
		st.Close()
		return prev, nil
	}
	if s.stmts == nil {
		s.stmts = map[stmtKey]*sql.Stmt{}
	}
	s.stmts[k] = st
	return st, nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.prepareWanted(ctx)
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// cached returns the statement q prepared on db, preparing it (outside a
// transaction) while fewer than maxStmts are kept; nil when it runs
// unprepared.
func (s *Store) cached(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	s.stmtMu.Lock()
	st, n := s.stmts[stmtKey{db, q}], len(s.stmts)
	s.stmtMu.Unlock()
	if st != nil || n >= maxStmts {
		return st
	}
	st, err := s.stmtOn(ctx, db, q)
	if err != nil {
		return nil // the statement reports its error when it runs
	}
	return st
}

// txStmt returns q prepared on the writer, bound to tx, when it is kept;
// otherwise it notes q for the next transaction to prepare and returns nil.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	s.stmtMu.Lock()
	st := s.stmts[stmtKey{s.write, q}]
	if st == nil && len(s.stmts)+len(s.txWanted) < maxStmts {
		if s.txWanted == nil {
			s.txWanted = map[string]bool{}
		}
		s.txWanted[q] = true
	}
	s.stmtMu.Unlock()
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// prepareWanted prepares the statements transactions noted (txStmt),
// before a transaction takes the writer connection.
func (s *Store) prepareWanted(ctx context.Context) {
	s.stmtMu.Lock()
	if len(s.txWanted) == 0 {
		s.stmtMu.Unlock()
		return
	}
	wanted := s.txWanted
	s.txWanted = nil
	s.stmtMu.Unlock()
	for q := range wanted {
		_, _ = s.stmtOn(ctx, s.write, q) // a statement that fails to prepare fails when it runs
	}
}

// Time encoding: INTEGER microseconds, NULL for the zero time.

func tv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func tget(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

type scanner interface{ Scan(dest ...any) error }

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func now() time.Time { return store.Truncate(time.Now()) }

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// createPrivate creates the database file, when it does not exist yet,
// readable and writable by its owner only: it holds the connections'
// sealed secrets and the users' password hashes. SQLite gives its -wal
// and -shm files the database file's permissions.
func createPrivate(path string) error {
	f, err := os.OpenFile(filepath.Clean(path), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("create SQLite %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create SQLite %s: %w", path, err)
	}
	return nil
}

// conn is the store as sqlq.Conn: writes on the one writer connection,
// reads on the read pool.
func (s *Store) conn() sqlq.Conn {
	return sqlq.Conn{
		D: sqlq.SQLite,
		ExecFn: func(ctx context.Context, q string, args []any) (int64, error) {
			if st := s.cached(ctx, s.write, q); st != nil {
				return execCount(st.ExecContext(ctx, args...))
			}
			return execCount(s.write.ExecContext(ctx, q, args...))
		},
		QueryFn: func(ctx context.Context, q string, args []any, write bool, fn func(sqlq.Rows) error) error {
			db := s.read
			if write {
				db = s.write
			}
			if st := s.cached(ctx, db, q); st != nil {
				return queryRows(fn)(st.QueryContext(ctx, args...))
			}
			return queryRows(fn)(db.QueryContext(ctx, q, args...))
		},
		TxFn: func(ctx context.Context, fn func(sqlq.Conn) error) error {
			return s.inTx(ctx, func(tx *sql.Tx) error { return fn(s.txConn(tx)) })
		},
		IsForeignKey: isForeignKey,
		IsUnique:     isUnique,
	}
}

// txConn is a write transaction as sqlq.Conn.
func (s *Store) txConn(tx *sql.Tx) sqlq.Conn {
	return sqlq.Conn{
		D: sqlq.SQLite,
		ExecFn: func(ctx context.Context, q string, args []any) (int64, error) {
			if st := s.txStmt(ctx, tx, q); st != nil {
				return execCount(st.ExecContext(ctx, args...))
			}
			return execCount(tx.ExecContext(ctx, q, args...))
		},
		QueryFn: func(ctx context.Context, q string, args []any, _ bool, fn func(sqlq.Rows) error) error {
			if st := s.txStmt(ctx, tx, q); st != nil {
				return queryRows(fn)(st.QueryContext(ctx, args...))
			}
			return queryRows(fn)(tx.QueryContext(ctx, q, args...))
		},
		IsForeignKey: isForeignKey,
		IsUnique:     isUnique,
	}
}

func execCount(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// queryRows passes the rows of a query to fn and closes them.
func queryRows(fn func(sqlq.Rows) error) func(*sql.Rows, error) error {
	return func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := fn(rows); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return rows.Err()
	}
}

package sqlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// ErrNoRows is what Conn.QueryRow and Conn.ScanRow return (wrapped) when
// their query found no row, whatever the driver's own error for it.
var ErrNoRows = errors.New("no rows")

// Scanner is a row to scan: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows are the rows of a query: *sql.Rows and pgx.Rows. The store closes
// them after the function that reads them returns.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Conn is how a store runs statements, on its connections or in one of
// its transactions: what the methods of the two stores differ by besides
// their SQL (the driver, the retries, the error classes), with the SQL's
// differences in D. Methods written once over it serve both stores.
type Conn struct {
	// D is the store's SQL dialect.
	D Dialect
	// ExecFn runs one write statement, retried as the store retries, and
	// returns the number of rows it changed.
	ExecFn func(ctx context.Context, q string, args []any) (int64, error)
	// QueryFn runs a query (write: a write statement with RETURNING, run
	// where the store writes) and passes its rows to fn, again from the
	// start when the store retries the query. The store closes the rows
	// and reports their error.
	QueryFn func(ctx context.Context, q string, args []any, write bool, fn func(Rows) error) error
	// TxFn runs fn in one write transaction, given a Conn of that
	// transaction; the store may run it again after a lost connection
	// (NoteRetry marks it). Nil on a Conn of a transaction.
	TxFn func(ctx context.Context, fn func(tx Conn) error) error
	// IsForeignKey reports whether err is a foreign-key violation.
	IsForeignKey func(err error) bool
	// IsUnique reports whether err is a unique or primary key violation.
	IsUnique func(err error) bool
}

// Exec runs one write statement.
func (c Conn) Exec(ctx context.Context, q string, args ...any) error {
	_, err := c.ExecFn(ctx, q, args)
	return err
}

// ExecCount runs one write statement and returns the number of rows it
// changed.
func (c Conn) ExecCount(ctx context.Context, q string, args ...any) (int64, error) {
	return c.ExecFn(ctx, q, args)
}

// QueryRow runs a query of one row and scans it into dest; an error
// wrapping ErrNoRows when it found none.
func (c Conn) QueryRow(ctx context.Context, q string, args []any, dest ...any) error {
	return c.ScanRow(ctx, q, args, func(r Scanner) error { return r.Scan(dest...) })
}

// ScanRow runs a query of one row and passes it to scan; an error
// wrapping ErrNoRows when it found none.
func (c Conn) ScanRow(ctx context.Context, q string, args []any, scan func(Scanner) error) error {
	return c.row(ctx, q, args, false, scan)
}

// WriteRow runs a write statement returning one row (RETURNING) and
// passes the row to scan; an error wrapping ErrNoRows when it changed
// none.
func (c Conn) WriteRow(ctx context.Context, q string, args []any, scan func(Scanner) error) error {
	return c.row(ctx, q, args, true, scan)
}

func (c Conn) row(ctx context.Context, q string, args []any, write bool, scan func(Scanner) error) error {
	return c.QueryFn(ctx, q, args, write, func(rows Rows) error {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w", ErrNoRows)
		}
		return scan(rows)
	})
}

// Query runs a query and passes each row to each; start is called before
// the first row of each attempt (the store may retry the query), to reset
// what each collects.
func (c Conn) Query(ctx context.Context, q string, args []any, start func(), each func(Scanner) error) error {
	return c.QueryFn(ctx, q, args, false, func(rows Rows) error {
		if start != nil {
			start()
		}
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// InTx runs fn in one write transaction; on a Conn of a transaction, in
// that transaction.
func (c Conn) InTx(ctx context.Context, fn func(tx Conn) error) error {
	if c.TxFn == nil {
		return fn(c)
	}
	return c.TxFn(ctx, fn)
}

// QueryAll runs a query and returns its rows as scan reads them: nil when
// there are none.
func QueryAll[T any](ctx context.Context, c Conn, q string, args []any, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	err := c.Query(ctx, q, args, func() { out = nil }, func(r Scanner) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// QueryStrings runs a query of one text column and returns its values.
func QueryStrings(ctx context.Context, c Conn, q string, args ...any) ([]string, error) {
	return QueryAll(ctx, c, q, args, func(r Scanner) (string, error) {
		var s string
		err := r.Scan(&s)
		return s, err
	})
}

// Methods are the methods of store.Store written once over a store's
// Conn; both stores embed them.
type Methods struct {
	c       Conn
	secrets secrets.Cipher
}

// NewMethods returns the methods over c.
func NewMethods(c Conn) Methods { return Methods{c: c} }

// retryKey is the context key of the flag NoteRetry sets.
type retryKey struct{}

// TrackRetry returns a context in which a store's retry of a statement or
// transaction (NoteRetry) sets *retried: a write found done by its retry
// may be the attempt that lost its connection after committing.
func TrackRetry(ctx context.Context) (context.Context, *bool) {
	retried := new(bool)
	return context.WithValue(ctx, retryKey{}, retried), retried
}

// NoteRetry is called by a store before it runs an operation again after
// a lost connection.
func NoteRetry(ctx context.Context) {
	if p, ok := ctx.Value(retryKey{}).(*bool); ok {
		*p = true
	}
}

// TaskLogFileSet is store.Store.TaskLogFileSet over a store's Conn.
func (m Methods) TaskLogFileSet(ctx context.Context, f *store.TaskLogFile) error {
	c := m.c
	if err := f.Validate(); err != nil {
		return err
	}
	q, args := TaskLogFileSet(c.D, f)
	err := c.Exec(ctx, q, args...)
	if err != nil && c.IsForeignKey(err) {
		return fmt.Errorf("log file: task instance %s: %w", f.Key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record log file of %s try %d: %w", f.Key, f.TryNumber, err)
	}
	return nil
}

// TaskLogFileGet is store.Store.TaskLogFileGet over a store's Conn.
func (m Methods) TaskLogFileGet(ctx context.Context, key store.TaskInstanceKey, try int) (*store.TaskLogFile, error) {
	c := m.c
	if err := key.Validate(); err != nil {
		return nil, err
	}
	f := &store.TaskLogFile{Key: key, TryNumber: try}
	q, args := TaskLogFileGet(c.D, key, try)
	err := c.QueryRow(ctx, q, args, &f.Path, &f.Hostname, &f.Size)
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("log file of %s try %d: %w", key, try, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read log file row of %s try %d: %w", key, try, err)
	}
	return f, nil
}

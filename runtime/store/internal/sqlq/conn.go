package sqlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// ErrNoRows is what Conn.QueryRow returns (wrapped) when its query found
// no row, whatever the driver's own error for it.
var ErrNoRows = errors.New("no rows")

// Conn is how a store runs one statement outside a transaction: what the
// methods of the two stores differ by besides their SQL (the driver, the
// retries, the error classes). Methods written once over it serve both.
type Conn struct {
	// Exec runs one write statement, retried as the store retries.
	Exec func(ctx context.Context, q string, args ...any) error
	// QueryRow runs a query of one row and scans it into dest; an error
	// wrapping ErrNoRows when it found none.
	QueryRow func(ctx context.Context, q string, args []any, dest ...any) error
	// IsForeignKey reports whether err is a foreign-key violation.
	IsForeignKey func(err error) bool
}

// LogFileSet is store.Store.TaskLogFileSet over a store's Conn.
func LogFileSet(ctx context.Context, d Dialect, c Conn, f *store.TaskLogFile) error {
	if err := f.Validate(); err != nil {
		return err
	}
	q, args := TaskLogFileSet(d, f)
	err := c.Exec(ctx, q, args...)
	if err != nil && c.IsForeignKey(err) {
		return fmt.Errorf("log file: task instance %s: %w", f.Key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record log file of %s try %d: %w", f.Key, f.TryNumber, err)
	}
	return nil
}

// LogFileGet is store.Store.TaskLogFileGet over a store's Conn.
func LogFileGet(ctx context.Context, d Dialect, c Conn, key store.TaskInstanceKey, try int) (*store.TaskLogFile, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	f := &store.TaskLogFile{Key: key, TryNumber: try}
	q, args := TaskLogFileGet(d, key, try)
	err := c.QueryRow(ctx, q, args, &f.Path, &f.Hostname, &f.Size)
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("log file of %s try %d: %w", key, try, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read log file row of %s try %d: %w", key, try, err)
	}
	return f, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TaskLogFileSet records or updates the index row of a try's log file.
func (s *Store) TaskLogFileSet(ctx context.Context, f *store.TaskLogFile) error {
	if err := f.Validate(); err != nil {
		return err
	}
	q, args := sqlq.TaskLogFileSet(sqlq.SQLite, f)
	_, err := s.write.ExecContext(ctx, q, args...)
	if isForeignKey(err) {
		return fmt.Errorf("log file: task instance %s: %w", f.Key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record log file of %s try %d: %w", f.Key, f.TryNumber, err)
	}
	return nil
}

// TaskLogFileGet returns the index row of a try's log file.
func (s *Store) TaskLogFileGet(ctx context.Context, key store.TaskInstanceKey, try int) (*store.TaskLogFile, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	f := &store.TaskLogFile{Key: key, TryNumber: try}
	q, args := sqlq.TaskLogFileGet(sqlq.SQLite, key, try)
	err := s.read.QueryRowContext(ctx, q, args...).Scan(&f.Path, &f.Hostname, &f.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("log file of %s try %d: %w", key, try, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read log file row of %s try %d: %w", key, try, err)
	}
	return f, nil
}

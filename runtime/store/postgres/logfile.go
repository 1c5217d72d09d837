package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TaskLogFileSet records or updates the index row of a try's log file.
func (s *Store) TaskLogFileSet(ctx context.Context, f *store.TaskLogFile) error {
	if err := f.Validate(); err != nil {
		return err
	}
	q, args := sqlq.TaskLogFileSet(sqlq.Postgres, f)
	err := s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, q, args...)
		return err
	})
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
	q, args := sqlq.TaskLogFileGet(sqlq.Postgres, key, try)
	err := s.do(ctx, func(int) error {
		return s.pool.QueryRow(ctx, q, args...).Scan(&f.Path, &f.Hostname, &f.Size)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("log file of %s try %d: %w", key, try, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read log file row of %s try %d: %w", key, try, err)
	}
	return f, nil
}

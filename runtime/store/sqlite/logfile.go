package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TaskLogFileSet records or updates the index row of a try's log file.
func (s *Store) TaskLogFileSet(ctx context.Context, f *store.TaskLogFile) error {
	return sqlq.LogFileSet(ctx, s.conn(), f)
}

// TaskLogFileGet returns the index row of a try's log file.
func (s *Store) TaskLogFileGet(ctx context.Context, key store.TaskInstanceKey, try int) (*store.TaskLogFile, error) {
	return sqlq.LogFileGet(ctx, s.conn(), key, try)
}

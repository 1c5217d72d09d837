package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TaskLogAppend appends to a try's log and returns its new size.
func (s *Store) TaskLogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	k := p.Key
	if len(p.Data) == 0 {
		var size int64
		if err := s.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(byte_offset + length(data)), 0) FROM task_log
			WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? AND try_number = ?`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber).Scan(&size); err != nil {
			return 0, fmt.Errorf("append to log of %s: %w", k, err)
		}
		return size, nil
	}
	var size int64
	err := s.inWriteTx(ctx, func(w *writeTx) error {
		var err error
		size, err = w.LogAppend(ctx, p)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("append to log: %w", err)
	}
	if err != nil {
		return 0, fmt.Errorf("append to log of %s: %w", k, err)
	}
	return size, nil
}

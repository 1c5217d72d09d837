package postgres

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TaskLogAppend appends to a try's log and returns its new size. Two
// appenders racing for the same offset are resolved by the primary key:
// the loser reads the new size and appends after it.
func (s *Store) TaskLogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	k := p.Key
	var size int64
	prev := int64(-1) // offset the previous attempt wrote at, if any
	for conflicts := 0; ; conflicts++ {
		err := s.inTx(ctx, func(tx pgx.Tx, attempt int) error {
			if attempt > 0 && prev >= 0 {
				// The previous attempt may have committed: if our chunk
				// is there, it did.
				var data []byte
				err := tx.QueryRow(ctx, `SELECT data FROM task_log WHERE dag_id = $1 AND run_id = $2 AND task_id = $3
					AND map_index = $4 AND try_number = $5 AND byte_offset = $6`,
					k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, prev).Scan(&data)
				if err == nil && bytes.Equal(data, p.Data) {
					size = prev + int64(len(p.Data))
					return nil
				}
			}
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(byte_offset + octet_length(data)), 0) FROM task_log
				WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5`,
				k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber).Scan(&size); err != nil {
				return err
			}
			if len(p.Data) == 0 {
				return nil
			}
			prev = size
			if _, err := tx.Exec(ctx, `INSERT INTO task_log (dag_id, run_id, task_id, map_index, try_number, byte_offset, data)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, size, p.Data); err != nil {
				return err
			}
			size += int64(len(p.Data))
			return nil
		})
		switch {
		case err == nil:
			return size, nil
		case isUnique(err) && conflicts < 10:
			prev = -1
			continue
		case isForeignKey(err):
			return 0, fmt.Errorf("append to log: task instance %s: %w", k, store.ErrNotFound)
		default:
			return 0, fmt.Errorf("append to log of %s: %w", k, err)
		}
	}
}

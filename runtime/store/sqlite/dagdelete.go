package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DAGDelete deletes every record of a DAG.
func (s *Store) DAGDelete(ctx context.Context, dagID string) (*store.DAGDeleteResult, error) {
	count, files, deletes := store.DAGDeleteStatements("?")
	var n store.DAGDeleteResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var dagRows int64
		if err := tx.QueryRowContext(ctx, count, dagID, dagID, dagID, dagID, dagID, dagID).Scan(
			&dagRows, &n.Runs, &n.TaskInstances, &n.XComs, &n.LogChunks, &n.LogFiles); err != nil {
			return err
		}
		if dagRows == 0 && n.Runs == 0 {
			return fmt.Errorf("DAG %q: %w", dagID, store.ErrNotFound)
		}
		paths, err := queryStrings(ctx, tx, files, dagID)
		if err != nil {
			return err
		}
		n.LogPaths = append(n.LogPaths, paths...)
		for _, d := range deletes {
			if _, err := tx.ExecContext(ctx, d, dagID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete DAG: %w", err)
	}
	return &n, nil
}

// Reset drops every table and creates the schema again.
func (s *Store) Reset(ctx context.Context) error {
	s.stmtMu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.stmtMu.Unlock()
	if err := s.withMigrationLock(ctx, func() error { return s.mig.Reset(ctx) }); err != nil {
		return fmt.Errorf("reset SQLite %s: %w", s.path, err)
	}
	return nil
}

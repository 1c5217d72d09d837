package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DAGDelete deletes every record of a DAG.
func (s *Store) DAGDelete(ctx context.Context, dagID string) (*store.DAGDeleteResult, error) {
	count, files, deletes := store.DAGDeleteStatements("$1")
	var n store.DAGDeleteResult
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		n = store.DAGDeleteResult{}
		var dagRows int64
		if err := tx.QueryRow(ctx, count, dagID).Scan(&dagRows, &n.Runs, &n.TaskInstances, &n.XComs, &n.LogChunks, &n.LogFiles); err != nil {
			return err
		}
		if dagRows == 0 && n.Runs == 0 {
			return fmt.Errorf("DAG %q: %w", dagID, store.ErrNotFound)
		}
		rows, err := tx.Query(ctx, files, dagID)
		if err != nil {
			return err
		}
		if n.LogPaths, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		for _, d := range deletes {
			if _, err := tx.Exec(ctx, d, dagID); err != nil {
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
	if err := s.mig.Reset(ctx); err != nil {
		return fmt.Errorf("reset PostgreSQL %s: %w", s.url, err)
	}
	return nil
}

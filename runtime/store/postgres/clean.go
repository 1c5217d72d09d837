package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DBClean prunes old finished runs.
func (s *Store) DBClean(ctx context.Context, p *store.DBCleanParams) (*store.DBCleanResult, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	count, files, deletes := store.CleanStatements("$1")
	var all store.DBCleanResult
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		all = store.DBCleanResult{}
		before := p.Before.UTC()
		if err := tx.QueryRow(ctx, count, before).Scan(&all.Runs, &all.TaskInstances, &all.XComs, &all.LogChunks, &all.LogBytes, &all.LogFiles); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, files, before)
		if err != nil {
			return err
		}
		if all.LogPaths, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if p.DryRun {
			return nil
		}
		for _, t := range store.CleanTables {
			if p.Has(t) {
				for _, d := range deletes[t] {
					if _, err := tx.Exec(ctx, d, before); err != nil {
						return fmt.Errorf("%s: %w", t, err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db clean: %w", err)
	}
	return p.Result(all), nil
}

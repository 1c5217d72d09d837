package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DBClean prunes old finished runs.
func (s *Store) DBClean(ctx context.Context, p *store.DBCleanParams) (*store.DBCleanResult, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	count, files, deletes := store.CleanStatements("?")
	var all store.DBCleanResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		before := tv(p.Before)
		if err := tx.QueryRowContext(ctx, count, before, before, before, before, before, before).Scan(
			&all.Runs, &all.TaskInstances, &all.XComs, &all.LogChunks, &all.LogBytes, &all.LogFiles); err != nil {
			return err
		}
		paths, err := queryStrings(ctx, tx, files, before)
		if err != nil {
			return err
		}
		all.LogPaths = append(all.LogPaths, paths...)
		if p.DryRun {
			return nil
		}
		for _, t := range store.CleanTables {
			if p.Has(t) {
				for _, d := range deletes[t] {
					if _, err := tx.ExecContext(ctx, d, before); err != nil {
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

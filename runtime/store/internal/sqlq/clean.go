package sqlq

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DBClean is store.Store.DBClean over a store's Conn.
func (m Methods) DBClean(ctx context.Context, p *store.DBCleanParams) (*store.DBCleanResult, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	count, files, deletes := store.CleanStatements(c.D.Param(1))
	var all store.DBCleanResult
	err := c.InTx(ctx, func(tx Conn) error {
		all = store.DBCleanResult{}
		before := c.D.Time(p.Before)
		if err := tx.QueryRow(ctx, count, []any{before}, &all.Runs, &all.TaskInstances, &all.XComs, &all.LogChunks, &all.LogBytes, &all.LogFiles); err != nil {
			return err
		}
		var err error
		if all.LogPaths, err = QueryStrings(ctx, tx, files, before); err != nil {
			return err
		}
		if p.DryRun {
			return nil
		}
		for _, t := range store.CleanTables {
			if p.Has(t) {
				for _, d := range deletes[t] {
					if err := tx.Exec(ctx, d, before); err != nil {
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

// DAGDelete is store.Store.DAGDelete over a store's Conn.
func (m Methods) DAGDelete(ctx context.Context, dagID string) (*store.DAGDeleteResult, error) {
	c := m.c
	count, files, deletes := store.DAGDeleteStatements(c.D.Param(1))
	var n store.DAGDeleteResult
	err := c.InTx(ctx, func(tx Conn) error {
		n = store.DAGDeleteResult{}
		var dagRows int64
		if err := tx.QueryRow(ctx, count, []any{dagID}, &dagRows, &n.Runs, &n.TaskInstances, &n.XComs, &n.LogChunks, &n.LogFiles); err != nil {
			return err
		}
		if dagRows == 0 && n.Runs == 0 {
			return fmt.Errorf("DAG %q: %w", dagID, store.ErrNotFound)
		}
		var err error
		if n.LogPaths, err = QueryStrings(ctx, tx, files, dagID); err != nil {
			return err
		}
		for _, d := range deletes {
			if err := tx.Exec(ctx, d, dagID); err != nil {
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

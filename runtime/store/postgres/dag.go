package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// ImportErrorsReplace replaces the import errors of one file (in one
// batch: one round trip).
func (s *Store) ImportErrorsReplace(ctx context.Context, p *store.ImportErrorsReplaceParams) error {
	ts := store.TimeOrNow(p.Timestamp)
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM import_error WHERE file = $1`, p.File)
		for _, e := range p.Errors {
			batch.Queue(`INSERT INTO import_error (file, line, col, message, created_at) VALUES ($1, $2, $3, $4, $5)`,
				p.File, e.Pos.Line, e.Pos.Col, e.Message, ts)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("replace import errors of %s: %w", p.File, err)
	}
	return nil
}

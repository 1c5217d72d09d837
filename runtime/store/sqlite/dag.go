package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// ImportErrorsReplace replaces the import errors of one file.
func (s *Store) ImportErrorsReplace(ctx context.Context, p *store.ImportErrorsReplaceParams) error {
	ts := store.TimeOrNow(p.Timestamp)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_error WHERE file = ?`, p.File); err != nil {
			return fmt.Errorf("replace import errors of %s: %w", p.File, err)
		}
		for _, e := range p.Errors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO import_error (file, line, col, message, created_at) VALUES (?, ?, ?, ?, ?)`,
				p.File, e.Pos.Line, e.Pos.Col, e.Message, tv(ts)); err != nil {
				return fmt.Errorf("replace import errors of %s: %w", p.File, err)
			}
		}
		return nil
	})
}

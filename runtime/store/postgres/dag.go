package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// DAGUpsert records a parsed DAG.
func (s *Store) DAGUpsert(ctx context.Context, p *store.DAGUpsertParams) (*store.DAG, error) {
	return sqlq.DAGUpsert(ctx, s.conn(), p)
}

// DAGGet returns one DAG.
func (s *Store) DAGGet(ctx context.Context, dagID string) (*store.DAG, error) {
	return sqlq.DAGGet(ctx, s.conn(), dagID)
}

// DAGList returns DAGs ordered by id.
func (s *Store) DAGList(ctx context.Context, p *store.DAGListParams) ([]*store.DAG, error) {
	return sqlq.DAGList(ctx, s.conn(), p)
}

// DAGSetPaused pauses or unpauses a DAG.
func (s *Store) DAGSetPaused(ctx context.Context, dagID string, paused bool) error {
	return sqlq.DAGSetPaused(ctx, s.conn(), dagID, paused)
}

// DAGSetNextRun records the DAG's next scheduled run.
func (s *Store) DAGSetNextRun(ctx context.Context, p *store.DAGSetNextRunParams) error {
	return sqlq.DAGSetNextRun(ctx, s.conn(), p)
}

// DAGDeactivate marks inactive the DAGs a file no longer defines.
func (s *Store) DAGDeactivate(ctx context.Context, p *store.DAGDeactivateParams) (int, error) {
	return sqlq.DAGDeactivate(ctx, s.conn(), p)
}

// DAGVersionPut stores a source bundle.
func (s *Store) DAGVersionPut(ctx context.Context, p *store.DAGVersionPutParams) error {
	return sqlq.DAGVersionPut(ctx, s.conn(), p)
}

// DAGVersionGet returns a source bundle.
func (s *Store) DAGVersionGet(ctx context.Context, sourceHash string) (*store.DAGVersion, error) {
	return sqlq.DAGVersionGet(ctx, s.conn(), sourceHash)
}

// ImportErrorList returns every import error.
func (s *Store) ImportErrorList(ctx context.Context) ([]*store.ImportError, error) {
	return sqlq.ImportErrorList(ctx, s.conn())
}

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

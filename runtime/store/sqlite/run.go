package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// RunCreate creates a DAG run.
func (s *Store) RunCreate(ctx context.Context, p *store.RunCreateParams) (*store.DagRun, error) {
	return sqlq.RunCreate(ctx, s.conn(), p)
}

// RunGet returns one run; a corrupt conf is an error wrapping ErrCorrupt.
func (s *Store) RunGet(ctx context.Context, dagID, runID string) (*store.DagRun, error) {
	return sqlq.RunGet(ctx, s.conn(), dagID, runID)
}

// RunList returns runs, newest logical date first.
func (s *Store) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	return sqlq.RunList(ctx, s.conn(), p)
}

// RunSetState moves a run between states (compare-and-set).
func (s *Store) RunSetState(ctx context.Context, p *store.RunSetStateParams) (*store.DagRun, error) {
	return sqlq.RunSetState(ctx, s.conn(), p)
}

// RunCount counts runs per DAG id in the given states.
func (s *Store) RunCount(ctx context.Context, p *store.RunCountParams) (map[string]int, error) {
	return sqlq.RunCount(ctx, s.conn(), p)
}

package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// DBClean prunes old finished runs.
func (s *Store) DBClean(ctx context.Context, p *store.DBCleanParams) (*store.DBCleanResult, error) {
	return sqlq.DBClean(ctx, s.conn(), p)
}

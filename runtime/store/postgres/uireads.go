package postgres

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// RunDates returns the id, logical date and state of a DAG's runs.
func (s *Store) RunDates(ctx context.Context, p *store.RunDatesParams) ([]store.RunDate, error) {
	return sqlq.RunDates(ctx, s.conn(), p)
}

// TaskSpans returns each task's first start and last end per run.
func (s *Store) TaskSpans(ctx context.Context, p *store.TaskSpansParams) ([]store.TaskSpan, error) {
	return sqlq.TaskSpans(ctx, s.conn(), p)
}

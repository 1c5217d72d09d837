package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// DatasetEventsCreate records dataset events in one transaction, in id
// order (see sqlq.DatasetEventsCreate).
func (s *Store) DatasetEventsCreate(ctx context.Context, p *store.DatasetEventsCreateParams) ([]*store.DatasetEvent, error) {
	return sqlq.DatasetEventsCreate(ctx, s.conn(), p)
}

// DatasetEventList returns the events matching p, by id.
func (s *Store) DatasetEventList(ctx context.Context, p *store.DatasetEventListParams) ([]*store.DatasetEvent, error) {
	return sqlq.DatasetEventList(ctx, s.conn(), p)
}

// DatasetEventStats summarises the events matching p per URI.
func (s *Store) DatasetEventStats(ctx context.Context, p *store.DatasetEventStatsParams) ([]*store.DatasetStat, error) {
	return sqlq.DatasetEventStats(ctx, s.conn(), p)
}

// DatasetConsumerGet returns the DAG's cursor.
func (s *Store) DatasetConsumerGet(ctx context.Context, dagID string) (int64, bool, error) {
	return sqlq.DatasetConsumerGet(ctx, s.conn(), dagID)
}

// DatasetConsumerAdvance moves the DAG's cursor (compare-and-set).
func (s *Store) DatasetConsumerAdvance(ctx context.Context, p *store.DatasetConsumerAdvanceParams) error {
	return sqlq.DatasetConsumerAdvance(ctx, s.conn(), p)
}

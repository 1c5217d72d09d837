package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DatasetEventsCreate records dataset events in one transaction. The
// transaction locks the event table against other writers (readers go on),
// so that events commit in id order: a scheduler that has seen event n has
// seen every event before it, and its cursor never skips one.
func (s *Store) DatasetEventsCreate(ctx context.Context, p *store.DatasetEventsCreateParams) ([]*store.DatasetEvent, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	extras := make([]string, len(p.Events))
	for i := range p.Events {
		x, err := p.Events[i].EncodeExtra()
		if err != nil {
			return nil, err
		}
		extras[i] = x
	}
	var out []*store.DatasetEvent
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		out = make([]*store.DatasetEvent, 0, len(p.Events))
		if _, err := tx.Exec(ctx, `LOCK TABLE dataset_event IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		for i, e := range p.Events {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO dataset_event (uri, timestamp, source_dag_id, source_run_id, source_task_id,
				source_map_index, extra) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
				e.URI, p.Timestamp, e.SourceDagID, e.SourceRunID, e.SourceTaskID, e.SourceMapIndex, extras[i]).Scan(&id); err != nil {
				return err
			}
			out = append(out, &store.DatasetEvent{ID: id, URI: e.URI, Timestamp: p.Timestamp, SourceDagID: e.SourceDagID,
				SourceRunID: e.SourceRunID, SourceTaskID: e.SourceTaskID, SourceMapIndex: e.SourceMapIndex, Extra: e.Extra})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record dataset events: %w", err)
	}
	return out, nil
}

func scanDatasetEvent(r pgx.Row) (*store.DatasetEvent, error) {
	var e store.DatasetEvent
	var ts *time.Time
	var extra string
	if err := r.Scan(&e.ID, &e.URI, &ts, &e.SourceDagID, &e.SourceRunID, &e.SourceTaskID, &e.SourceMapIndex, &extra); err != nil {
		return nil, err
	}
	e.Timestamp = tget(ts)
	x, err := store.DecodeJSONObject(fmt.Sprintf("extra of dataset event %d", e.ID), extra)
	if err != nil {
		x = map[string]any{}
	}
	e.Extra = x
	return &e, nil
}

// DatasetEventList returns the events matching p, by id.
func (s *Store) DatasetEventList(ctx context.Context, p *store.DatasetEventListParams) ([]*store.DatasetEvent, error) {
	var b builder
	if len(p.URIs) > 0 {
		b.add("uri = ANY(?)", p.URIs)
	}
	if p.AfterID > 0 {
		b.add("id > ?", p.AfterID)
	}
	order := " ORDER BY id"
	if p.NewestFirst {
		order = " ORDER BY id DESC"
	}
	q := `SELECT id, uri, timestamp, source_dag_id, source_run_id, source_task_id, source_map_index, extra FROM dataset_event` +
		b.where() + order + b.page(p.Limit, max(p.Offset, 0))
	var out []*store.DatasetEvent
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, b.args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanDatasetEvent)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list dataset events: %w", err)
	}
	return out, nil
}

// DatasetEventStats summarises the events matching p per URI.
func (s *Store) DatasetEventStats(ctx context.Context, p *store.DatasetEventStatsParams) ([]*store.DatasetStat, error) {
	var b builder
	if len(p.URIs) > 0 {
		b.add("uri = ANY(?)", p.URIs)
	}
	if p.AfterID > 0 {
		b.add("id > ?", p.AfterID)
	}
	if p.UpToID > 0 {
		b.add("id <= ?", p.UpToID)
	}
	if !p.Since.IsZero() {
		b.add("timestamp >= ?", store.Truncate(p.Since))
	}
	q := `SELECT uri, COUNT(*), MIN(id), MAX(id), MIN(timestamp), MAX(timestamp) FROM dataset_event` + b.where() + ` GROUP BY uri ORDER BY uri`
	var out []*store.DatasetStat
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, b.args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, func(r pgx.Row) (*store.DatasetStat, error) {
			var st store.DatasetStat
			var first, last *time.Time
			if err := r.Scan(&st.URI, &st.Count, &st.FirstID, &st.LastID, &first, &last); err != nil {
				return nil, err
			}
			st.First, st.Last = tget(first), tget(last)
			return &st, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dataset event stats: %w", err)
	}
	return out, nil
}

// DatasetConsumerGet returns the DAG's cursor.
func (s *Store) DatasetConsumerGet(ctx context.Context, dagID string) (int64, bool, error) {
	var id int64
	err := s.do(ctx, func(int) error {
		return s.pool.QueryRow(ctx, `SELECT last_event_id FROM dataset_consumer WHERE dag_id = $1`, dagID).Scan(&id)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("dataset consumer %q: %w", dagID, err)
	}
	return id, true, nil
}

// DatasetConsumerAdvance moves the DAG's cursor (compare-and-set). A retry
// after a lost answer that finds the cursor already at p.To counts as a
// win.
func (s *Store) DatasetConsumerAdvance(ctx context.Context, p *store.DatasetConsumerAdvanceParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	var n int64
	retried := false
	err := s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		var q string
		if p.From == 0 {
			q = `INSERT INTO dataset_consumer (dag_id, last_event_id, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (dag_id) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = excluded.updated_at
				WHERE dataset_consumer.last_event_id = $4`
		} else {
			q = `UPDATE dataset_consumer SET last_event_id = $2, updated_at = $3 WHERE dag_id = $1 AND last_event_id = $4`
		}
		tag, err := s.pool.Exec(ctx, q, p.DagID, p.To, now(), p.From)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("dataset consumer %q: %w", p.DagID, err)
	}
	if n == 0 {
		if retried {
			if cur, ok, gerr := s.DatasetConsumerGet(ctx, p.DagID); gerr == nil && ok && cur == p.To {
				return nil
			}
		}
		return fmt.Errorf("dataset consumer %q: cursor is not at %d: %w", p.DagID, p.From, store.ErrStale)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DatasetEventsCreate records dataset events in one transaction.
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
	out := make([]*store.DatasetEvent, 0, len(p.Events))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, e := range p.Events {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO dataset_event (uri, timestamp, source_dag_id, source_run_id, source_task_id,
				source_map_index, extra) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				e.URI, tv(p.Timestamp), e.SourceDagID, e.SourceRunID, e.SourceTaskID, e.SourceMapIndex, extras[i]).Scan(&id); err != nil {
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

// DatasetEventList returns the events matching p, by id.
func (s *Store) DatasetEventList(ctx context.Context, p *store.DatasetEventListParams) ([]*store.DatasetEvent, error) {
	var conds []string
	var args []any
	if len(p.URIs) > 0 {
		var list string
		list, args = in(args, p.URIs)
		conds = append(conds, "uri IN "+list)
	}
	if p.AfterID > 0 {
		conds = append(conds, "id > ?")
		args = append(args, p.AfterID)
	}
	q := `SELECT id, uri, timestamp, source_dag_id, source_run_id, source_task_id, source_map_index, extra FROM dataset_event`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	if p.NewestFirst {
		q += " ORDER BY id DESC"
	} else {
		q += " ORDER BY id"
	}
	q += " LIMIT ? OFFSET ?"
	args = append(args, limit(p.Limit), max(p.Offset, 0))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list dataset events: %w", err)
	}
	defer rows.Close()
	var out []*store.DatasetEvent
	for rows.Next() {
		var e store.DatasetEvent
		var ts sql.NullInt64
		var extra string
		if err := rows.Scan(&e.ID, &e.URI, &ts, &e.SourceDagID, &e.SourceRunID, &e.SourceTaskID, &e.SourceMapIndex, &extra); err != nil {
			return nil, fmt.Errorf("list dataset events: %w", err)
		}
		e.Timestamp = tget(ts)
		if e.Extra, err = store.DecodeJSONObject(fmt.Sprintf("extra of dataset event %d", e.ID), extra); err != nil {
			e.Extra = map[string]any{}
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// DatasetEventStats summarises the events matching p per URI.
func (s *Store) DatasetEventStats(ctx context.Context, p *store.DatasetEventStatsParams) ([]*store.DatasetStat, error) {
	var conds []string
	var args []any
	if len(p.URIs) > 0 {
		var list string
		list, args = in(args, p.URIs)
		conds = append(conds, "uri IN "+list)
	}
	if p.AfterID > 0 {
		conds = append(conds, "id > ?")
		args = append(args, p.AfterID)
	}
	if p.UpToID > 0 {
		conds = append(conds, "id <= ?")
		args = append(args, p.UpToID)
	}
	if !p.Since.IsZero() {
		conds = append(conds, "timestamp >= ?")
		args = append(args, tv(store.Truncate(p.Since)))
	}
	q := `SELECT uri, COUNT(*), MIN(id), MAX(id), MIN(timestamp), MAX(timestamp) FROM dataset_event`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " GROUP BY uri ORDER BY uri"
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dataset event stats: %w", err)
	}
	defer rows.Close()
	var out []*store.DatasetStat
	for rows.Next() {
		var st store.DatasetStat
		var first, last sql.NullInt64
		if err := rows.Scan(&st.URI, &st.Count, &st.FirstID, &st.LastID, &first, &last); err != nil {
			return nil, fmt.Errorf("dataset event stats: %w", err)
		}
		st.First, st.Last = tget(first), tget(last)
		out = append(out, &st)
	}
	return out, rows.Err()
}

// DatasetConsumerGet returns the DAG's cursor.
func (s *Store) DatasetConsumerGet(ctx context.Context, dagID string) (int64, bool, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT last_event_id FROM dataset_consumer WHERE dag_id = ?`, dagID).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("dataset consumer %q: %w", dagID, err)
	}
	return id, true, nil
}

// DatasetConsumerAdvance moves the DAG's cursor (compare-and-set).
func (s *Store) DatasetConsumerAdvance(ctx context.Context, p *store.DatasetConsumerAdvanceParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	var res sql.Result
	var err error
	if p.From == 0 {
		res, err = s.write.ExecContext(ctx, `INSERT INTO dataset_consumer (dag_id, last_event_id, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (dag_id) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = excluded.updated_at
			WHERE dataset_consumer.last_event_id = 0`, p.DagID, p.To, tv(now()))
	} else {
		res, err = s.write.ExecContext(ctx, `UPDATE dataset_consumer SET last_event_id = ?, updated_at = ? WHERE dag_id = ? AND last_event_id = ?`,
			p.To, tv(now()), p.DagID, p.From)
	}
	if err != nil {
		return fmt.Errorf("dataset consumer %q: %w", p.DagID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("dataset consumer %q: cursor is not at %d: %w", p.DagID, p.From, store.ErrStale)
	}
	return nil
}

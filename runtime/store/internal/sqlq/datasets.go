package sqlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// DatasetEventsCreate is store.Store.DatasetEventsCreate over a store's
// Conn: the events in one transaction which, where the database has more
// than one writer, locks the event table against other writers (readers
// go on), so that events commit in id order: a scheduler that has seen
// event n has seen every event before it, and its cursor never skips one.
func (m Methods) DatasetEventsCreate(ctx context.Context, p *store.DatasetEventsCreateParams) ([]*store.DatasetEvent, error) {
	c := m.c
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
	d := c.D
	q := `INSERT INTO dataset_event (uri, timestamp, source_dag_id, source_run_id, source_task_id,
		source_map_index, extra) VALUES (` + params(d, 1, 7) + `) RETURNING id`
	var out []*store.DatasetEvent
	err := c.InTx(ctx, func(tx Conn) error {
		out = make([]*store.DatasetEvent, 0, len(p.Events))
		if lock := d.LockExclusive("dataset_event"); lock != "" {
			if err := tx.Exec(ctx, lock); err != nil {
				return err
			}
		}
		for i, e := range p.Events {
			var id int64
			err := tx.WriteRow(ctx, q, []any{e.URI, d.Time(p.Timestamp), e.SourceDagID, e.SourceRunID, e.SourceTaskID, e.SourceMapIndex, extras[i]},
				func(r Scanner) error { return r.Scan(&id) })
			if err != nil {
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

func scanDatasetEvent(r Scanner) (*store.DatasetEvent, error) {
	var e store.DatasetEvent
	var extra string
	if err := r.Scan(&e.ID, &e.URI, At(&e.Timestamp), &e.SourceDagID, &e.SourceRunID, &e.SourceTaskID, &e.SourceMapIndex, &extra); err != nil {
		return nil, err
	}
	x, err := store.DecodeJSONObject(fmt.Sprintf("extra of dataset event %d", e.ID), extra)
	if err != nil {
		x = map[string]any{}
	}
	e.Extra = x
	return &e, nil
}

// DatasetEventList is store.Store.DatasetEventList over a store's Conn.
func (m Methods) DatasetEventList(ctx context.Context, p *store.DatasetEventListParams) ([]*store.DatasetEvent, error) {
	c := m.c
	w := &where{d: c.D}
	if len(p.URIs) > 0 {
		w.in("uri", p.URIs)
	}
	if p.AfterID > 0 {
		w.cmp("id", ">", p.AfterID)
	}
	if !p.Since.IsZero() {
		w.cmp("timestamp", ">=", c.D.Time(store.Truncate(p.Since)))
	}
	if !p.Until.IsZero() {
		w.cmp("timestamp", "<=", c.D.Time(store.Truncate(p.Until)))
	}
	order := " ORDER BY id"
	if p.NewestFirst {
		order = " ORDER BY id DESC"
	}
	q := `SELECT id, uri, timestamp, source_dag_id, source_run_id, source_task_id, source_map_index, extra FROM dataset_event` +
		w.clause() + order + w.page(p.Limit, max(p.Offset, 0))
	out, err := QueryAll(ctx, c, q, w.args, scanDatasetEvent)
	if err != nil {
		return nil, fmt.Errorf("list dataset events: %w", err)
	}
	return out, nil
}

// DatasetEventStats is store.Store.DatasetEventStats over a store's Conn.
func (m Methods) DatasetEventStats(ctx context.Context, p *store.DatasetEventStatsParams) ([]*store.DatasetStat, error) {
	c := m.c
	w := &where{d: c.D}
	if len(p.URIs) > 0 {
		w.in("uri", p.URIs)
	}
	if p.AfterID > 0 {
		w.cmp("id", ">", p.AfterID)
	}
	if p.UpToID > 0 {
		w.cmp("id", "<=", p.UpToID)
	}
	if !p.Since.IsZero() {
		w.cmp("timestamp", ">=", c.D.Time(store.Truncate(p.Since)))
	}
	q := `SELECT uri, COUNT(*), MIN(id), MAX(id), MIN(timestamp), MAX(timestamp) FROM dataset_event` + w.clause() + ` GROUP BY uri ORDER BY uri`
	out, err := QueryAll(ctx, c, q, w.args, func(r Scanner) (*store.DatasetStat, error) {
		var st store.DatasetStat
		err := r.Scan(&st.URI, &st.Count, &st.FirstID, &st.LastID, At(&st.First), At(&st.Last))
		return &st, err
	})
	if err != nil {
		return nil, fmt.Errorf("dataset event stats: %w", err)
	}
	return out, nil
}

// DatasetConsumerGet is store.Store.DatasetConsumerGet over a store's
// Conn.
func (m Methods) DatasetConsumerGet(ctx context.Context, dagID string) (int64, bool, error) {
	c := m.c
	var id int64
	err := c.QueryRow(ctx, `SELECT last_event_id FROM dataset_consumer WHERE dag_id = `+c.D.Param(1), []any{dagID}, &id)
	switch {
	case errors.Is(err, ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("dataset consumer %q: %w", dagID, err)
	}
	return id, true, nil
}

// DatasetConsumerAdvance is store.Store.DatasetConsumerAdvance over a
// store's Conn (compare-and-set). A retry after a lost answer that finds
// the cursor already at p.To counts as a win.
func (m Methods) DatasetConsumerAdvance(ctx context.Context, p *store.DatasetConsumerAdvanceParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	d := c.D
	q := `UPDATE dataset_consumer SET last_event_id = ` + d.Param(2) + `, updated_at = ` + d.Param(3) +
		` WHERE dag_id = ` + d.Param(1) + ` AND last_event_id = ` + d.Param(4)
	if p.From == 0 {
		q = `INSERT INTO dataset_consumer (dag_id, last_event_id, updated_at) VALUES (` + params(d, 1, 3) + `)
			ON CONFLICT (dag_id) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = excluded.updated_at
			WHERE dataset_consumer.last_event_id = ` + d.Param(4)
	}
	rctx, retried := TrackRetry(ctx)
	n, err := c.ExecCount(rctx, q, p.DagID, p.To, d.Time(store.Truncate(time.Now())), p.From)
	if err != nil {
		return fmt.Errorf("dataset consumer %q: %w", p.DagID, err)
	}
	if n == 0 {
		if *retried {
			if cur, ok, gerr := m.DatasetConsumerGet(ctx, p.DagID); gerr == nil && ok && cur == p.To {
				return nil
			}
		}
		return fmt.Errorf("dataset consumer %q: cursor is not at %d: %w", p.DagID, p.From, store.ErrStale)
	}
	return nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

const runCols = `dag_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end,
	conf, source_hash, queued_at, start_date, end_date, created_at, updated_at`

// scanRun reads a run; a corrupt conf is reported in ConfError.
func scanRun(r pgx.Row) (*store.DagRun, error) {
	var d store.DagRun
	var conf string
	var ld, ds, de, qa, sd, ed, ca, ua *time.Time
	if err := r.Scan(&d.DagID, &d.RunID, &d.RunType, &d.State, &ld, &ds, &de, &conf, &d.SourceHash,
		&qa, &sd, &ed, &ca, &ua); err != nil {
		return nil, err
	}
	d.LogicalDate, d.DataIntervalStart, d.DataIntervalEnd = tget(ld), tget(ds), tget(de)
	d.QueuedAt, d.StartDate, d.EndDate, d.CreatedAt, d.UpdatedAt = tget(qa), tget(sd), tget(ed), tget(ca), tget(ua)
	c, err := store.DecodeJSONObject(fmt.Sprintf("conf of dag run %s/%s", d.DagID, d.RunID), conf)
	if err != nil {
		d.ConfError = err.Error()
		d.Conf = map[string]any{}
	} else {
		d.Conf = c
	}
	return &d, nil
}

// RunCreate creates a DAG run.
func (s *Store) RunCreate(ctx context.Context, p *store.RunCreateParams) (*store.DagRun, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	conf, err := p.EncodeConf()
	if err != nil {
		return nil, err
	}
	t := now()
	var run *store.DagRun
	retried := false
	err = s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		var err error
		run, err = scanRun(s.pool.QueryRow(ctx, `INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,
			data_interval_start, data_interval_end, conf, source_hash, queued_at, start_date, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING `+runCols,
			p.DagID, p.RunID, p.RunType, p.State, p.LogicalDate, tv(p.DataIntervalStart), tv(p.DataIntervalEnd),
			conf, p.SourceHash, tv(p.QueuedAt), tv(p.StartDate), t))
		return err
	})
	if isUnique(err) {
		existing, gerr := s.RunGet(ctx, p.DagID, p.RunID)
		if gerr == nil || errors.Is(gerr, store.ErrCorrupt) {
			// A retry after a lost commit finds its own run.
			if retried && existing.CreatedAt.Equal(t) && existing.LogicalDate.Equal(p.LogicalDate) {
				return existing, nil
			}
			return nil, fmt.Errorf("dag run %s/%s: %w", p.DagID, p.RunID, store.ErrConflict)
		}
		return nil, fmt.Errorf("dag run %s/%s: a scheduled run of %s for logical date %s: %w",
			p.DagID, p.RunID, p.DagID, p.LogicalDate.Format(time.RFC3339Nano), store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create dag run %s/%s: %w", p.DagID, p.RunID, err)
	}
	return run, nil
}

// RunGet returns one run; a corrupt conf is an error wrapping ErrCorrupt.
func (s *Store) RunGet(ctx context.Context, dagID, runID string) (*store.DagRun, error) {
	var run *store.DagRun
	err := s.do(ctx, func(int) error {
		var err error
		run, err = scanRun(s.pool.QueryRow(ctx, `SELECT `+runCols+` FROM dag_run WHERE dag_id = $1 AND run_id = $2`, dagID, runID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("dag run %s/%s: %w", dagID, runID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag run %s/%s: %w", dagID, runID, err)
	}
	if run.ConfError != "" {
		return run, fmt.Errorf("%s: %w", run.ConfError, store.ErrCorrupt)
	}
	return run, nil
}

// RunList returns runs, newest logical date first.
func (s *Store) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	q, args := runListSQL(p)
	var out []*store.DagRun
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list dag runs: %w", err)
	}
	return out, nil
}

// runListSQL builds RunList's query.
func runListSQL(p *store.RunListParams) (string, []any) {
	var b builder
	if p.DagID != "" {
		b.add("dag_id = ?", p.DagID)
	}
	if len(p.States) > 0 {
		b.add("state = ANY(?)", strs(p.States))
	}
	if len(p.RunTypes) > 0 {
		b.add("run_type = ANY(?)", strs(p.RunTypes))
	}
	if !p.LogicalDateFrom.IsZero() {
		b.add("logical_date >= ?", store.Truncate(p.LogicalDateFrom))
	}
	if !p.LogicalDateTo.IsZero() {
		b.add("logical_date < ?", store.Truncate(p.LogicalDateTo))
	}
	return `SELECT ` + runCols + ` FROM dag_run` + b.where() + p.OrderBy() + b.page(p.Limit, p.Offset), b.args
}

// RunSetState moves a run between states (compare-and-set).
func (s *Store) RunSetState(ctx context.Context, p *store.RunSetStateParams) (*store.DagRun, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var run *store.DagRun
	retried := false
	err := s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		var err error
		run, err = scanRun(s.pool.QueryRow(ctx, `UPDATE dag_run SET state = $1, start_date = COALESCE($2, start_date),
			end_date = CASE WHEN $3::timestamptz IS NOT NULL THEN $3 WHEN $1 IN ('queued', 'running') THEN NULL ELSE end_date END,
			updated_at = $4 WHERE dag_id = $5 AND run_id = $6 AND ($7::text[] IS NULL OR state = ANY($7))
			RETURNING `+runCols,
			p.To, tv(p.StartDate), tv(p.EndDate), now(), p.DagID, p.RunID, strs(p.From)))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := s.RunGet(ctx, p.DagID, p.RunID)
		if gerr != nil && !errors.Is(gerr, store.ErrCorrupt) {
			return nil, gerr
		}
		if retried && cur.State == p.To && (p.EndDate.IsZero() || cur.EndDate.Equal(p.EndDate)) {
			return cur, nil
		}
		return nil, fmt.Errorf("dag run %s/%s: cannot move to %s: it is %s, expected %v: %w",
			p.DagID, p.RunID, p.To, cur.State, p.From, store.ErrStale)
	}
	if err != nil {
		return nil, fmt.Errorf("set state of dag run %s/%s: %w", p.DagID, p.RunID, err)
	}
	return run, nil
}

// RunCount counts runs per DAG id in the given states.
func (s *Store) RunCount(ctx context.Context, p *store.RunCountParams) (map[string]int, error) {
	var b builder
	b.add("state = ANY(?)", strs(p.ActiveStates()))
	if p.DagID != "" {
		b.add("dag_id = ?", p.DagID)
	}
	out := map[string]int{}
	err := s.do(ctx, func(int) error {
		clear(out)
		rows, err := s.pool.Query(ctx, `SELECT dag_id, COUNT(*) FROM dag_run`+b.where()+` GROUP BY dag_id`, b.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			out[id] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("count dag runs: %w", err)
	}
	return out, nil
}

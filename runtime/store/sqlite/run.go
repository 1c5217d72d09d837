package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

const runCols = `dag_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end,
	conf, source_hash, queued_at, start_date, end_date, created_at, updated_at`

// scanRun reads a run; a corrupt conf is reported in ConfError.
func scanRun(r scanner) (*store.DagRun, error) {
	var d store.DagRun
	var conf string
	var ld, ds, de, qa, sd, ed, ca, ua sql.NullInt64
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
	row := s.write.QueryRowContext(ctx, `INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,
		data_interval_start, data_interval_end, conf, source_hash, queued_at, start_date, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+runCols,
		p.DagID, p.RunID, p.RunType, p.State, tv(p.LogicalDate), tv(p.DataIntervalStart), tv(p.DataIntervalEnd),
		conf, p.SourceHash, tv(p.QueuedAt), tv(p.StartDate), tv(t), tv(t))
	run, err := scanRun(row)
	if isUnique(err) {
		if _, gerr := s.RunGet(ctx, p.DagID, p.RunID); gerr == nil {
			return nil, fmt.Errorf("dag run %s/%s: %w", p.DagID, p.RunID, store.ErrConflict)
		}
		return nil, fmt.Errorf("dag run %s/%s: a scheduled run of %s for logical date %s: %w",
			p.DagID, p.RunID, p.DagID, p.LogicalDate.Format("2006-01-02T15:04:05.999999Z07:00"), store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create dag run %s/%s: %w", p.DagID, p.RunID, err)
	}
	return run, nil
}

// RunGet returns one run; a corrupt conf is an error wrapping ErrCorrupt.
func (s *Store) RunGet(ctx context.Context, dagID, runID string) (*store.DagRun, error) {
	run, err := scanRun(s.read.QueryRowContext(ctx, `SELECT `+runCols+` FROM dag_run WHERE dag_id = ? AND run_id = ?`, dagID, runID))
	if errors.Is(err, sql.ErrNoRows) {
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
	var where []string
	var args []any
	if p.DagID != "" {
		where = append(where, "dag_id = ?")
		args = append(args, p.DagID)
	}
	if len(p.States) > 0 {
		var list string
		list, args = in(args, p.States)
		where = append(where, "state IN "+list)
	}
	if len(p.RunTypes) > 0 {
		var list string
		list, args = in(args, p.RunTypes)
		where = append(where, "run_type IN "+list)
	}
	if !p.LogicalDateFrom.IsZero() {
		where = append(where, "logical_date >= ?")
		args = append(args, tv(store.Truncate(p.LogicalDateFrom)))
	}
	if !p.LogicalDateTo.IsZero() {
		where = append(where, "logical_date < ?")
		args = append(args, tv(store.Truncate(p.LogicalDateTo)))
	}
	args = append(args, limit(p.Limit), p.Offset)
	rows, err := s.read.QueryContext(ctx, `SELECT `+runCols+` FROM dag_run`+whereClause(where)+
		p.OrderBy()+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list dag runs: %w", err)
	}
	defer rows.Close()
	var out []*store.DagRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list dag runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dag runs: %w", err)
	}
	return out, nil
}

// RunSetState moves a run between states (compare-and-set).
func (s *Store) RunSetState(ctx context.Context, p *store.RunSetStateParams) (*store.DagRun, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	args := []any{p.To, tv(p.StartDate), tv(p.EndDate), tv(p.EndDate), p.To, tv(now()), p.DagID, p.RunID}
	q := `UPDATE dag_run SET state = ?, start_date = COALESCE(?, start_date),
		end_date = CASE WHEN ? IS NOT NULL THEN ? WHEN ? IN ('queued', 'running') THEN NULL ELSE end_date END,
		updated_at = ? WHERE dag_id = ? AND run_id = ?`
	if len(p.From) > 0 {
		var list string
		list, args = in(args, p.From)
		q += ` AND state IN ` + list
	}
	run, err := scanRun(s.write.QueryRowContext(ctx, q+` RETURNING `+runCols, args...))
	if errors.Is(err, sql.ErrNoRows) {
		cur, gerr := s.RunGet(ctx, p.DagID, p.RunID)
		if gerr != nil && !errors.Is(gerr, store.ErrCorrupt) {
			return nil, gerr
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
	list, args := in(nil, p.ActiveStates())
	q := `SELECT dag_id, COUNT(*) FROM dag_run WHERE state IN ` + list
	if p.DagID != "" {
		q += ` AND dag_id = ?`
		args = append(args, p.DagID)
	}
	rows, err := s.read.QueryContext(ctx, q+` GROUP BY dag_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count dag runs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count dag runs: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

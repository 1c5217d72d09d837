package sqlq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// runCols are the columns scanRun reads, in order.
const runCols = `dag_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end,
	conf, source_hash, queued_at, start_date, end_date, created_at, updated_at`

// scanRun reads a run; a corrupt conf is reported in ConfError.
func scanRun(r Scanner) (*store.DagRun, error) {
	var d store.DagRun
	var conf string
	if err := r.Scan(&d.DagID, &d.RunID, &d.RunType, &d.State, At(&d.LogicalDate), At(&d.DataIntervalStart), At(&d.DataIntervalEnd),
		&conf, &d.SourceHash, At(&d.QueuedAt), At(&d.StartDate), At(&d.EndDate), At(&d.CreatedAt), At(&d.UpdatedAt)); err != nil {
		return nil, err
	}
	c, err := store.DecodeJSONObject(fmt.Sprintf("conf of dag run %s/%s", d.DagID, d.RunID), conf)
	if err != nil {
		d.ConfError = err.Error()
		d.Conf = map[string]any{}
	} else {
		d.Conf = c
	}
	return &d, nil
}

// params returns the placeholders of the arguments from..to (1-based),
// comma separated.
func params(d Dialect, from, to int) string {
	ps := make([]string, 0, to-from+1)
	for n := from; n <= to; n++ {
		ps = append(ps, d.Param(n))
	}
	return strings.Join(ps, ", ")
}

// RunCreate is store.Store.RunCreate over a store's Conn.
func (m Methods) RunCreate(ctx context.Context, p *store.RunCreateParams) (*store.DagRun, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	conf, err := p.EncodeConf()
	if err != nil {
		return nil, err
	}
	d := c.D
	t := now()
	q := `INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,
		data_interval_start, data_interval_end, conf, source_hash, queued_at, start_date, created_at, updated_at)
		VALUES (` + params(d, 1, 12) + `, ` + d.Param(12) + `) RETURNING ` + runCols
	var run *store.DagRun
	rctx, retried := TrackRetry(ctx)
	err = c.WriteRow(rctx, q, []any{p.DagID, p.RunID, p.RunType, p.State, d.Time(p.LogicalDate), d.Time(p.DataIntervalStart),
		d.Time(p.DataIntervalEnd), conf, p.SourceHash, d.Time(p.QueuedAt), d.Time(p.StartDate), d.Time(t)},
		func(r Scanner) error {
			var err error
			run, err = scanRun(r)
			return err
		})
	if err != nil && c.IsUnique(err) {
		existing, gerr := m.RunGet(ctx, p.DagID, p.RunID)
		if gerr == nil || errors.Is(gerr, store.ErrCorrupt) {
			// A retry after a lost commit finds its own run.
			if *retried && existing.CreatedAt.Equal(t) && existing.LogicalDate.Equal(p.LogicalDate) {
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

// RunGet is store.Store.RunGet over a store's Conn: a corrupt conf is an
// error wrapping store.ErrCorrupt, with the run.
func (m Methods) RunGet(ctx context.Context, dagID, runID string) (*store.DagRun, error) {
	c := m.c
	var run *store.DagRun
	err := c.ScanRow(ctx, `SELECT `+runCols+` FROM dag_run WHERE dag_id = `+c.D.Param(1)+` AND run_id = `+c.D.Param(2),
		[]any{dagID, runID}, func(r Scanner) error {
			var err error
			run, err = scanRun(r)
			return err
		})
	if errors.Is(err, ErrNoRows) {
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

// RunList is store.Store.RunList over a store's Conn.
func (m Methods) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	c := m.c
	q, args := RunListSQL(c.D, p)
	out, err := QueryAll(ctx, c, q, args, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list dag runs: %w", err)
	}
	return out, nil
}

// RunListSQL is the query of store.Store.RunList.
func RunListSQL(d Dialect, p *store.RunListParams) (string, []any) {
	w := &where{d: d}
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	if len(p.States) > 0 {
		w.few("state", strs(p.States))
	}
	if len(p.RunTypes) > 0 {
		w.few("run_type", strs(p.RunTypes))
	}
	if !p.LogicalDateFrom.IsZero() {
		w.cmp("logical_date", ">=", d.Time(store.Truncate(p.LogicalDateFrom)))
	}
	if !p.LogicalDateTo.IsZero() {
		w.cmp("logical_date", "<", d.Time(store.Truncate(p.LogicalDateTo)))
	}
	return `SELECT ` + runCols + ` FROM dag_run` + w.clause() + p.OrderBy() + w.page(p.Limit, p.Offset), w.args
}

// RunSetState is store.Store.RunSetState over a store's Conn.
func (m Methods) RunSetState(ctx context.Context, p *store.RunSetStateParams) (*store.DagRun, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	d := c.D
	w := &where{d: d, args: []any{p.To, d.Time(p.StartDate), d.Time(p.EndDate), d.Time(store.Truncate(time.Now()))}}
	w.eq("dag_id", p.DagID)
	w.eq("run_id", p.RunID)
	if len(p.From) > 0 {
		w.few("state", strs(p.From))
	}
	q := `UPDATE dag_run SET state = ` + d.Param(1) + `, start_date = COALESCE(` + d.Param(2) + `, start_date),
		end_date = CASE WHEN ` + d.Param(3) + d.TimeCast + ` IS NOT NULL THEN ` + d.Param(3) + ` WHEN ` + d.Param(1) + ` IN ('queued', 'running') THEN NULL ELSE end_date END,
		updated_at = ` + d.Param(4) + w.clause() + ` RETURNING ` + runCols
	var run *store.DagRun
	rctx, retried := TrackRetry(ctx)
	err := c.WriteRow(rctx, q, w.args, func(r Scanner) error {
		var err error
		run, err = scanRun(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		cur, gerr := m.RunGet(ctx, p.DagID, p.RunID)
		if gerr != nil && !errors.Is(gerr, store.ErrCorrupt) {
			return nil, gerr
		}
		if *retried && cur.State == p.To && (p.EndDate.IsZero() || cur.EndDate.Equal(p.EndDate)) {
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

// RunCount is store.Store.RunCount over a store's Conn.
func (m Methods) RunCount(ctx context.Context, p *store.RunCountParams) (map[string]int, error) {
	c := m.c
	w := &where{d: c.D}
	w.few("state", strs(p.ActiveStates()))
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	out := map[string]int{}
	err := c.Query(ctx, `SELECT dag_id, COUNT(*) FROM dag_run`+w.clause()+` GROUP BY dag_id`, w.args,
		func() { clear(out) }, func(r Scanner) error {
			var id string
			var n int
			if err := r.Scan(&id, &n); err != nil {
				return err
			}
			out[id] = n
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count dag runs: %w", err)
	}
	return out, nil
}

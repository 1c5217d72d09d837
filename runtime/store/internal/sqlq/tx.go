package sqlq

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Tx is one open write transaction of a store: the few statements whose Go
// differs by driver. The transactions of task instances that both stores
// run (SetStates, EndTry) are written once over it.
type Tx interface {
	// SetStates applies compare-and-set transitions in order and reports
	// which won.
	SetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error)
	// Get reads one task instance (an error wrapping store.ErrNotFound
	// when it is absent).
	Get(ctx context.Context, key store.TaskInstanceKey) (*store.TaskInstance, error)
	// LogAppend appends p.Data to the log of one try (the statement of
	// LogAppend) and returns the log's new size.
	LogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error)
	// Exec runs one statement of this package's dialect and returns the
	// number of rows it changed.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
}

// RunTx runs fn in one write transaction of a store: again, with retried
// true, after a lost connection where the store retries a transaction.
type RunTx func(ctx context.Context, fn func(tx Tx, retried bool) error) error

// TaskInstancesSetStates is store.Store.TaskInstancesSetStates over a
// store's transactions.
func TaskInstancesSetStates(ctx context.Context, d Dialect, run RunTx, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	for _, p := range ps {
		if err := p.Normalize(); err != nil {
			return nil, err
		}
	}
	if len(ps) == 0 {
		return []bool{}, nil
	}
	var applied []bool
	err := run(ctx, func(tx Tx, retried bool) error {
		var err error
		applied, err = SetStates(ctx, d, tx, ps, retried)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set task instance states: %w", err)
	}
	return applied, nil
}

// TaskInstanceEnd is store.Store.TaskInstanceEnd over a store's
// transactions.
func TaskInstanceEnd(ctx context.Context, d Dialect, run RunTx, p *store.TaskInstanceEndParams) ([]bool, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var applied []bool
	err := run(ctx, func(tx Tx, retried bool) error {
		var err error
		applied, err = EndTry(ctx, d, tx, p, retried)
		return err
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// TaskInstanceSetStateTx is store.Store.TaskInstanceSetState over a
// store's transactions (for transitions that write more than the row,
// such as ClearXComs).
func TaskInstanceSetStateTx(ctx context.Context, d Dialect, run RunTx, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	var ti *store.TaskInstance
	err := run(ctx, func(tx Tx, retried bool) error {
		var err error
		ti, err = SetState(ctx, d, tx, p, retried)
		return err
	})
	return ti, err
}

// xcomClear returns the statement that deletes a task instance's XComs.
func xcomClear(d Dialect, k store.TaskInstanceKey) (string, []any) {
	w := &where{d: d}
	w.eq("dag_id", k.DagID)
	w.eq("run_id", k.RunID)
	w.eq("task_id", k.TaskID)
	w.eq("map_index", k.MapIndex)
	return "DELETE FROM xcom WHERE " + strings.Join(w.conds, " AND "), w.args
}

// SetState applies one transition in tx and returns the instance as it is
// then; an error wrapping store.ErrStale when it lost. retried is as for
// SetStates.
func SetState(ctx context.Context, d Dialect, tx Tx, p *store.TaskInstanceSetStateParams, retried bool) (*store.TaskInstance, error) {
	won, err := SetStates(ctx, d, tx, []*store.TaskInstanceSetStateParams{p}, false)
	if err != nil {
		return nil, err
	}
	cur, err := tx.Get(ctx, p.Key)
	if err != nil {
		return nil, err
	}
	if !won[0] && !(retried && p.Matches(cur)) {
		return nil, p.StaleError(cur)
	}
	return cur, nil
}

// SetStates applies the transitions ps in tx. retried says the
// transaction runs again after a lost connection: a transition that then
// finds its own result was applied by the attempt that committed.
func SetStates(ctx context.Context, d Dialect, tx Tx, ps []*store.TaskInstanceSetStateParams, retried bool) ([]bool, error) {
	if len(ps) == 0 {
		return []bool{}, nil
	}
	applied, err := tx.SetStates(ctx, ps)
	if err != nil {
		return nil, err
	}
	for i, p := range ps {
		if applied[i] && p.ClearXComs {
			q, args := xcomClear(d, p.Key)
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("clear xcoms of %s: %w", p.Key, err)
			}
		}
		if applied[i] && p.LogFile != nil {
			q, args := taskLogFileStart(d, p.LogFile)
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("index log file of %s: %w", p.Key, err)
			}
		}
	}
	if retried {
		for i, p := range ps {
			if !applied[i] {
				if cur, err := tx.Get(ctx, p.Key); err == nil && p.Matches(cur) {
					applied[i] = true
				}
			}
		}
	}
	return applied, nil
}

// EndTry records the end of a try in tx (store.Store.TaskInstanceEnd): the
// outcome first, and only when it wins the log's tail and the transitions
// that follow. retried is as for SetStates: when the outcome is found
// already recorded, the attempt that lost its connection committed all of
// it, and nothing is written again.
func EndTry(ctx context.Context, d Dialect, tx Tx, p *store.TaskInstanceEndParams, retried bool) ([]bool, error) {
	applied, lost, err := endTry(ctx, d, tx, p, retried)
	if err != nil {
		return nil, err
	}
	return applied, lost
}

// endTry is EndTry that tells an end that lost (lost: ErrStale or
// ErrNotFound, nothing written) from a failed statement (err: the
// transaction must not commit).
func endTry(ctx context.Context, d Dialect, tx Tx, p *store.TaskInstanceEndParams, retried bool) (applied []bool, lost, err error) {
	won, err := SetStates(ctx, d, tx, []*store.TaskInstanceSetStateParams{&p.State}, false)
	if err != nil {
		return nil, nil, err
	}
	if !won[0] {
		cur, err := tx.Get(ctx, p.State.Key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, err, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if !retried || !p.State.Matches(cur) {
			return nil, p.State.StaleError(cur), nil
		}
		applied := make([]bool, len(p.Then))
		for i, t := range p.Then {
			if cur, err := tx.Get(ctx, t.Key); err == nil && t.Matches(cur) {
				applied[i] = true
			}
		}
		return applied, nil, nil
	}
	if len(p.Log) > 0 {
		lp := &store.TaskLogAppendParams{Key: p.State.Key, TryNumber: p.State.FromTryNumber, Data: p.Log}
		if _, err := tx.LogAppend(ctx, lp); err != nil {
			return nil, nil, fmt.Errorf("append to log of %s: %w", p.State.Key, err)
		}
	}
	if p.LogFile != nil {
		q, args := TaskLogFileSet(d, p.LogFile)
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return nil, nil, fmt.Errorf("index log file of %s: %w", p.State.Key, err)
		}
	}
	applied, err = SetStates(ctx, d, tx, p.Then, false)
	return applied, nil, err
}

// TaskInstancesEnd is store.Store.TaskInstancesEnd over a store's
// transactions: the ends one after the other in one transaction.
func TaskInstancesEnd(ctx context.Context, d Dialect, run RunTx, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	for _, p := range ps {
		if err := p.Normalize(); err != nil {
			return nil, err
		}
	}
	var out []store.TaskInstanceEndResult
	err := run(ctx, func(tx Tx, retried bool) error {
		out = make([]store.TaskInstanceEndResult, len(ps))
		for i, p := range ps {
			applied, lost, err := endTry(ctx, d, tx, p, retried)
			if err != nil {
				return err
			}
			out[i] = store.TaskInstanceEndResult{Applied: applied, Err: lost}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %d try ends: %w", len(ps), err)
	}
	return out, nil
}

// LogAppend returns the statement that appends a chunk to the log of one
// try at the log's end, and its arguments; it returns the log's new size
// (byte_offset + length of the chunk). The key's placeholders are used
// twice: in the selected values and in the condition.
func LogAppend(d Dialect, p *store.TaskLogAppendParams) (string, []any) {
	k := p.Key
	w := &where{d: d}
	w.eq("dag_id", k.DagID)
	w.eq("run_id", k.RunID)
	w.eq("task_id", k.TaskID)
	w.eq("map_index", k.MapIndex)
	w.eq("try_number", p.TryNumber)
	w.args = append(w.args, p.Data)
	vals := make([]string, len(w.args))
	for i := range vals {
		vals[i] = d.Param(i + 1)
	}
	n := d.OctetLength
	q := `INSERT INTO task_log (dag_id, run_id, task_id, map_index, try_number, byte_offset, data)
		SELECT ` + strings.Join(vals[:5], ", ") + `, COALESCE(MAX(byte_offset + ` + n + `(data)), 0), ` + vals[5] + `
		FROM task_log WHERE ` + strings.Join(w.conds, " AND ") + `
		RETURNING byte_offset + ` + n + `(data)`
	return q, w.args
}

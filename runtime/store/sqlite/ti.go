package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

const tiCols = `dag_id, run_id, task_id, map_index, state, try_number, max_tries, hostname, pid, pool,
	pool_slots, priority_weight, queue, operator, logical_date, queued_at, start_date, end_date,
	duration_us, next_retry_at, heartbeat_at, updated_at, reschedule_count, rendered_map_index`

func scanTI(r scanner) (*store.TaskInstance, error) {
	var ti store.TaskInstance
	var ld, qa, sd, ed, dur, nr, hb, ua sql.NullInt64
	if err := r.Scan(&ti.DagID, &ti.RunID, &ti.TaskID, &ti.MapIndex, &ti.State, &ti.TryNumber, &ti.MaxTries,
		&ti.Hostname, &ti.PID, &ti.Pool, &ti.PoolSlots, &ti.PriorityWeight, &ti.Queue, &ti.Operator,
		&ld, &qa, &sd, &ed, &dur, &nr, &hb, &ua, &ti.RescheduleCount, &ti.RenderedMapIndex); err != nil {
		return nil, err
	}
	ti.LogicalDate, ti.QueuedAt, ti.StartDate, ti.EndDate = tget(ld), tget(qa), tget(sd), tget(ed)
	ti.NextRetryAt, ti.HeartbeatAt, ti.UpdatedAt = tget(nr), tget(hb), tget(ua)
	if dur.Valid {
		ti.Duration = time.Duration(dur.Int64) * time.Microsecond
	}
	return &ti, nil
}

func scanTIs(rows *sql.Rows) ([]*store.TaskInstance, error) {
	defer rows.Close()
	var out []*store.TaskInstance
	for rows.Next() {
		ti, err := scanTI(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, rows.Err()
}

// TaskInstancesCreate creates a run's task instances in one transaction.
func (s *Store) TaskInstancesCreate(ctx context.Context, p *store.TaskInstancesCreateParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	created := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var ld int64
		err := tx.QueryRowContext(ctx, `SELECT logical_date FROM dag_run WHERE dag_id = ? AND run_id = ?`, p.DagID, p.RunID).Scan(&ld)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("create task instances: dag run %s/%s: %w", p.DagID, p.RunID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create task instances of %s/%s: %w", p.DagID, p.RunID, err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state,
			max_tries, pool, pool_slots, priority_weight, queue, operator, logical_date, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("create task instances of %s/%s: %w", p.DagID, p.RunID, err)
		}
		defer stmt.Close()
		t := tv(now())
		for _, ti := range p.Tasks {
			res, err := stmt.ExecContext(ctx, p.DagID, p.RunID, ti.TaskID, ti.MapIndex, ti.State, ti.MaxTries,
				ti.Pool, ti.PoolSlots, ti.PriorityWeight, ti.Queue, ti.Operator, ld, t)
			if err != nil {
				return fmt.Errorf("create task instance %s/%s/%s: %w", p.DagID, p.RunID, ti.TaskID, err)
			}
			n, _ := res.RowsAffected()
			created += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// TaskInstanceGet returns one task instance.
func (s *Store) TaskInstanceGet(ctx context.Context, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	if st := s.cached(ctx, s.read, getTISQL); st != nil {
		return scanGetTI(key, st.QueryRowContext(ctx, key.DagID, key.RunID, key.TaskID, key.MapIndex))
	}
	return getTI(ctx, s.read, key)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getTI(ctx context.Context, q querier, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	return scanGetTI(key, q.QueryRowContext(ctx, getTISQL, key.DagID, key.RunID, key.TaskID, key.MapIndex))
}

// getTISQL reads one task instance by its key.
const getTISQL = `SELECT ` + tiCols + ` FROM task_instance
		WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ?`

// scanGetTI scans the row of getTISQL.
func scanGetTI(key store.TaskInstanceKey, row *sql.Row) (*store.TaskInstance, error) {
	ti, err := scanTI(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("task instance %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get task instance %s: %w", key, err)
	}
	return ti, nil
}

// TaskInstanceList returns task instances matching the filters.
func (s *Store) TaskInstanceList(ctx context.Context, p *store.TaskInstanceListParams) ([]*store.TaskInstance, error) {
	q, args := sqlq.TaskInstanceListSQL(sqlq.SQLite, tiCols, p)
	var rows *sql.Rows
	var err error
	if st := s.cached(ctx, s.read, q); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = s.read.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("list task instances: %w", err)
	}
	out, err := scanTIs(rows)
	if err != nil {
		return nil, fmt.Errorf("list task instances: %w", err)
	}
	return out, nil
}

// setStateSQL is the compare-and-set transition of one task instance: one
// statement text for every transition (the From states are one JSON list,
// NULL for any), so that it is prepared once (see Store.stmt). A move to
// up_for_reschedule counts in reschedule_count, which a new try number or
// a move to none resets; while it is above zero a move to running keeps
// the first start_date.
const setStateSQL = `UPDATE task_instance SET
	state = :to,
	try_number = COALESCE(:try, try_number),
	max_tries = COALESCE(:max_tries, max_tries),
	hostname = COALESCE(:host, hostname),
	pid = COALESCE(:pid, pid),
	queued_at = COALESCE(:queued, queued_at),
	start_date = CASE WHEN :to = 'running' AND reschedule_count > 0 AND start_date IS NOT NULL THEN start_date
		ELSE COALESCE(:start, start_date) END,
	reschedule_count = CASE WHEN :to = 'up_for_reschedule' THEN reschedule_count + 1
		WHEN :to = 'none' OR (:try IS NOT NULL AND :try <> try_number) THEN 0 ELSE reschedule_count END,
	end_date = CASE WHEN :end IS NOT NULL THEN :end WHEN :to = 'running' THEN NULL ELSE end_date END,
	duration_us = CASE WHEN :end IS NOT NULL THEN :end - COALESCE(:start, start_date)
		WHEN :to = 'running' THEN NULL ELSE duration_us END,
	heartbeat_at = CASE WHEN :to = 'running' THEN COALESCE(:start, :now) ELSE heartbeat_at END,
	next_retry_at = :next_retry,
	rendered_map_index = CASE WHEN :rmi <> '' THEN :rmi WHEN :to = 'none' THEN '' ELSE rendered_map_index END,
	updated_at = :now
	WHERE dag_id = :dag AND run_id = :run AND task_id = :task AND map_index = :map
	AND (:from IS NULL OR state IN (SELECT value FROM json_each(:from)))
	AND (:from_try = 0 OR try_number = :from_try)`

func nz[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func setStateArgs(p *store.TaskInstanceSetStateParams, t time.Time) []any {
	var from any
	if len(p.From) > 0 {
		b, _ := json.Marshal(p.From) // states always encode
		from = string(b)
	}
	return []any{
		sql.Named("to", string(p.To)), sql.Named("try", nz(p.TryNumber)), sql.Named("max_tries", nz(p.MaxTries)),
		sql.Named("host", nz(p.Hostname)), sql.Named("pid", nz(p.PID)), sql.Named("queued", tv(p.QueuedAt)),
		sql.Named("start", tv(p.StartDate)), sql.Named("end", tv(p.EndDate)), sql.Named("next_retry", tv(p.NextRetryAt)),
		sql.Named("now", tv(t)), sql.Named("dag", p.Key.DagID), sql.Named("run", p.Key.RunID),
		sql.Named("task", p.Key.TaskID), sql.Named("map", p.Key.MapIndex), sql.Named("rmi", p.RenderedMapIndex),
		sql.Named("from", from), sql.Named("from_try", p.FromTryNumber),
	}
}

// TaskInstanceSetState applies one compare-and-set transition.
func (s *Store) TaskInstanceSetState(ctx context.Context, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	if p.ClearXComs || p.LogFile != nil {
		return sqlq.TaskInstanceSetStateTx(ctx, sqlq.SQLite, s.runTx, p)
	}
	st, err := s.stmt(ctx, setStateSQL+` RETURNING `+tiCols)
	if err != nil {
		return nil, fmt.Errorf("set state of task instance %s: %w", p.Key, err)
	}
	// One statement commits on its own; the lookup after a lost race
	// only explains it.
	ti, err := scanTI(st.QueryRowContext(ctx, setStateArgs(p, now())...))
	if errors.Is(err, sql.ErrNoRows) {
		cur, gerr := getTI(ctx, s.write, p.Key)
		if gerr != nil {
			return nil, gerr
		}
		return nil, p.StaleError(cur)
	}
	if err != nil {
		return nil, fmt.Errorf("set state of task instance %s: %w", p.Key, err)
	}
	return ti, nil
}

// TaskInstancesSetStates applies many transitions in one transaction.
func (s *Store) TaskInstancesSetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	return sqlq.TaskInstancesSetStates(ctx, sqlq.SQLite, s.runTx, ps)
}

// TaskInstanceEnd records the end of a try in one transaction.
func (s *Store) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	return sqlq.TaskInstanceEnd(ctx, sqlq.SQLite, s.runTx, p)
}

// TaskInstancesEnd records several try ends in one transaction.
func (s *Store) TaskInstancesEnd(ctx context.Context, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	return sqlq.TaskInstancesEnd(ctx, sqlq.SQLite, s.runTx, ps)
}

// writeTx is a write transaction as sqlq.Tx, running the store's cached
// prepared statements.
type writeTx struct {
	s   *Store
	tx  *sql.Tx
	now time.Time
}

// inWriteTx runs fn in a write transaction (see inTx).
func (s *Store) inWriteTx(ctx context.Context, fn func(w *writeTx) error) error {
	// The statements are prepared before the transaction takes the one
	// writer connection: preparing on the pool needs it free.
	for _, q := range []string{setStateSQL, logAppendSQL} {
		if _, err := s.stmt(ctx, q); err != nil {
			return err
		}
	}
	t := now()
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(&writeTx{s: s, tx: tx, now: t}) })
}

// runTx is inWriteTx as a sqlq.RunTx (SQLite never retries).
func (s *Store) runTx(ctx context.Context, fn func(tx sqlq.Tx, retried bool) error) error {
	return s.inWriteTx(ctx, func(w *writeTx) error { return fn(w, false) })
}

// prepared returns the cached statement q (prepared by inWriteTx) bound to
// the transaction.
func (w *writeTx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	st, err := w.s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return w.tx.StmtContext(ctx, st), nil
}

// SetStates applies the transitions in order.
func (w *writeTx) SetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	st, err := w.prepared(ctx, setStateSQL)
	if err != nil {
		return nil, fmt.Errorf("set task instance states: %w", err)
	}
	applied := make([]bool, len(ps))
	for i, p := range ps {
		res, err := st.ExecContext(ctx, setStateArgs(p, w.now)...)
		if err != nil {
			return nil, fmt.Errorf("set state of task instance %s: %w", p.Key, err)
		}
		n, _ := res.RowsAffected()
		applied[i] = n > 0
	}
	return applied, nil
}

// Exec runs one statement (prepared once the store keeps it).
func (w *writeTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if st := w.s.txStmt(ctx, w.tx, q); st != nil {
		return execCount(st.ExecContext(ctx, args...))
	}
	return execCount(w.tx.ExecContext(ctx, q, args...))
}

// Get reads one task instance.
func (w *writeTx) Get(ctx context.Context, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	if st := w.s.txStmt(ctx, w.tx, getTISQL); st != nil {
		return scanGetTI(key, st.QueryRowContext(ctx, key.DagID, key.RunID, key.TaskID, key.MapIndex))
	}
	return getTI(ctx, w.tx, key)
}

// logAppendSQL is sqlq.LogAppend's statement in this dialect (its text
// does not depend on the arguments).
var logAppendSQL, _ = sqlq.LogAppend(sqlq.SQLite, &store.TaskLogAppendParams{})

// LogAppend appends to a try's log and returns its new size.
func (w *writeTx) LogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	st, err := w.prepared(ctx, logAppendSQL)
	if err != nil {
		return 0, err
	}
	_, args := sqlq.LogAppend(sqlq.SQLite, p)
	var size int64
	err = st.QueryRowContext(ctx, args...).Scan(&size)
	if isForeignKey(err) {
		return 0, fmt.Errorf("task instance %s: %w", p.Key, store.ErrNotFound)
	}
	return size, err
}

// TaskInstanceClaim moves up to p.Limit scheduled instances to queued.
func (s *Store) TaskInstanceClaim(ctx context.Context, p *store.TaskInstanceClaimParams) ([]*store.TaskInstance, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	where := []string{"state = 'scheduled'"}
	args := []any{tv(p.QueuedAt), tv(p.QueuedAt)}
	for _, f := range []struct{ col, val string }{{"pool", p.Pool}, {"queue", p.Queue}, {"dag_id", p.DagID}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	args = append(args, p.Limit)
	q := `UPDATE task_instance SET state = 'queued', queued_at = ?, updated_at = ?
		WHERE (dag_id, run_id, task_id, map_index) IN (
			SELECT dag_id, run_id, task_id, map_index FROM task_instance` + whereClause(where) + `
			ORDER BY priority_weight DESC, logical_date, dag_id, run_id, task_id, map_index LIMIT ?)
		RETURNING ` + tiCols
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("claim task instances: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("claim task instances: %w", err)
	}
	out, err := scanTIs(rows)
	if err != nil {
		return nil, fmt.Errorf("claim task instances: %w", err)
	}
	sortClaimed(out)
	return out, nil
}

// sortClaimed puts claimed instances in claim order: highest priority
// weight first, then oldest logical date.
func sortClaimed(tis []*store.TaskInstance) {
	sort.Slice(tis, func(i, j int) bool {
		a, b := tis[i], tis[j]
		if a.PriorityWeight != b.PriorityWeight {
			return a.PriorityWeight > b.PriorityWeight
		}
		if !a.LogicalDate.Equal(b.LogicalDate) {
			return a.LogicalDate.Before(b.LogicalDate)
		}
		return a.TaskInstanceKey.String() < b.TaskInstanceKey.String()
	})
}

// TaskInstanceHeartbeat records that a running try is alive.
func (s *Store) TaskInstanceHeartbeat(ctx context.Context, p *store.TaskInstanceHeartbeatParams) error {
	if err := p.Key.Validate(); err != nil {
		return err
	}
	k := p.Key
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE task_instance SET heartbeat_at = ? WHERE dag_id = ? AND run_id = ?
			AND task_id = ? AND map_index = ? AND state = 'running' AND try_number = ?`,
			tv(store.TimeOrNow(p.At)), k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber)
		if err != nil {
			return fmt.Errorf("heartbeat of %s: %w", k, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		cur, err := getTI(ctx, tx, k)
		if err != nil {
			return err
		}
		return fmt.Errorf("heartbeat of %s try %d: it is %s at try %d: %w", k, p.TryNumber, cur.State, cur.TryNumber, store.ErrStale)
	})
}

// TaskInstanceStates returns the scheduler's view of a run's task instances.
func (s *Store) TaskInstanceStates(ctx context.Context, p *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	q, args, ok := sqlq.TaskInstanceStates(sqlq.SQLite, p)
	if !ok {
		return nil, nil
	}
	st, err := s.readStmt(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("task instance states of %s/%s: %w", p.DagID, p.RunID, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("task instance states of %s/%s: %w", p.DagID, p.RunID, err)
	}
	defer rows.Close()
	var out []store.TaskInstanceState
	for rows.Next() {
		var st store.TaskInstanceState
		var nr sql.NullInt64
		if err := rows.Scan(&st.TaskID, &st.MapIndex, &st.State, &st.TryNumber, &nr); err != nil {
			return nil, fmt.Errorf("task instance states of %s/%s: %w", p.DagID, p.RunID, err)
		}
		st.NextRetryAt = tget(nr)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("task instance states of %s/%s: %w", p.DagID, p.RunID, err)
	}
	return out, nil
}

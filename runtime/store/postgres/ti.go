package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

const tiCols = `dag_id, run_id, task_id, map_index, state, try_number, max_tries, hostname, pid, pool,
	pool_slots, priority_weight, queue, operator, logical_date, queued_at, start_date, end_date,
	duration_us, next_retry_at, heartbeat_at, updated_at, reschedule_count, rendered_map_index`

// prefixed returns cols with every column qualified by alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func scanTI(r pgx.Row) (*store.TaskInstance, error) {
	var ti store.TaskInstance
	var ld, qa, sd, ed, nr, hb, ua *time.Time
	var dur *int64
	if err := r.Scan(&ti.DagID, &ti.RunID, &ti.TaskID, &ti.MapIndex, &ti.State, &ti.TryNumber, &ti.MaxTries,
		&ti.Hostname, &ti.PID, &ti.Pool, &ti.PoolSlots, &ti.PriorityWeight, &ti.Queue, &ti.Operator,
		&ld, &qa, &sd, &ed, &dur, &nr, &hb, &ua, &ti.RescheduleCount, &ti.RenderedMapIndex); err != nil {
		return nil, err
	}
	ti.LogicalDate, ti.QueuedAt, ti.StartDate, ti.EndDate = tget(ld), tget(qa), tget(sd), tget(ed)
	ti.NextRetryAt, ti.HeartbeatAt, ti.UpdatedAt = tget(nr), tget(hb), tget(ua)
	if dur != nil {
		ti.Duration = time.Duration(*dur) * time.Microsecond
	}
	return &ti, nil
}

// TaskInstancesCreate creates a run's task instances in one statement.
func (s *Store) TaskInstancesCreate(ctx context.Context, p *store.TaskInstancesCreateParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := len(p.Tasks)
	var (
		taskIDs                          = make([]string, n)
		states, pools, queues, ops       = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		mapIdx, maxTries, slots, weights = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	)
	for i, t := range p.Tasks {
		taskIDs[i], states[i], pools[i], queues[i], ops[i] = t.TaskID, string(t.State), t.Pool, t.Queue, t.Operator
		mapIdx[i], maxTries[i], slots[i], weights[i] = int32(t.MapIndex), int32(t.MaxTries), int32(t.PoolSlots), int32(t.PriorityWeight)
	}
	var created int64
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, max_tries,
			pool, pool_slots, priority_weight, queue, operator, logical_date, updated_at)
			SELECT r.dag_id, r.run_id, t.task_id, t.map_index, t.state, t.max_tries, t.pool, t.pool_slots,
				t.priority_weight, t.queue, t.operator, r.logical_date, $12
			FROM dag_run r, unnest($3::text[], $4::int[], $5::text[], $6::int[], $7::text[], $8::int[], $9::int[], $10::text[], $11::text[])
				AS t(task_id, map_index, state, max_tries, pool, pool_slots, priority_weight, queue, operator)
			WHERE r.dag_id = $1 AND r.run_id = $2
			ON CONFLICT DO NOTHING`,
			p.DagID, p.RunID, taskIDs, mapIdx, states, maxTries, pools, slots, weights, queues, ops, now())
		created = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create task instances of %s/%s: %w", p.DagID, p.RunID, err)
	}
	if created == 0 && n > 0 {
		if _, err := s.RunGet(ctx, p.DagID, p.RunID); errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("create task instances: %w", err)
		}
	}
	return int(created), nil
}

// TaskInstanceGet returns one task instance.
func (s *Store) TaskInstanceGet(ctx context.Context, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	var ti *store.TaskInstance
	err := s.do(ctx, func(int) error {
		var err error
		ti, err = getTI(ctx, s.pool, key)
		return err
	})
	return ti, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getTI(ctx context.Context, q querier, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	ti, err := scanTI(q.QueryRow(ctx, `SELECT `+tiCols+` FROM task_instance
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`, key.DagID, key.RunID, key.TaskID, key.MapIndex))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("task instance %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get task instance %s: %w", key, err)
	}
	return ti, nil
}

// TaskInstanceList returns task instances matching the filters.
func (s *Store) TaskInstanceList(ctx context.Context, p *store.TaskInstanceListParams) ([]*store.TaskInstance, error) {
	q, args := taskInstanceListSQL(p)
	var out []*store.TaskInstance
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanTI)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list task instances: %w", err)
	}
	return out, nil
}

// taskInstanceListSQL builds TaskInstanceList's query.
func taskInstanceListSQL(p *store.TaskInstanceListParams) (string, []any) {
	return sqlq.TaskInstanceListSQL(sqlq.Postgres, tiCols, p)
}

// setStateSQL is the compare-and-set transition of one task instance. A
// move to up_for_reschedule counts in reschedule_count, which a new try
// number or a move to none resets; while it is above zero a move to
// running keeps the first start_date. The expected states are compared as
// an expression (the state concatenated with the empty string), not the
// column: the planner then cannot take the partial index of unfinished
// task instances for this lookup by the whole key (it did, without
// statistics, and filtered the task id out of the run's unfinished rows),
// only the primary key.
const setStateSQL = `UPDATE task_instance SET
	state = $1,
	try_number = COALESCE($2, try_number),
	max_tries = COALESCE($3, max_tries),
	hostname = COALESCE($4, hostname),
	pid = COALESCE($5, pid),
	queued_at = COALESCE($6, queued_at),
	start_date = CASE WHEN $1 = 'running' AND reschedule_count > 0 AND start_date IS NOT NULL THEN start_date
		ELSE COALESCE($7, start_date) END,
	reschedule_count = CASE WHEN $1 = 'up_for_reschedule' THEN reschedule_count + 1
		WHEN $1 = 'none' OR ($2::int IS NOT NULL AND $2 <> try_number) THEN 0 ELSE reschedule_count END,
	end_date = CASE WHEN $8::timestamptz IS NOT NULL THEN $8 WHEN $1 = 'running' THEN NULL ELSE end_date END,
	duration_us = CASE
		WHEN $8::timestamptz IS NOT NULL THEN (EXTRACT(EPOCH FROM ($8 - COALESCE($7, start_date))) * 1000000)::bigint
		WHEN $1 = 'running' THEN NULL ELSE duration_us END,
	heartbeat_at = CASE WHEN $1 = 'running' THEN COALESCE($7, $10) ELSE heartbeat_at END,
	next_retry_at = $9,
	rendered_map_index = CASE WHEN $17::text <> '' THEN $17 WHEN $1 = 'none' THEN '' ELSE rendered_map_index END,
	updated_at = $10
	WHERE dag_id = $11 AND run_id = $12 AND task_id = $13 AND map_index = $14
	AND ($15::text[] IS NULL OR (state || '') = ANY($15))
	AND ($16::int = 0 OR try_number = $16)`

func setStateArgs(p *store.TaskInstanceSetStateParams, t time.Time) []any {
	return []any{string(p.To), nz(p.TryNumber), nz(p.MaxTries), nz(p.Hostname), nz(p.PID), tv(p.QueuedAt),
		tv(p.StartDate), tv(p.EndDate), tv(p.NextRetryAt), t, p.Key.DagID, p.Key.RunID, p.Key.TaskID, p.Key.MapIndex,
		strs(p.From), p.FromTryNumber, p.RenderedMapIndex}
}

// TaskInstanceSetState applies one compare-and-set transition.
func (s *Store) TaskInstanceSetState(ctx context.Context, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	q := setStateSQL + ` RETURNING ` + tiCols
	args := setStateArgs(p, now())
	if p.ClearXComs || p.LogFile != nil {
		// One statement (one round trip, one transaction): the XComs go
		// and the log file is indexed only when the transition wins.
		parts := []string{`ti AS (` + q + `)`}
		if p.ClearXComs {
			parts = append(parts, `gone AS (DELETE FROM xcom x USING ti WHERE x.dag_id = ti.dag_id
			AND x.run_id = ti.run_id AND x.task_id = ti.task_id AND x.map_index = ti.map_index)`)
		}
		if f := p.LogFile; f != nil {
			n := len(args)
			parts = append(parts, fmt.Sprintf(`logf AS (INSERT INTO task_log_file (dag_id, run_id, task_id, map_index, try_number, path, hostname, size)
			SELECT dag_id, run_id, task_id, map_index, $%d::int, $%d::text, $%d::text, $%d::bigint FROM ti`, n+1, n+2, n+3, n+4)+
				sqlq.TaskLogFileStartConflict(sqlq.Postgres)+`)`)
			args = append(args, f.TryNumber, f.Path, f.Hostname, f.Size)
		}
		q = `WITH ` + strings.Join(parts, ", ") + ` SELECT ` + tiCols + ` FROM ti`
	}
	var out *store.TaskInstance
	err := s.do(ctx, func(attempt int) error {
		ti, err := scanTI(s.pool.QueryRow(ctx, q, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			cur, gerr := getTI(ctx, s.pool, p.Key)
			if gerr != nil {
				return gerr
			}
			if attempt > 0 && p.Matches(cur) {
				// The first attempt committed before the connection
				// was lost: this is our own result, not a lost race.
				out = cur
				return nil
			}
			return p.StaleError(cur)
		}
		if err != nil {
			return fmt.Errorf("set state of task instance %s: %w", p.Key, err)
		}
		out = ti
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TaskInstancesSetStates applies many transitions in one transaction.
func (s *Store) TaskInstancesSetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	return sqlq.TaskInstancesSetStates(ctx, sqlq.Postgres, s.runTx, ps)
}

// TaskInstanceEnd records the end of a try in one transaction.
func (s *Store) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	return sqlq.TaskInstanceEnd(ctx, sqlq.Postgres, s.runTx, p)
}

// TaskInstancesEnd records several try ends in one transaction.
func (s *Store) TaskInstancesEnd(ctx context.Context, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	return sqlq.TaskInstancesEnd(ctx, sqlq.Postgres, s.runTx, ps)
}

// writeTx is a transaction as sqlq.Tx.
type writeTx struct {
	tx  pgx.Tx
	now time.Time
}

// runTx runs fn in a transaction, retried as a whole on a lost connection
// (retried is then true): a sqlq.RunTx.
func (s *Store) runTx(ctx context.Context, fn func(tx sqlq.Tx, retried bool) error) error {
	t := now()
	return s.inTx(ctx, func(tx pgx.Tx, attempt int) error { return fn(&writeTx{tx: tx, now: t}, attempt > 0) })
}

// SetStates applies the transitions in one pipelined batch.
func (w *writeTx) SetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	batch := &pgx.Batch{}
	for _, p := range ps {
		batch.Queue(setStateSQL, setStateArgs(p, w.now)...)
	}
	res := w.tx.SendBatch(ctx, batch)
	applied := make([]bool, len(ps))
	for i := range ps {
		tag, err := res.Exec()
		if err != nil {
			res.Close()
			return nil, fmt.Errorf("set state of task instance %s: %w", ps[i].Key, err)
		}
		applied[i] = tag.RowsAffected() > 0
	}
	return applied, res.Close()
}

// Exec runs one statement.
func (w *writeTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := w.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

// Get reads one task instance.
func (w *writeTx) Get(ctx context.Context, key store.TaskInstanceKey) (*store.TaskInstance, error) {
	return getTI(ctx, w.tx, key)
}

// LogAppend appends to a try's log and returns its new size.
func (w *writeTx) LogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	q, args := sqlq.LogAppend(sqlq.Postgres, p)
	var size int64
	err := w.tx.QueryRow(ctx, q, args...).Scan(&size)
	if isForeignKey(err) {
		return 0, fmt.Errorf("task instance %s: %w", p.Key, store.ErrNotFound)
	}
	return size, err
}

// claimSQL picks scheduled instances with SKIP LOCKED, so concurrent
// claimers neither wait for nor receive each other's rows.
const claimSQL = `WITH picked AS (
	SELECT dag_id, run_id, task_id, map_index FROM task_instance
	WHERE state = 'scheduled' AND ($2 = '' OR pool = $2) AND ($3 = '' OR queue = $3) AND ($4 = '' OR dag_id = $4)
	ORDER BY priority_weight DESC, logical_date
	LIMIT $1
	FOR UPDATE SKIP LOCKED)
UPDATE task_instance ti SET state = 'queued', queued_at = $5, updated_at = $5
FROM picked
WHERE ti.dag_id = picked.dag_id AND ti.run_id = picked.run_id AND ti.task_id = picked.task_id AND ti.map_index = picked.map_index
RETURNING `

// TaskInstanceClaim moves up to p.Limit scheduled instances to queued.
func (s *Store) TaskInstanceClaim(ctx context.Context, p *store.TaskInstanceClaimParams) ([]*store.TaskInstance, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var out []*store.TaskInstance
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, claimSQL+prefixed("ti", tiCols), p.Limit, p.Pool, p.Queue, p.DagID, p.QueuedAt)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanTI)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim task instances: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PriorityWeight != b.PriorityWeight {
			return a.PriorityWeight > b.PriorityWeight
		}
		if !a.LogicalDate.Equal(b.LogicalDate) {
			return a.LogicalDate.Before(b.LogicalDate)
		}
		return a.TaskInstanceKey.String() < b.TaskInstanceKey.String()
	})
	return out, nil
}

// TaskInstanceHeartbeat records that a running try is alive.
func (s *Store) TaskInstanceHeartbeat(ctx context.Context, p *store.TaskInstanceHeartbeatParams) error {
	if err := p.Key.Validate(); err != nil {
		return err
	}
	k := p.Key
	at := store.TimeOrNow(p.At)
	return s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `UPDATE task_instance SET heartbeat_at = $1 WHERE dag_id = $2 AND run_id = $3
			AND task_id = $4 AND map_index = $5 AND state = 'running' AND try_number = $6`,
			at, k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber)
		if err != nil {
			return fmt.Errorf("heartbeat of %s: %w", k, err)
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
		cur, err := getTI(ctx, s.pool, k)
		if err != nil {
			return err
		}
		return fmt.Errorf("heartbeat of %s try %d: it is %s at try %d: %w", k, p.TryNumber, cur.State, cur.TryNumber, store.ErrStale)
	})
}

// TaskInstanceStates returns the scheduler's view of a run's task instances.
func (s *Store) TaskInstanceStates(ctx context.Context, p *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	q, args, ok := sqlq.TaskInstanceStates(sqlq.Postgres, p)
	if !ok {
		return nil, nil
	}
	var out []store.TaskInstanceState
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var st store.TaskInstanceState
			var nr *time.Time
			if err := rows.Scan(&st.TaskID, &st.MapIndex, &st.State, &st.TryNumber, &nr); err != nil {
				return err
			}
			st.NextRetryAt = tget(nr)
			out = append(out, st)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("task instance states of %s/%s: %w", p.DagID, p.RunID, err)
	}
	return out, nil
}

// Package sqlq is the one implementation of the store methods the SQLite
// and PostgreSQL stores share: Methods, written once over a store's Conn
// (how it runs a statement, a query or a transaction with its driver, its
// retries and its error classes), with what differs between the two SQL
// dialects (placeholders, list membership, booleans, time encoding,
// GREATEST/MAX, row and table locks) isolated in a Dialect. What stays in
// a store's own package is what its database does differently (the
// claim's SKIP LOCKED, PostgreSQL's batches and arrays, SQLite's prepared
// single writer).
package sqlq

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Dialect is what differs between the SQL dialects for the queries of
// this package.
type Dialect struct {
	// Param returns the placeholder of the n-th argument (1-based).
	Param func(n int) string
	// In returns a condition that col is one of vals, bound to the one
	// placeholder ph, and the value to bind: a single argument whatever
	// the number of values, so the statement text stays the same and its
	// prepared form can be reused.
	In func(col, ph string, vals []string) (string, any)
	// HasAny returns a condition that the JSON array of strings in the
	// text column col holds one of vals, bound to the one placeholder ph
	// as In binds a list, and the value to bind.
	HasAny func(col, ph string, vals []string) (string, any)
	// OctetLength is the function giving a blob's size in bytes.
	OctetLength string
	// Greatest is the function giving the larger of its arguments.
	Greatest string
	// Time encodes a time as the dialect binds it (NULL for the zero
	// time); scan times with At.
	Time func(time.Time) any
	// TimeCast follows a time's placeholder where its type must be named
	// ("$3::timestamptz IS NOT NULL").
	TimeCast string
	// LockExclusive returns the statement that locks a table against
	// other writers until the transaction ends; "" where the database has
	// one writer at a time.
	LockExclusive func(table string) string
	// Bool encodes a boolean as the dialect binds it.
	Bool func(bool) any
	// True and False are the boolean literals.
	True, False string
	// ForUpdate ends a SELECT whose rows the transaction goes on to
	// change, locking them against other writers; "" where the database
	// has one writer at a time.
	ForUpdate string
	// NoLimit is the LIMIT value that sets no limit.
	NoLimit any
	// Name is the database's name, for errors.
	Name string
}

// SQLite is the dialect of modernc.org/sqlite: ?N placeholders, and a list
// bound as one JSON array read with json_each.
var SQLite = Dialect{
	Param:         func(n int) string { return "?" + strconv.Itoa(n) },
	OctetLength:   "length",
	Greatest:      "MAX",
	Time:          sqliteTime,
	NoLimit:       -1,
	LockExclusive: func(string) string { return "" },
	Bool: func(b bool) any {
		if b {
			return 1
		}
		return 0
	},
	True:  "1",
	False: "0",
	Name:  "SQLite",
	In: func(col, ph string, vals []string) (string, any) {
		b, _ := json.Marshal(vals) // strings always encode
		return col + " IN (SELECT value FROM json_each(" + ph + "))", string(b)
	},
	HasAny: func(col, ph string, vals []string) (string, any) {
		b, _ := json.Marshal(vals)
		return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value IN (SELECT value FROM json_each(" + ph + ")))", string(b)
	},
}

// Postgres is the dialect of pgx: $n placeholders, and a list bound as one
// text array.
var Postgres = Dialect{
	Param:         func(n int) string { return "$" + strconv.Itoa(n) },
	OctetLength:   "octet_length",
	Greatest:      "GREATEST",
	Time:          postgresTime,
	TimeCast:      "::timestamptz",
	LockExclusive: func(table string) string { return "LOCK TABLE " + table + " IN EXCLUSIVE MODE" },
	ForUpdate:     " FOR UPDATE",
	Bool:          func(b bool) any { return b },
	True:          "TRUE",
	False:         "FALSE",
	Name:          "PostgreSQL",
	In: func(col, ph string, vals []string) (string, any) {
		return col + " = ANY(" + ph + "::text[])", vals
	},
	HasAny: func(col, ph string, vals []string) (string, any) {
		return col + "::jsonb ?| " + ph + "::text[]", vals
	},
}

// where collects the conditions and arguments of one statement.
type where struct {
	d     Dialect
	conds []string
	args  []any
}

func (w *where) eq(col string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, col+" = "+w.d.Param(len(w.args)))
}

// cmp adds col op v (op: "<", ">=", ...).
func (w *where) cmp(col, op string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, col+" "+op+" "+w.d.Param(len(w.args)))
}

// clause returns " WHERE " and the conditions, or nothing without any.
func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns " LIMIT n OFFSET m" with both bound: no limit when limit
// <= 0.
func (w *where) page(limit, offset int) string {
	var l any = limit
	if limit <= 0 {
		l = w.d.NoLimit
	}
	w.args = append(w.args, l)
	q := " LIMIT " + w.d.Param(len(w.args))
	w.args = append(w.args, offset)
	return q + " OFFSET " + w.d.Param(len(w.args))
}

// strs returns xs as strings.
func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// few adds col IN (?, ?, ...) for a short list of fixed values (states):
// an index on col is used for each value.
func (w *where) few(col string, vals []string) {
	marks := make([]string, len(vals))
	for i, v := range vals {
		w.args = append(w.args, v)
		marks[i] = w.d.Param(len(w.args))
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(marks, ", ")+")")
}

// in adds col IN (the list bound to one placeholder), for lists of any
// length (task ids).
func (w *where) in(col string, vals []string) {
	w.args = append(w.args, nil)
	cond, v := w.d.In(col, w.d.Param(len(w.args)), vals)
	w.args[len(w.args)-1] = v
	w.conds = append(w.conds, cond)
}

// TaskInstanceStatesColumns are the columns TaskInstanceStates selects, in
// order: task_id, map_index, state, try_number, next_retry_at.
const TaskInstanceStatesColumns = "task_id, map_index, state, try_number, next_retry_at"

// maxUnion is the longest list of task ids or states TaskInstanceStates
// writes as one equality per branch of a UNION ALL.
const maxUnion = 32

// TaskInstanceStates returns the statement and arguments of
// store.Store.TaskInstanceStates, or ok false when p selects nothing (an
// empty, non-nil TaskIDs or States).
//
// Every condition on the index columns is an equality: a list of task ids
// or states (up to maxUnion) is a UNION ALL of one equality each, states
// written as literals (they are the engine's own names). A list bound as
// one array (task_id = ANY($3)) lets PostgreSQL's planner, when it thinks
// a run holds a row or two (no statistics yet: a new database, a server
// without autovacuum, a run far larger than the average), look a run up by
// (dag_id, run_id) alone and filter the rest: every row of the run read for
// each lookup, a cost growing with the run. An equality is always an index
// condition, and a state literal lets the planner use the partial index of
// unfinished task instances (ti_run_unfinished), which holds no finished
// row.
func TaskInstanceStates(d Dialect, p *store.TaskInstanceStatesParams) (query string, args []any, ok bool) {
	if (p.TaskIDs != nil && len(p.TaskIDs) == 0) || (p.States != nil && len(p.States) == 0) {
		return "", nil, false
	}
	w := &where{d: d}
	w.eq("dag_id", p.DagID)
	w.eq("run_id", p.RunID)
	base := w.conds
	var branches [][]string // the conditions of each branch of the union
	switch {
	case p.TaskIDs != nil && len(p.TaskIDs) <= maxUnion && p.States == nil && !p.ByPriority:
		for _, id := range p.TaskIDs {
			w.args = append(w.args, id)
			branches = append(branches, append(slices.Clip(base), "task_id = "+d.Param(len(w.args))))
		}
	case p.States != nil && len(p.States) <= maxUnion && p.TaskIDs == nil && !p.ByPriority && literalStates(p.States):
		for _, st := range p.States {
			branches = append(branches, append(slices.Clip(base), "state = '"+string(st)+"'"))
		}
	default:
		if p.TaskIDs != nil {
			w.in("task_id", p.TaskIDs)
		}
		if len(p.States) == 1 && literalStates(p.States) {
			w.conds = append(w.conds, "state = '"+string(p.States[0])+"'")
		} else if p.States != nil {
			states := make([]string, len(p.States))
			for i, s := range p.States {
				states[i] = string(s)
			}
			w.few("state", states)
		}
		branches = [][]string{w.conds}
	}
	parts := make([]string, len(branches))
	for i, conds := range branches {
		parts[i] = "SELECT " + TaskInstanceStatesColumns + " FROM task_instance WHERE " + strings.Join(conds, " AND ")
	}
	q := strings.Join(parts, " UNION ALL ")
	if p.ByPriority {
		q += " ORDER BY priority_weight DESC, task_id, map_index"
	} else if p.States == nil {
		// With states, no order: the planner then reads the few rows in
		// those states through the index of unfinished task instances
		// instead of walking the run's rows in key order.
		q += " ORDER BY task_id, map_index"
	}
	if p.Limit > 0 {
		w.args = append(w.args, p.Limit)
		q += " LIMIT " + d.Param(len(w.args))
	}
	return q, w.args, true
}

// literalStates reports whether every state is one of dags' task states,
// which may be written into a statement as literals.
func literalStates(states []dags.TaskState) bool {
	for _, s := range states {
		if !s.Valid() {
			return false
		}
	}
	return true
}

// TaskLogFileSet is the upsert of a log file's index row.
func TaskLogFileSet(d Dialect, f *store.TaskLogFile) (query string, args []any) {
	ps := make([]string, 8)
	for i := range ps {
		ps[i] = d.Param(i + 1)
	}
	return `INSERT INTO task_log_file (dag_id, run_id, task_id, map_index, try_number, path, hostname, size)
		VALUES (` + strings.Join(ps, ", ") + `)` + TaskLogFileConflict,
		[]any{f.Key.DagID, f.Key.RunID, f.Key.TaskID, f.Key.MapIndex, f.TryNumber, f.Path, f.Hostname, f.Size}
}

// TaskLogFileConflict ends an insert of a log file's index row: a row
// already there takes the new path and hostname and its size.
const TaskLogFileConflict = `
		ON CONFLICT (dag_id, run_id, task_id, map_index, try_number)
		DO UPDATE SET path = excluded.path, hostname = excluded.hostname, size = excluded.size`

// TaskLogFileStartConflict ends an insert of a log file's index row at the
// start of a try: a row already recorded (a try resumed after a
// reschedule) keeps the larger size.
func TaskLogFileStartConflict(d Dialect) string {
	return strings.TrimSuffix(TaskLogFileConflict, "size = excluded.size") + "size = " + d.Greatest + "(task_log_file.size, excluded.size)"
}

// taskLogFileStart is TaskLogFileSet at the start of a try.
func taskLogFileStart(d Dialect, f *store.TaskLogFile) (query string, args []any) {
	q, args := TaskLogFileSet(d, f)
	return strings.TrimSuffix(q, TaskLogFileConflict) + TaskLogFileStartConflict(d), args
}

// TaskLogFileGet reads a log file's index row: path, hostname, size.
func TaskLogFileGet(d Dialect, k store.TaskInstanceKey, try int) (query string, args []any) {
	w := &where{d: d}
	w.eq("dag_id", k.DagID)
	w.eq("run_id", k.RunID)
	w.eq("task_id", k.TaskID)
	w.eq("map_index", k.MapIndex)
	w.eq("try_number", try)
	return `SELECT path, hostname, size FROM task_log_file WHERE ` + strings.Join(w.conds, " AND "), w.args
}

package sqlq

import (
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TaskInstanceListSQL is the query of store.Store.TaskInstanceList,
// selecting cols (the store's scan order): the filters p sets, in key
// order, paged.
func TaskInstanceListSQL(d Dialect, cols string, p *store.TaskInstanceListParams) (query string, args []any) {
	w := &where{d: d}
	for _, f := range []struct{ col, val string }{{"dag_id", p.DagID}, {"run_id", p.RunID}, {"task_id", p.TaskID}, {"pool", p.Pool}, {"queue", p.Queue}} {
		if f.val != "" {
			w.eq(f.col, f.val)
		}
	}
	if len(p.States) > 0 {
		w.few("state", strs(p.States))
	}
	if !p.HeartbeatBefore.IsZero() {
		w.cmp("COALESCE(heartbeat_at, start_date)", "<", d.Time(store.Truncate(p.HeartbeatBefore)))
	}
	if !p.RetryDueBefore.IsZero() {
		w.cmp("next_retry_at", "<=", d.Time(store.Truncate(p.RetryDueBefore)))
	}
	for _, b := range []struct {
		col, op string
		at      time.Time
	}{{"logical_date", ">=", p.LogicalDateFrom}, {"logical_date", "<", p.LogicalDateTo},
		{"start_date", ">=", p.StartDateFrom}, {"start_date", "<", p.StartDateTo}} {
		if !b.at.IsZero() {
			w.cmp(b.col, b.op, d.Time(store.Truncate(b.at)))
		}
	}
	q := "SELECT " + cols + " FROM task_instance" + w.clause() + " ORDER BY dag_id, run_id, task_id, map_index"
	return q + w.page(p.Limit, p.Offset), w.args
}

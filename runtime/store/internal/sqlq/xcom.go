package sqlq

import (
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// XComColumns are the columns XComBrowse selects, in order.
const XComColumns = "dag_id, run_id, task_id, map_index, key, value, updated_at"

// XComBrowse is the query of store.Store.XComBrowse (p normalized):
// newest first, then by the primary key so that pages are stable.
func XComBrowse(d Dialect, p *store.XComBrowseParams) (query string, args []any) {
	w := &where{d: d}
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	if p.RunID != "" {
		w.eq("run_id", p.RunID)
	}
	if p.TaskID != "" {
		w.eq("task_id", p.TaskID)
	}
	if p.MapIndex != nil {
		w.eq("map_index", *p.MapIndex)
	}
	if p.Key != "" {
		w.eq("key", p.Key)
	}
	q := "SELECT " + XComColumns + " FROM xcom"
	if len(w.conds) > 0 {
		q += " WHERE " + strings.Join(w.conds, " AND ")
	}
	q += " ORDER BY updated_at DESC, dag_id, run_id, task_id, map_index, key LIMIT " + strconv.Itoa(p.Limit)
	if p.Offset > 0 {
		q += " OFFSET " + strconv.Itoa(p.Offset)
	}
	return q, w.args
}

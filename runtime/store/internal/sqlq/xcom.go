package sqlq

import (
	"context"
	"fmt"
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

// XComBrowse is store.Store.XComBrowse over m's Conn.
func (m Methods) XComBrowse(ctx context.Context, p *store.XComBrowseParams) ([]*store.XCom, error) {
	p.Normalize()
	q, args := XComBrowse(m.c.D, p)
	out, err := QueryAll(ctx, m.c, q, args, ScanXCom)
	if err != nil {
		return nil, fmt.Errorf("browse xcoms: %w", err)
	}
	if out == nil {
		out = []*store.XCom{}
	}
	return out, nil
}

// ScanXCom reads a row of XComColumns. A value that is not valid JSON
// is kept as its error (XCom.ValueError), so a listing still shows it.
func ScanXCom(r Scanner) (*store.XCom, error) {
	var x store.XCom
	var val string
	if err := r.Scan(&x.DagID, &x.RunID, &x.TaskID, &x.MapIndex, &x.Key, &val, At(&x.UpdatedAt)); err != nil {
		return nil, err
	}
	v, err := store.DecodeJSON(fmt.Sprintf("xcom %q of %s", x.Key, x.TaskInstanceKey), val)
	if err != nil {
		x.ValueError = err.Error()
	} else {
		x.Value = v
	}
	return &x, nil
}

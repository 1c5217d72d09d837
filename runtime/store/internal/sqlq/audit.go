package sqlq

import (
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// AuditColumns are the columns AuditList selects, in order.
const AuditColumns = "id, dttm, event, dag_id, task_id, run_id, owner, source, extra"

// AuditAdd is the insert of one audit entry, returning its id; dttm is
// e.Dttm as the store binds times.
func AuditAdd(d Dialect, e *store.AuditEntry, dttm any) (query string, args []any) {
	ps := make([]string, 8)
	for i := range ps {
		ps[i] = d.Param(i + 1)
	}
	return `INSERT INTO audit_log (dttm, event, dag_id, task_id, run_id, owner, source, extra)
		VALUES (` + strings.Join(ps, ", ") + `) RETURNING id`,
		[]any{dttm, e.Event, e.DagID, e.TaskID, e.RunID, e.Owner, e.Source, e.Extra}
}

// AuditList is the query of store.Store.AuditList (p normalized): newest
// first by id, so that each filter is served by its (column, id) index
// and a page costs its size whatever the table's.
func AuditList(d Dialect, p *store.AuditListParams) (query string, args []any) {
	w := &where{d: d}
	if p.DagID != "" {
		w.eq("dag_id", p.DagID)
	}
	if p.Event != "" {
		w.eq("event", p.Event)
	}
	if p.Owner != "" {
		w.eq("owner", p.Owner)
	}
	if p.Before > 0 {
		w.args = append(w.args, p.Before)
		w.conds = append(w.conds, "id < "+d.Param(len(w.args)))
	}
	q := "SELECT " + AuditColumns + " FROM audit_log"
	if len(w.conds) > 0 {
		q += " WHERE " + strings.Join(w.conds, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(p.Limit)
	return q, w.args
}

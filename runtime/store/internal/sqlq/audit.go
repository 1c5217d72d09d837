package sqlq

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// AuditColumns are the columns AuditList selects, in order.
const AuditColumns = "id, dttm, event, dag_id, task_id, run_id, owner, source, extra"

// auditAddSQL is the insert of one audit entry, returning its id.
func auditAddSQL(d Dialect, e *store.AuditEntry) (query string, args []any) {
	ps := make([]string, 8)
	for i := range ps {
		ps[i] = d.Param(i + 1)
	}
	return `INSERT INTO audit_log (dttm, event, dag_id, task_id, run_id, owner, source, extra)
		VALUES (` + strings.Join(ps, ", ") + `) RETURNING id`,
		[]any{d.Time(e.Dttm), e.Event, e.DagID, e.TaskID, e.RunID, e.Owner, e.Source, e.Extra}
}

// auditListSQL is the query of store.Store.AuditList (p normalized):
// newest first by id, so that each filter is served by its (column, id)
// index and a page costs its size whatever the table's.
func auditListSQL(d Dialect, p *store.AuditListParams) (query string, args []any) {
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

// AuditAdd is store.Store.AuditAdd over a store's Conn.
func (m Methods) AuditAdd(ctx context.Context, e *store.AuditEntry) error {
	c := m.c
	if err := e.Normalize(); err != nil {
		return err
	}
	q, args := auditAddSQL(c.D, e)
	if err := c.WriteRow(ctx, q, args, func(r Scanner) error { return r.Scan(&e.ID) }); err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Event, err)
	}
	return nil
}

// AuditList is store.Store.AuditList over a store's Conn.
func (m Methods) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	c := m.c
	p.Normalize()
	q, args := auditListSQL(c.D, p)
	out, err := QueryAll(ctx, c, q, args, func(r Scanner) (*store.AuditEntry, error) {
		e := &store.AuditEntry{}
		err := r.Scan(&e.ID, At(&e.Dttm), &e.Event, &e.DagID, &e.TaskID, &e.RunID, &e.Owner, &e.Source, &e.Extra)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	if out == nil {
		out = []*store.AuditEntry{}
	}
	return out, nil
}

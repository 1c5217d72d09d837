package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// auditPageSize is how many audit entries one page shows.
const auditPageSize = 50

// auditEvents are the events the audit page's filter offers.
var auditEvents = []string{store.AuditTrigger, store.AuditClear, store.AuditMarkSuccess, store.AuditMarkFailed, store.AuditPause, store.AuditUnpause,
	store.AuditVariableSet, store.AuditVariableDelete, store.AuditConnectionSet, store.AuditConnectionDelete, store.AuditPoolSet, store.AuditPoolDelete,
	store.AuditUserCreate, store.AuditUserUpdate, store.AuditUserDelete, store.AuditDAGDelete, store.AuditDBClean}

// audit records one action of the request's user in the audit log. The
// action is done by then, so a failure to record it is logged, not
// answered.
func (h *handler) audit(r *http.Request, e store.AuditEntry) {
	if err := store.RecordAudit(r.Context(), h.Store, e, userName(r), "ui", h.Now()); err != nil {
		h.Logger.Error("ui: record audit entry", "event", e.Event, "user", userName(r), "err", err)
	}
}

// auditPage is one page of the audit log with its filters.
type auditPage struct {
	Entries []*store.AuditEntry
	Events  []string
	DagID   string
	Event   string
	Owner   string
	// Older is the URL of the next (older) page, empty on the last.
	Older string
}

func (p *auditPage) title() string { return "Audit log" }

func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &auditPage{Events: auditEvents, DagID: q.Get("dag_id"), Event: q.Get("event"), Owner: q.Get("owner")}
	params := &store.AuditListParams{DagID: p.DagID, Event: p.Event, Owner: p.Owner, Limit: auditPageSize}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			h.fail(w, r, errorf(http.StatusBadRequest, "before must be a positive entry id, not %q", b))
			return
		}
		params.Before = n
	}
	entries, err := h.Store.AuditList(r.Context(), params)
	if err != nil {
		h.fail(w, r, fmt.Errorf("audit log: %w", err))
		return
	}
	p.Entries = entries
	if len(entries) == auditPageSize {
		next := url.Values{}
		for k, v := range map[string]string{"dag_id": p.DagID, "event": p.Event, "owner": p.Owner} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		p.Older = "/audit?" + next.Encode()
	}
	h.render(w, r, http.StatusOK, "audit", p)
}

// pauseEvent is the audit event of pausing (true) or unpausing a DAG.
func pauseEvent(paused bool) string {
	if paused {
		return store.AuditPause
	}
	return store.AuditUnpause
}

// markEvent is the audit event of marking task instances state.
func markEvent(state dags.TaskState) string {
	if state == dags.TaskStateFailed {
		return store.AuditMarkFailed
	}
	return store.AuditMarkSuccess
}

// auditConf is a trigger's conf as the audit entry's extra.
func auditConf(conf map[string]any) string { return store.AuditConf(conf) }

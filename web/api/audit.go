package api

import (
	"net/http"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// audit records one action of the request's user (session or token) in
// the audit log with source "api". The action is done by then, so a
// failure to record it is logged, not answered.
func (h *handler) audit(r *http.Request, e store.AuditEntry) {
	owner := ""
	if u, ok := auth.UserFrom(r.Context()); ok {
		owner = u.Username
	}
	if err := store.RecordAudit(r.Context(), h.Store, e, owner, "api", h.Now()); err != nil {
		h.Logger.Error("api: record audit entry", "event", e.Event, "user", owner, "err", err)
	}
}

package api

import (
	"context"
	"net/http"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// audit records one action of the request's user (session or token) in
// the audit log with source "api". The action is done by then, so a
// failure to record it is logged, not answered.
func (h *handler) audit(r *http.Request, e store.AuditEntry) {
	if u, ok := auth.UserFrom(r.Context()); ok {
		e.Owner = u.Username
	}
	e.Source, e.Dttm = "api", h.Now()
	if err := h.Store.AuditAdd(context.WithoutCancel(r.Context()), &e); err != nil {
		h.Logger.Error("api: record audit entry", "event", e.Event, "user", e.Owner, "err", err)
	}
}

package ui

import (
	"net/http"

	"github.com/starflow-dev/starflow/web/auth"
)

// The permissions the pages check, as auth names them.
const (
	permTrigger     = auth.PermTrigger
	permClear       = auth.PermClear
	permMark        = auth.PermMark
	permPause       = auth.PermPause
	permConnections = auth.PermConnections
)

// allowed reports whether the request's user holds p, answering 403 when
// not. The buttons of actions a user may not take are hidden; this check
// is what actually stops a crafted request.
func (h *handler) allowed(w http.ResponseWriter, r *http.Request, p auth.Permission) bool {
	u, _ := auth.UserFrom(r.Context())
	if auth.Can(u, p) {
		return true
	}
	role := "anonymous"
	if u != nil {
		role = string(u.Role)
	}
	h.fail(w, r, errorf(http.StatusForbidden, "your role (%s) may not %s", role, p))
	return false
}

// userName names the request's user for the log.
func userName(r *http.Request) string {
	if u, ok := auth.UserFrom(r.Context()); ok {
		return u.Username
	}
	return ""
}

package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// The users pages (Airflow's Security > List Users): list, create, change
// role, reset password, deactivate and activate again (FAB's User.active),
// and delete, for admin only. Every change leaves an
// audit entry and drops the user from the authenticator's cache
// (Deps.Forget), so a new role or a deletion takes effect at the user's
// next request.

// usersRoutes adds the routes of the users pages.
func (h *handler) usersRoutes() {
	m := h.mux
	m.HandleFunc("GET /users", h.usersList)
	m.HandleFunc("GET /users/new", h.userForm)
	m.HandleFunc("GET /users/{name}/edit", h.userForm)
	m.HandleFunc("POST /users", h.userSave)
	m.HandleFunc("POST /users/{name}/delete", h.userDelete)
	m.HandleFunc("POST /users/{name}/active", h.userSetActive)
}

// userRow is a user as the list shows it.
type userRow struct {
	*store.User
	// Self is the admin looking at the page: not deletable from it.
	Self bool
}

func (h *handler) usersList(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermAdmin) {
		return
	}
	users, err := h.Store.UserList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list users: %w", err))
		return
	}
	p := &listPage[userRow]{Title: "Users"}
	me := userName(r)
	for _, u := range users {
		p.Items = append(p.Items, userRow{User: u, Self: u.Username == me})
	}
	h.render(w, r, http.StatusOK, "users", p)
}

func roleNames() []string {
	out := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		out[i] = string(r)
	}
	return out
}

func userFields(name, role string, editing bool) []formField {
	pwHint := "At least the length auth requires; the user's sessions and API tokens end when it changes."
	if editing {
		pwHint = "Leave empty to keep the password. A new password ends the user's sessions and API tokens."
	}
	if role == "" {
		role = string(auth.RoleViewer)
	}
	return []formField{
		{Name: "username", Label: "Username", Type: "text", Value: name, ReadOnly: editing, Required: true},
		{Name: "role", Label: "Role", Type: "select", Value: role, Options: roleNames(), Required: true,
			Hint: "admin: everything; op: trigger, clear, mark, pause, variables, connections, pools; viewer: read only."},
		{Name: "password", Label: "Password", Type: "password", Required: !editing, Hint: pwHint},
	}
}

func (h *handler) userForm(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermAdmin) {
		return
	}
	p := &editPage{Heading: "New user", Kind: "user", List: "/users", Action: "/users", Fields: userFields("", "", false)}
	if name := r.PathValue("name"); name != "" {
		u, err := h.Store.UserGet(r.Context(), name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Heading, p.Fields = "Edit user "+name, userFields(u.Username, u.Role, true)
	}
	h.render(w, r, http.StatusOK, "edit", p)
}

func (h *handler) userSave(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermAdmin) {
		return
	}
	ctx := r.Context()
	name, roleName, password := strings.TrimSpace(r.FormValue("username")), r.FormValue("role"), r.FormValue("password")
	editing := r.FormValue("editing") != ""
	p := &editPage{Heading: "New user", Kind: "user", List: "/users", Action: "/users", Fields: userFields(name, roleName, editing)}
	if editing {
		p.Heading = "Edit user " + name
	}
	var extra []string
	err := func() error {
		role, ok := auth.ParseRole(roleName)
		if !ok {
			return errorf(http.StatusBadRequest, "role must be admin, op or viewer, not %q", roleName)
		}
		if name == "" {
			return errorf(http.StatusBadRequest, "a user needs a username")
		}
		var hash string
		if password != "" || !editing {
			var err error
			if hash, err = auth.HashPassword(password); err != nil {
				if errors.Is(err, auth.ErrWeakPassword) {
					return errorf(http.StatusBadRequest, "%v", err)
				}
				return err
			}
		}
		if !editing {
			extra = append(extra, "username="+name, "role="+string(role))
			_, err := h.Store.UserCreate(ctx, &store.UserCreateParams{Username: name, PasswordHash: hash, Role: string(role)})
			return err
		}
		old, err := h.Store.UserGet(ctx, name)
		if err != nil {
			return err
		}
		up := &store.UserUpdateParams{Username: name}
		if old.Role != string(role) {
			if name == userName(r) {
				return errorf(http.StatusBadRequest, "you cannot change your own role; ask another admin")
			}
			rs := string(role)
			up.Role = &rs
			extra = append(extra, "role="+old.Role+"→"+rs)
		}
		if hash != "" {
			up.PasswordHash = &hash
			extra = append(extra, "password reset")
		}
		if up.Role == nil && up.PasswordHash == nil {
			return nil
		}
		extra = append([]string{"username=" + name}, extra...)
		_, err = h.Store.UserUpdate(ctx, up)
		return err
	}()
	if err != nil {
		h.showForm(w, r, p, err)
		return
	}
	if len(extra) > 0 {
		h.forget(name)
		event := store.AuditUserUpdate
		if !editing {
			event = store.AuditUserCreate
		}
		h.audit(r, store.AuditEntry{Event: event, Extra: strings.Join(extra, " ")})
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

func (h *handler) userDelete(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermAdmin) {
		return
	}
	name := r.PathValue("name")
	if name == userName(r) {
		h.fail(w, r, errorf(http.StatusBadRequest, "you cannot delete yourself; ask another admin"))
		return
	}
	if !h.confirmed(w, r, "Delete user "+name+" and its API tokens?", "/users") {
		return
	}
	if err := h.Store.UserDelete(r.Context(), name); err != nil {
		h.fail(w, r, fmt.Errorf("delete user %s: %w", name, err))
		return
	}
	h.forget(name)
	h.audit(r, store.AuditEntry{Event: store.AuditUserDelete, Extra: "username=" + name})
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

// userSetActive deactivates (active=false) or activates (active=true) a
// user. A deactivated user cannot log in; its API tokens are deleted and
// its sessions end (see store.UserUpdateParams.EndsTokens). An admin
// cannot deactivate themself.
func (h *handler) userSetActive(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermAdmin) {
		return
	}
	name := r.PathValue("name")
	var active bool
	switch r.FormValue("active") {
	case "true":
		active = true
	case "false":
	default:
		h.fail(w, r, errorf(http.StatusBadRequest, "active must be true or false, not %q", r.FormValue("active")))
		return
	}
	if !active && name == userName(r) {
		h.fail(w, r, errorf(http.StatusBadRequest, "you cannot deactivate yourself; ask another admin"))
		return
	}
	old, err := h.Store.UserGet(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if old.Active != active {
		if _, err := h.Store.UserUpdate(r.Context(), &store.UserUpdateParams{Username: name, Active: &active}); err != nil {
			h.fail(w, r, fmt.Errorf("set user %s active=%t: %w", name, active, err))
			return
		}
		h.forget(name)
		h.audit(r, store.AuditEntry{Event: store.AuditUserUpdate, Extra: fmt.Sprintf("username=%s active=%t", name, active)})
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

// forget drops a changed user from the authenticator's cache.
func (h *handler) forget(username string) {
	if h.Forget != nil {
		h.Forget(username)
	}
}

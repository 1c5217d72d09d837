package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web"
	"github.com/starflow-dev/starflow/web/auth"
)

// createUser stores a user with the password name+"-password".
func createUser(t *testing.T, st store.Store, name string, role auth.Role) {
	t.Helper()
	hash, err := auth.HashPassword(name + "-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserCreate(context.Background(), &store.UserCreateParams{Username: name, PasswordHash: hash, Role: string(role)}); err != nil {
		t.Fatal(err)
	}
}

func TestUsersPagesAdminOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	createUser(t, e.store, "bob", auth.RoleOp)
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOp} {
		h := e.as(role)
		for _, target := range []string{"/users", "/users/new", "/users/bob/edit"} {
			if code, _ := get(t, h, target); code != http.StatusForbidden {
				t.Errorf("%s GET %s: status %d, want 403", role, target, code)
			}
		}
		posts := map[string]url.Values{
			"/users":            {"username": {"mallory"}, "role": {"admin"}, "password": {"a-long-enough-password"}},
			"/users/bob/delete": {"confirm": {"1"}},
			"/users/bob/active": {"active": {"false"}},
		}
		for target, form := range posts {
			if rec := post(t, h, target, form); rec.Code != http.StatusForbidden {
				t.Errorf("%s POST %s: status %d, want 403", role, target, rec.Code)
			}
		}
		if _, body := get(t, h, "/dags"); strings.Contains(body, `href="/users"`) {
			t.Errorf("the %s sees the Users menu entry", role)
		}
	}
	if _, err := e.store.UserGet(context.Background(), "mallory"); err == nil {
		t.Error("a non-admin created a user")
	}
	if u, err := e.store.UserGet(context.Background(), "bob"); err != nil || !u.Active {
		t.Errorf("a non-admin deleted or deactivated bob: %+v, %v", u, err)
	}
	if evs := auditEvents(t, e.store); len(evs) != 0 {
		t.Errorf("refused actions left audit entries: %q", evs)
	}
}

func TestUsersCreateEditDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	createUser(t, e.store, "admin-user", auth.RoleAdmin)
	a := e.as(auth.RoleAdmin)

	_, body := get(t, a, "/users/new")
	mustContain(t, body, `<select id="f-role" name="role"`, `<option value="viewer" selected>`, `name="csrf_token" value="test-csrf"`)
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"op"}, "password": {"short"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("a weak password: status %d", rec.Code)
	}
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"root"}, "password": {"carol-password-1"}}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "role must be") {
		t.Errorf("an unknown role: status %d", rec.Code)
	}
	rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"op"}, "password": {"carol-password-1"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/users" {
		t.Fatalf("create: status %d: %s", rec.Code, rec.Body)
	}
	u, err := e.store.UserGet(ctx, "carol")
	if err != nil || u.Role != "op" || !auth.CheckPassword(u.PasswordHash, "carol-password-1") {
		t.Fatalf("created user = %+v, %v", u, err)
	}
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"op"}, "password": {"carol-password-2"}}); rec.Code != http.StatusConflict {
		t.Errorf("a taken username: status %d", rec.Code)
	}
	_, body = get(t, a, "/users")
	mustContain(t, body, `data-user="carol"`, `action="/users/carol/delete"`, `data-confirm="Delete user carol and its API tokens?"`)
	mustNotContain(t, body, `action="/users/admin-user/delete"`) // no delete button for oneself

	// Role change, then a password reset with the role left as it is.
	_, body = get(t, a, "/users/carol/edit")
	mustContain(t, body, "Edit user carol", `<option value="op" selected>`, "readonly")
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"viewer"}, "editing": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("role change: status %d: %s", rec.Code, rec.Body)
	}
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"viewer"}, "password": {"carol-password-3"}, "editing": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("password reset: status %d: %s", rec.Code, rec.Body)
	}
	u, _ = e.store.UserGet(ctx, "carol")
	if u.Role != "viewer" || !auth.CheckPassword(u.PasswordHash, "carol-password-3") {
		t.Errorf("after edits: role %s, password reset %v", u.Role, auth.CheckPassword(u.PasswordHash, "carol-password-3"))
	}
	// Saving without a change records nothing.
	if rec := post(t, a, "/users", url.Values{"username": {"carol"}, "role": {"viewer"}, "editing": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("no-op save: status %d", rec.Code)
	}
	// Deactivate and activate again; a bad value and deactivating oneself
	// are refused.
	if rec := post(t, a, "/users/carol/active", url.Values{"active": {"no"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("active=no: status %d, want 400", rec.Code)
	}
	if rec := post(t, a, "/users/admin-user/active", url.Values{"active": {"false"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("self deactivation: status %d, want 400", rec.Code)
	}
	if rec := post(t, a, "/users/nobody/active", url.Values{"active": {"false"}}); rec.Code != http.StatusNotFound {
		t.Errorf("deactivating an unknown user: status %d, want 404", rec.Code)
	}
	for _, active := range []string{"false", "false", "true"} {
		if rec := post(t, a, "/users/carol/active", url.Values{"active": {active}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("active=%s: status %d: %s", active, rec.Code, rec.Body)
		}
		if u, err := e.store.UserGet(ctx, "carol"); err != nil || fmt.Sprint(u.Active) != active {
			t.Fatalf("after active=%s: %+v, %v", active, u, err)
		}
	}
	if _, body := get(t, a, "/users"); !strings.Contains(body, `action="/users/carol/active"`) || strings.Contains(body, `action="/users/admin-user/active"`) {
		t.Error("the users page should offer carol's (and not the admin's own) active toggle")
	}
	// An admin cannot demote or delete itself.
	if rec := post(t, a, "/users", url.Values{"username": {"admin-user"}, "role": {"viewer"}, "editing": {"1"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("self demotion: status %d", rec.Code)
	}
	if rec := post(t, a, "/users/admin-user/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("self delete: status %d", rec.Code)
	}
	if rec := post(t, a, "/users/carol/delete", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Delete user carol") {
		t.Errorf("unconfirmed delete: status %d", rec.Code)
	}
	if rec := post(t, a, "/users/carol/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: status %d: %s", rec.Code, rec.Body)
	}
	if _, err := e.store.UserGet(ctx, "carol"); err == nil {
		t.Error("carol is still there")
	}
	want := []string{"user.delete admin-user    username=carol", "user.edit admin-user    username=carol active=true",
		"user.edit admin-user    username=carol active=false", "user.edit admin-user    username=carol password reset",
		"user.edit admin-user    username=carol role=op→viewer", "user.create admin-user    username=carol role=op"}
	if got := auditEvents(t, e.store); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

// TestUsersChangeTakesEffectAtOnce checks, through the real session
// middleware with its 2 s user cache, that a role change and a deletion
// end the user's session at its next request.
func TestUsersChangeTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	createUser(t, e.store, "ada", auth.RoleAdmin)
	createUser(t, e.store, "bob", auth.RoleOp)
	createUser(t, e.store, "cy", auth.RoleOp)
	srv, err := web.New(web.Options{Store: e.store, Scheduler: e.sched, DAGs: e.versions, Queue: e.queue, Notifier: e.notifier, Logger: e.logger, Logs: e.logs})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	session := func(name string) (*http.Cookie, string) {
		c, csrf, err := srv.Auth().SessionFor(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return c, csrf
	}
	do := func(c *http.Cookie, csrf, method, target string, form url.Values) *httptest.ResponseRecorder {
		r := httptestRequest(method, target, form)
		r.AddCookie(c)
		if csrf != "" {
			r.Header.Set("X-CSRF-Token", csrf)
		}
		return serve(h, r)
	}
	adaC, adaCSRF := session("ada")
	bobC, _ := session("bob")
	cyC, _ := session("cy")
	// bob and cy are looked up (and cached) as ops.
	for _, c := range []*http.Cookie{bobC, cyC} {
		if rec := do(c, "", http.MethodGet, "/connections", nil); rec.Code != http.StatusOK {
			t.Fatalf("an op's GET /connections: status %d", rec.Code)
		}
	}
	if rec := do(adaC, adaCSRF, http.MethodPost, "/users", url.Values{"username": {"bob"}, "role": {"viewer"}, "editing": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("role change: status %d: %s", rec.Code, rec.Body)
	}
	if rec := do(bobC, "", http.MethodGet, "/connections", nil); rec.Code == http.StatusOK {
		t.Error("bob still acts as an op right after his role changed (the cached user was used)")
	}
	if rec := do(adaC, adaCSRF, http.MethodPost, "/users/cy/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: status %d: %s", rec.Code, rec.Body)
	}
	if rec := do(cyC, "", http.MethodGet, "/connections", nil); rec.Code == http.StatusOK {
		t.Error("cy's session still works right after cy was deleted")
	}
	// Without the CSRF token the admin's POST is refused.
	if rec := do(adaC, "", http.MethodPost, "/users", url.Values{"username": {"eve"}, "role": {"admin"}, "password": {"eve-password-123"}}); rec.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: status %d, want 403", rec.Code)
	}
}

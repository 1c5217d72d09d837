package ui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// auditEvents lists the store's audit log, newest first, as
// "event owner dag run task extra" lines.
func auditEvents(t *testing.T, st store.Store) []string {
	t.Helper()
	es, err := st.AuditList(context.Background(), &store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, strings.Join([]string{e.Event, e.Owner, e.DagID, e.RunID, e.TaskID, e.Extra}, " "))
	}
	return out
}

func TestViewerMayNotEdit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	if err := e.store.VariableSet(ctx, &store.VariableSetParams{Key: "region", Value: "eu"}); err != nil {
		t.Fatal(err)
	}
	v := e.as(auth.RoleViewer)
	for _, target := range []string{"/variables/new", "/variables/region/edit", "/pools/new", "/pools/default_pool/edit", "/connections/new"} {
		if code, _ := get(t, v, target); code != http.StatusForbidden {
			t.Errorf("viewer GET %s: status %d, want 403", target, code)
		}
	}
	posts := map[string]url.Values{
		"/variables":                     {"key": {"x"}, "value": {"1"}},
		"/variables/region/delete":       nil,
		"/pools":                         {"name": {"p"}, "slots": {"3"}},
		"/pools/default_pool/delete":     nil,
		"/connections":                   {"conn_id": {"c"}, "conn_type": {"http"}},
		"/connections/c/delete":          nil,
		"/connections/c/test":            nil,
		"/dags/etl/runs/r/tasks/t/clear": nil,
	}
	for target, form := range posts {
		if rec := post(t, v, target, form); rec.Code != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403", target, rec.Code)
		}
	}
	if _, err := e.store.VariableGet(ctx, "x"); err == nil {
		t.Error("a viewer created a variable")
	}
	if got, err := e.store.VariableGet(ctx, "region"); err != nil || got.Value != "eu" {
		t.Errorf("region after a viewer's delete: %v, %v", got, err)
	}
	if _, body := get(t, v, "/variables"); strings.Contains(body, "New variable") || strings.Contains(body, "delete-button") {
		t.Error("a viewer sees the edit buttons")
	}
	if evs := auditEvents(t, e.store); len(evs) != 0 {
		t.Errorf("refused actions left audit entries: %q", evs)
	}
}

func TestEditVariables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	op := e.as(auth.RoleOp)

	rec := post(t, op, "/variables", url.Values{"key": {"token"}, "value": {"s3cr3t"}, "description": {"API"}, "is_secret": {"true"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/variables" {
		t.Fatalf("create: status %d location %q body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	got, err := e.store.VariableGet(ctx, "token")
	if err != nil || got.Value != "s3cr3t" || !got.Secret || got.Description != "API" {
		t.Fatalf("created variable = %+v, %v", got, err)
	}
	// The edit form never shows a secret; saving it empty keeps it.
	_, body := get(t, op, "/variables/token/edit")
	mustContain(t, body, "Edit variable token", `name="csrf_token" value="test-csrf"`, "readonly")
	mustNotContain(t, body, "s3cr3t")
	rec = post(t, op, "/variables", url.Values{"key": {"token"}, "value": {""}, "description": {"new"}, "is_secret": {"true"}, "editing": {"1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("edit: status %d: %s", rec.Code, rec.Body)
	}
	if got, _ := e.store.VariableGet(ctx, "token"); got.Value != "s3cr3t" || got.Description != "new" {
		t.Errorf("after editing with an empty value: %+v", got)
	}
	// Creating a taken key is refused with the form shown again.
	rec = post(t, op, "/variables", url.Values{"key": {"token"}, "value": {"other"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "exists") {
		t.Errorf("create of a taken key: status %d", rec.Code)
	}
	if rec := post(t, op, "/variables", url.Values{"key": {""}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "needs a key") {
		t.Errorf("empty key: status %d", rec.Code)
	}
	// Without JavaScript a delete first shows a confirmation page.
	rec = post(t, op, "/variables/token/delete", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("unconfirmed delete: status %d", rec.Code)
	}
	mustContain(t, rec.Body.String(), "Delete variable token?", `name="confirm" value="1"`, `action="/variables/token/delete"`, `value="test-csrf"`)
	if _, err := e.store.VariableGet(ctx, "token"); err != nil {
		t.Fatalf("an unconfirmed delete deleted the variable: %v", err)
	}
	if rec := post(t, op, "/variables/token/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: status %d", rec.Code)
	}
	if _, err := e.store.VariableGet(ctx, "token"); err == nil {
		t.Error("the variable is still there")
	}
	want := []string{"variable.delete op-user    key=token", "variable.edit op-user    key=token (secret)", "variable.edit op-user    key=token (secret)"}
	if got := auditEvents(t, e.store); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

func TestEditPoolsAndConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	op := e.as(auth.RoleOp)
	if rec := post(t, op, "/pools", url.Values{"name": {"db"}, "slots": {"4"}, "description": {"database"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("create pool: %d %s", rec.Code, rec.Body)
	}
	if rec := post(t, op, "/pools", url.Values{"name": {"db"}, "slots": {"two"}, "editing": {"1"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("slots two: status %d", rec.Code)
	}
	if rec := post(t, op, "/pools", url.Values{"name": {"db"}, "slots": {"9"}, "editing": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("resize pool: %d %s", rec.Code, rec.Body)
	}
	if p, err := e.store.PoolGet(ctx, "db"); err != nil || p.Slots != 9 {
		t.Fatalf("pool = %+v, %v", p, err)
	}
	_, body := get(t, op, "/pools")
	mustContain(t, body, `href="/pools/db/edit"`, `action="/pools/db/delete"`)
	if rec := post(t, op, "/pools/db/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete pool: %d", rec.Code)
	}

	// A connection to a real HTTP server, tested through the button.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "bot" || p != "pw1" {
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	rec := post(t, op, "/connections", url.Values{"conn_id": {"web"}, "conn_type": {"http"}, "host": {host}, "login": {"bot"}, "password": {"pw1"}, "extra": {`{"timeout": 3}`}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create connection: %d %s", rec.Code, rec.Body)
	}
	rec = post(t, op, "/connections/web/test", nil)
	mustContain(t, rec.Body.String(), "ok: GET http://"+host, "200 OK")
	// Editing without a password keeps it; the test still logs in.
	rec = post(t, op, "/connections", url.Values{"conn_id": {"web"}, "conn_type": {"http"}, "host": {host}, "login": {"bot"}, "description": {"site"}, "editing": {"1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("edit connection: %d %s", rec.Code, rec.Body)
	}
	c, err := e.store.ConnectionGet(ctx, "web")
	if err != nil || c.Password != "pw1" || c.Description != "site" || len(c.Extra) != 0 {
		t.Fatalf("edited connection = %+v, %v; want the password kept, the description set, the extra emptied", c, err)
	}
	// Editing a connection that is gone does not create it.
	if rec := post(t, op, "/connections", url.Values{"conn_id": {"gone"}, "conn_type": {"http"}, "editing": {"1"}}); rec.Code != http.StatusNotFound {
		t.Errorf("editing an unknown connection: status %d, want 404", rec.Code)
	}
	if _, err := e.store.ConnectionGet(ctx, "gone"); err == nil {
		t.Error("editing an unknown connection created it")
	}
	mustContain(t, post(t, op, "/connections/web/test", nil).Body.String(), "ok:")
	rec = post(t, op, "/connections", url.Values{"conn_id": {"web"}, "conn_type": {"http"}, "host": {host}, "login": {"bot"}, "password": {"wrong"}, "editing": {"1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("edit connection: %d", rec.Code)
	}
	body = post(t, op, "/connections/web/test", nil).Body.String()
	mustContain(t, body, "failed", "401")
	mustNotContain(t, body, "wrong")
	if rec := post(t, op, "/connections", url.Values{"conn_id": {"bad"}, "conn_type": {"http"}, "extra": {"[1"}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "JSON object") {
		t.Errorf("bad extra: status %d", rec.Code)
	}
	if err := e.store.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: operators.Connection{ID: "pg", Type: "postgres", Host: "127.0.0.1", Port: 5432, Login: "postgres", Schema: "test"}}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, post(t, op, "/connections/pg/test", nil).Body.String(), "ok: logged in to PostgreSQL and ran SELECT 1")
	if rec := post(t, op, "/connections/web/delete", url.Values{"confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete connection: %d", rec.Code)
	}
	got := strings.Join(auditEvents(t, e.store), "|")
	for _, w := range []string{"pool.edit op-user    pool=db slots=4", "pool.edit op-user    pool=db slots=9", "pool.delete op-user    pool=db",
		"connection.edit op-user    conn_id=web type=http", "connection.delete op-user    conn_id=web"} {
		if !strings.Contains(got, w) {
			t.Errorf("audit lacks %q: %s", w, got)
		}
	}
}

func TestAuditLogPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	op := e.as(auth.RoleOp)
	if rec := post(t, op, "/dags/etl/pause", url.Values{"paused": {"true"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("pause: %d", rec.Code)
	}
	run := e.trigger(t, "etl", day)
	if rec := post(t, op, "/dags/etl/runs/"+run.RunID+"/tasks/extract/mark", url.Values{"state": {"failed"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("mark: %d %s", rec.Code, rec.Body)
	}
	if rec := post(t, op, "/dags/etl/runs/"+run.RunID+"/tasks/extract/clear", url.Values{"downstream": {"true"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("clear: %d %s", rec.Code, rec.Body)
	}
	for i := range 60 {
		if err := e.store.AuditAdd(context.Background(), &store.AuditEntry{Event: store.AuditVariableSet, Owner: "admin-user", Source: "cli", Extra: "key=k" + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	_, body := get(t, e.as(auth.RoleViewer), "/audit?dag_id=etl")
	mustContain(t, body, `data-event="pause"`, `data-event="mark_failed"`, `data-event="clear"`, "op-user", run.RunID, "extract", "downstream=true")
	mustNotContain(t, body, `data-event="variable.edit"`, "Older entries")
	_, body = get(t, e.as(auth.RoleViewer), "/audit")
	if n := strings.Count(body, "<tr data-event="); n != 50 {
		t.Errorf("first page has %d entries, want 50", n)
	}
	mustContain(t, body, "Older entries", "before=")
	i := strings.Index(body, `/audit?before=`)
	if i < 0 {
		t.Fatal("no link to older entries")
	}
	next := body[i : i+strings.IndexByte(body[i:], '"')]
	_, body = get(t, e.as(auth.RoleViewer), strings.ReplaceAll(next, "&amp;", "&"))
	if n := strings.Count(body, "<tr data-event="); n != 13 {
		t.Errorf("second page has %d entries, want 13", n)
	}
	mustContain(t, body, `data-event="pause"`)
	if code, _ := get(t, e.as(auth.RoleViewer), "/audit?before=x"); code != http.StatusBadRequest {
		t.Errorf("before=x: status %d", code)
	}
}

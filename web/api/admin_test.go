package api_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestVariables(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := e.do(t, auth.RoleViewer, "GET", "/api/v1/variables", nil)
	if strings.Contains(string(body.body), secretText) {
		t.Fatalf("variable list leaks the secret: %s", body.body)
	}
	list := body.json(t)["variables"].([]any)
	if len(list) != 2 {
		t.Fatalf("variables = %s", body.body)
	}
	secret, plain := list[0].(map[string]any), list[1].(map[string]any)
	delete(secret, "updated_at")
	delete(plain, "updated_at")
	if want := map[string]any{"key": "api_token", "value": "***", "description": "", "is_secret": true}; !reflect.DeepEqual(secret, want) {
		t.Errorf("secret variable = %v, want %v", secret, want)
	}
	if want := map[string]any{"key": "region", "value": "eu-west-1", "description": "where", "is_secret": false}; !reflect.DeepEqual(plain, want) {
		t.Errorf("plain variable = %v, want %v", plain, want)
	}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleAdmin} {
		if r := e.do(t, role, "GET", "/api/v1/variables/api_token", nil); r.json(t)["value"] != "***" || strings.Contains(string(r.body), secretText) {
			t.Errorf("GET secret variable as %s: %s", role, r.body)
		}
	}

	r := e.do(t, auth.RoleAdmin, "POST", "/api/v1/variables", map[string]any{"key": "bucket", "value": "s3://x", "description": "data"})
	if r.code != http.StatusCreated || r.json(t)["value"] != "s3://x" {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	// PATCH keeps what it does not name; turning a value secret masks it.
	r = e.do(t, auth.RoleAdmin, "PATCH", "/api/v1/variables/bucket", map[string]any{"is_secret": true})
	if got := r.json(t); got["value"] != "***" || got["description"] != "data" || got["is_secret"] != true {
		t.Errorf("patch: %s", r.body)
	}
	if v, err := e.store.VariableGet(context.Background(), "bucket"); err != nil || v.Value != "s3://x" || !v.Secret {
		t.Errorf("stored after patch: %+v, %v", v, err)
	}
	if r := e.do(t, auth.RoleAdmin, "DELETE", "/api/v1/variables/bucket", nil); r.code != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("delete: %d %s", r.code, r.body)
	}
	expectError(t, e.do(t, auth.RoleAdmin, "GET", "/api/v1/variables/bucket", nil), http.StatusNotFound, "bucket")
	for body, msg := range map[string]string{`{"value": "x"}`: "key and value are required", `{"key": "k"}`: "key and value are required",
		`{"key": "k", "value": 1}`: `field "value" must be string`, `{"key": "k", "value": "` + strings.Repeat("x", 1<<20+1) + `"}`: "too large"} {
		expectError(t, e.do(t, auth.RoleAdmin, "POST", "/api/v1/variables", body), http.StatusBadRequest, msg)
	}
	expectError(t, e.do(t, auth.RoleAdmin, "PATCH", "/api/v1/variables/region", `{"key": "other"}`), http.StatusBadRequest, "differs")
}

func TestConnectionsNeverReturnPasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, target := range []string{"/api/v1/connections", "/api/v1/connections/warehouse"} {
		r := e.do(t, auth.RoleOp, "GET", target, nil)
		if r.code != http.StatusOK || strings.Contains(string(r.body), secretText) || strings.Contains(string(r.body), `"password"`) {
			t.Errorf("GET %s: %d %s", target, r.code, r.body)
		}
	}
	got := e.do(t, auth.RoleOp, "GET", "/api/v1/connections/warehouse", nil).json(t)
	delete(got, "updated_at")
	want := map[string]any{"connection_id": "warehouse", "conn_type": "postgres", "description": "warehouse", "host": "db.internal", "port": 5432.0,
		"schema": "", "login": "etl", "has_password": true, "extra": map[string]any{"sslmode": "require", "api_key": "***"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("connection =\n%v\nwant\n%v", got, want)
	}
	r := e.do(t, auth.RoleOp, "POST", "/api/v1/connections", map[string]any{"connection_id": "api", "conn_type": "http", "host": "example.com", "password": "pw-SECRET"})
	if r.code != http.StatusCreated || strings.Contains(string(r.body), "pw-SECRET") || r.json(t)["has_password"] != true {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if c, err := e.store.ConnectionGet(context.Background(), "api"); err != nil || c.Password != "pw-SECRET" {
		t.Errorf("stored connection = %+v, %v", c, err)
	}
	expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/connections", map[string]any{"connection_id": "api", "conn_type": "http"}), http.StatusConflict, "api")
	for body, msg := range map[string]string{`{"conn_type": "http"}`: "connection_id and conn_type are required",
		`{"connection_id": "x", "conn_type": "http", "port": 70000}`: "port", `{"connection_id": "x", "conn_type": "http", "port": "80"}`: `field "port" must be int`} {
		expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/connections", body), http.StatusBadRequest, msg)
	}
	if r := e.do(t, auth.RoleOp, "DELETE", "/api/v1/connections/api", nil); r.code != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.code, r.body)
	}
	expectError(t, e.do(t, auth.RoleViewer, "GET", "/api/v1/connections", nil), http.StatusForbidden, "connections")
}

// TestConnectionPatch: PATCH changes the fields in the body in place, as
// Airflow's patch_connection: a password left out or sent as the mask
// is kept, null clears it; a masked extra field keeps its stored value;
// update_mask limits the change.
func TestConnectionPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	get := func() *store.Connection {
		t.Helper()
		c, err := e.store.ConnectionGet(ctx, "warehouse")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := get()
	// The GET's body sent back with a new host: password and the masked
	// api_key are kept.
	body := e.do(t, auth.RoleOp, "GET", "/api/v1/connections/warehouse", nil).json(t)
	delete(body, "updated_at")
	delete(body, "has_password")
	body["host"], body["password"] = "db2.internal", "***"
	r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse", body)
	if r.code != http.StatusOK || r.json(t)["host"] != "db2.internal" || r.json(t)["has_password"] != true || strings.Contains(string(r.body), secretText) {
		t.Fatalf("patch: %d %s", r.code, r.body)
	}
	c := get()
	if c.Host != "db2.internal" || c.Password != before.Password || !reflect.DeepEqual(c.Extra, before.Extra) || c.Login != before.Login {
		t.Errorf("after the round trip = %+v; want the host changed, the rest (password, api_key) as before %+v", c, before)
	}
	// update_mask: only port changes although login is in the body too.
	r = e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse?update_mask=port", map[string]any{"port": 6432, "login": "other"})
	if r.code != http.StatusOK {
		t.Fatalf("patch with update_mask: %d %s", r.code, r.body)
	}
	if c := get(); c.Port != 6432 || c.Login != before.Login {
		t.Errorf("after update_mask=port: port %d login %q", c.Port, c.Login)
	}
	// A new password, then null clears it.
	if r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse", `{"password": "n3w"}`); r.code != http.StatusOK {
		t.Fatalf("new password: %d %s", r.code, r.body)
	}
	if c := get(); c.Password != "n3w" {
		t.Errorf("password after the change = %q", c.Password)
	}
	if r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse", `{"password": null}`); r.code != http.StatusOK || r.json(t)["has_password"] != false {
		t.Fatalf("clear the password: %d %s", r.code, r.body)
	}
	for body, msg := range map[string]string{`{"connection_id": "other"}`: "differs", `{"port": 70000}`: "port", `{"conn_type": ""}`: "conn_type",
		`{"nope": 1}`: `unknown field "nope"`, `{"port": "80"}`: `field "port"`} {
		expectError(t, e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse", body), http.StatusBadRequest, msg)
	}
	expectError(t, e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/warehouse?update_mask=host", `{"port": 1}`), http.StatusBadRequest, "update_mask")
	expectError(t, e.do(t, auth.RoleOp, "PATCH", "/api/v1/connections/nope", `{"host": "h"}`), http.StatusNotFound, "nope")
	expectError(t, e.do(t, auth.RoleViewer, "PATCH", "/api/v1/connections/warehouse", `{"host": "h"}`), http.StatusForbidden, "connections")
	es, err := e.store.AuditList(ctx, &store.AuditListParams{Event: store.AuditConnectionSet})
	if err != nil || len(es) != 4 || es[3].Extra != "conn_id=warehouse type=postgres fields=conn_type,description,extra,host,login,password,port,schema" ||
		es[2].Extra != "conn_id=warehouse type=postgres fields=port" {
		for _, e := range es {
			t.Logf("audit: %s %s %s", e.Event, e.Source, e.Extra)
		}
		t.Errorf("audit entries: %d, %v", len(es), err)
	}
}

func TestPools(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := e.do(t, auth.RoleViewer, "GET", "/api/v1/pools", nil).json(t)
	want := []any{
		map[string]any{"name": "db", "slots": 4.0, "description": "database", "running_slots": 0.0, "queued_slots": 0.0, "open_slots": 4.0},
		map[string]any{"name": "default_pool", "slots": 128.0, "description": "Default pool", "running_slots": 0.0, "queued_slots": 0.0, "open_slots": 128.0},
	}
	if !reflect.DeepEqual(body["pools"], want) || body["total_entries"] != 2.0 {
		t.Errorf("pools = %v", body)
	}
	if r := e.do(t, auth.RoleAdmin, "POST", "/api/v1/pools", map[string]any{"name": "gpu", "slots": 2}); r.code != http.StatusCreated || r.json(t)["open_slots"] != 2.0 {
		t.Errorf("create: %d %s", r.code, r.body)
	}
	expectError(t, e.do(t, auth.RoleAdmin, "POST", "/api/v1/pools", map[string]any{"name": "gpu", "slots": 3}), http.StatusConflict, "gpu")
	if r := e.do(t, auth.RoleAdmin, "PATCH", "/api/v1/pools/gpu", map[string]any{"description": "cards"}); r.json(t)["slots"] != 2.0 || r.json(t)["description"] != "cards" {
		t.Errorf("patch description: %s", r.body)
	}
	if r := e.do(t, auth.RoleAdmin, "PATCH", "/api/v1/pools/gpu", map[string]any{"slots": 6}); r.json(t)["slots"] != 6.0 || r.json(t)["description"] != "cards" {
		t.Errorf("patch slots: %s", r.body)
	}
	if r := e.do(t, auth.RoleAdmin, "DELETE", "/api/v1/pools/gpu", nil); r.code != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.code, r.body)
	}
	expectError(t, e.do(t, auth.RoleAdmin, "DELETE", "/api/v1/pools/default_pool", nil), http.StatusBadRequest, "cannot be deleted")
	expectError(t, e.do(t, auth.RoleAdmin, "POST", "/api/v1/pools", map[string]any{"name": "neg", "slots": -1}), http.StatusBadRequest, "")
	expectError(t, e.do(t, auth.RoleAdmin, "POST", "/api/v1/pools", map[string]any{"name": "x"}), http.StatusBadRequest, "name and slots are required")
	expectError(t, e.do(t, auth.RoleAdmin, "PATCH", "/api/v1/pools/db", map[string]any{"name": "renamed"}), http.StatusBadRequest, "cannot be renamed")
	expectError(t, e.do(t, auth.RoleViewer, "POST", "/api/v1/pools", map[string]any{"name": "x", "slots": 1}), http.StatusForbidden, "pools")
}

func TestWorkers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.do(t, auth.RoleViewer, "GET", "/api/v1/workers", nil).json(t)
	want := map[string]any{"total_entries": 1.0, "workers": []any{map[string]any{"consumer": "host-1:42", "hostname": "host-1", "queues": []any{"default"},
		"running": 1.0, "slots": 8.0, "started_at": "2024-03-01T11:00:00Z", "last_heartbeat": "2024-03-01T11:59:50Z", "state": "healthy"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("workers =\n%v\nwant\n%v", got, want)
	}
	e.now = e.now.Add(10 * 60e9)
	if got := e.do(t, auth.RoleViewer, "GET", "/api/v1/workers", nil).json(t); got["workers"].([]any)[0].(map[string]any)["state"] != "stale" {
		t.Errorf("a worker silent for 10 minutes: %v", got)
	}
}

package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/api"
	"github.com/starflow-dev/starflow/web/auth"
)

// known fills every path parameter with an object the fixture has.
var known = map[string]string{
	"dag_id": "pipeline", "dag_run_id": runID, "task_id": "extract", "map_index": "-1", "try_number": "1", "xcom_key": "return_value",
	"variable_key": "region", "connection_id": "warehouse", "pool_name": "db",
}

// validBodies are bodies each write route accepts in the fixture.
var validBodies = map[string]any{
	"PATCH /dags/{dag_id}":                         map[string]any{"is_paused": true},
	"POST /dags/{dag_id}/dagRuns":                  map[string]any{"conf": map[string]any{"x": 1}},
	"POST /dags/{dag_id}/clearTaskInstances":       map[string]any{"dag_run_id": runID, "task_ids": []string{"extract"}, "dry_run": true},
	"POST /dags/{dag_id}/updateTaskInstancesState": map[string]any{"dag_run_id": runID, "task_id": "load", "new_state": "success"},
	"POST /variables":                              map[string]any{"key": "new", "value": "v"},
	"PATCH /variables/{variable_key}":              map[string]any{"value": "v2"},
	"POST /connections":                            map[string]any{"connection_id": "new", "conn_type": "http"},
	"PATCH /connections/{connection_id}":           map[string]any{"host": "db2.internal"},
	"POST /pools":                                  map[string]any{"name": "new", "slots": 2},
	"PATCH /pools/{pool_name}":                     map[string]any{"slots": 5},
}

var param = regexp.MustCompile(`\{([a-z_]+)\}`)

// fill returns the route's path with its parameters from values (known
// for those values lacks).
func fill(rt api.Route, values map[string]string) string {
	return api.Prefix + param.ReplaceAllStringFunc(rt.Pattern, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := values[name]; ok {
			return v
		}
		return known[name]
	})
}

func routeKey(rt api.Route) string { return rt.Method + " " + rt.Pattern }

// TestEveryRouteChecksCredentialsAndRoles runs every route, on each store,
// without credentials (401), as each role (403 where the role lacks the
// permission; the least powerful role that holds it succeeds) and with
// each path parameter unknown (404).
func TestEveryRouteChecksCredentialsAndRoles(t *testing.T) {
	t.Parallel()
	opens := map[string]func(testing.TB) store.Store{
		"sqlite":   func(t testing.TB) store.Store { return testdb.SQLite(t) },
		"postgres": func(t testing.TB) store.Store { return testdb.Postgres(t) },
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, rt := range api.Routes() {
				t.Run(routeKey(rt), func(t *testing.T) {
					t.Parallel()
					e := newEnvOn(t, open(t))
					body := validBodies[routeKey(rt)]
					target := fill(rt, nil)
					expectError(t, e.do(t, "", rt.Method, target, body), http.StatusUnauthorized, "authentication required")
					var allowed []auth.Role
					for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOp, auth.RoleAdmin} {
						u := &auth.User{Username: "x", Role: role}
						if !auth.Can(u, rt.Perm) {
							expectError(t, e.do(t, role, rt.Method, target, body), http.StatusForbidden, "forbidden")
							continue
						}
						allowed = append(allowed, role)
					}
					if len(allowed) == 0 {
						t.Fatalf("no role may call %s", routeKey(rt))
					}
					if rt.Perm == auth.PermConnections && slices.Contains(allowed, auth.RoleViewer) {
						t.Errorf("viewers may call %s", routeKey(rt))
					}
					r := e.do(t, allowed[0], rt.Method, target, body)
					if r.code < 200 || r.code > 299 {
						t.Fatalf("as %s: status %d, want success; body %s", allowed[0], r.code, r.body)
					}
					if r.code != http.StatusNoContent && !json.Valid(r.body) {
						t.Errorf("as %s: body is not JSON: %s", allowed[0], r.body)
					}
					for _, m := range param.FindAllStringSubmatch(rt.Pattern, -1) {
						unknown := "nope"
						if m[1] == "try_number" || m[1] == "map_index" {
							unknown = "9"
						}
						r := e.do(t, auth.RoleAdmin, rt.Method, fill(rt, map[string]string{m[1]: unknown}), body)
						expectError(t, r, http.StatusNotFound, "")
					}
				})
			}
		})
	}
}

// TestUnknownPathsAndMethodsAnswerJSON checks the fallback answers.
func TestUnknownPathsAndMethodsAnswerJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expectError(t, e.do(t, auth.RoleAdmin, "GET", "/api/v1/nothing/here", nil), http.StatusNotFound, "no such endpoint")
	r := e.do(t, auth.RoleAdmin, "PUT", "/api/v1/dags/pipeline", nil)
	expectError(t, r, http.StatusMethodNotAllowed, "method PUT not allowed")
	if got := r.hdr.Values("Allow"); !slices.Equal(got, []string{"GET", "PATCH"}) {
		t.Errorf("Allow = %v, want GET, PATCH", got)
	}
}

// TestOpenAPIDocumentsEveryRoute checks the document against the routes
// both ways, and that each operation documents its errors.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	routed := map[string]bool{}
	for _, rt := range api.Routes() {
		k := strings.ToLower(rt.Method) + " " + rt.Pattern
		routed[k] = true
		op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is routed but not documented", rt.Method, rt.Pattern)
			continue
		}
		responses, _ := op["responses"].(map[string]any)
		if _, ok := responses["401"]; !ok {
			t.Errorf("%s %s: 401 not documented", rt.Method, rt.Pattern)
		}
		if _, ok := responses["403"]; !ok && rt.Perm != auth.PermRead {
			t.Errorf("%s %s: 403 not documented", rt.Method, rt.Pattern)
		}
		if param.MatchString(rt.Pattern) {
			if _, ok := responses["404"]; !ok {
				t.Errorf("%s %s: 404 not documented", rt.Method, rt.Pattern)
			}
		}
		for _, m := range param.FindAllStringSubmatch(rt.Pattern, -1) {
			if !documentsParam(op, m[1]) {
				t.Errorf("%s %s: path parameter %s not documented", rt.Method, rt.Pattern, m[1])
			}
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !routed[method+" "+path] {
				t.Errorf("%s %s is documented but not routed", strings.ToUpper(method), path)
			}
		}
	}
	// The document is served too, to any user.
	e := newEnv(t)
	r := e.do(t, auth.RoleViewer, "GET", "/api/v1/openapi.json", nil)
	if r.code != http.StatusOK || string(r.body) != string(api.OpenAPI()) || r.hdr.Get("Content-Type") != "application/json" {
		t.Errorf("GET openapi.json: %d %q", r.code, r.hdr.Get("Content-Type"))
	}
}

func documentsParam(op map[string]any, name string) bool {
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		if m, _ := p.(map[string]any); m["name"] == name && m["in"] == "path" {
			return true
		}
	}
	return false
}

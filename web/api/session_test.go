package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/web/auth"
)

// TestSessionRequestsNeedTheCSRFToken: a state-changing request made with
// a session cookie needs the session's CSRF token; a bearer request does
// not; reads need none.
func TestSessionRequestsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cookie, csrf, err := e.auth.SessionFor(context.Background(), "op-user")
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.AddCookie(cookie)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := send("GET", "/api/v1/dags/other", "", nil); rec.Code != http.StatusOK {
		t.Errorf("GET with a session: %d %s", rec.Code, rec.Body)
	}
	rec := send("PATCH", "/api/v1/dags/other", `{"is_paused": false}`, nil)
	expectError(t, response{rec.Code, rec.Body.Bytes(), rec.Header()}, http.StatusForbidden, "CSRF")
	rec = send("PATCH", "/api/v1/dags/other", `{"is_paused": false}`, map[string]string{auth.CSRFHeader: "wrong"})
	expectError(t, response{rec.Code, rec.Body.Bytes(), rec.Header()}, http.StatusForbidden, "CSRF")
	if d, _ := e.store.DAGGet(context.Background(), "other"); !d.IsPaused {
		t.Fatal("a request without a valid CSRF token unpaused the DAG")
	}
	if rec := send("PATCH", "/api/v1/dags/other", `{"is_paused": false}`, map[string]string{auth.CSRFHeader: csrf}); rec.Code != http.StatusOK {
		t.Errorf("PATCH with the CSRF token: %d %s", rec.Code, rec.Body)
	}
	// Another session's token does not fit this one.
	_, otherCSRF, err := e.auth.SessionFor(context.Background(), "op-user")
	if err != nil {
		t.Fatal(err)
	}
	rec = send("PATCH", "/api/v1/dags/other", `{"is_paused": true}`, map[string]string{auth.CSRFHeader: otherCSRF})
	expectError(t, response{rec.Code, rec.Body.Bytes(), rec.Header()}, http.StatusForbidden, "CSRF")
	// Bearer tokens need no CSRF token.
	if r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/dags/other", map[string]any{"is_paused": true}); r.code != http.StatusOK {
		t.Errorf("PATCH with a bearer token: %d %s", r.code, r.body)
	}
}

// TestBadCredentialsAre401: a wrong token, another scheme, a forged cookie.
func TestBadCredentialsAre401(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := map[string]func(*http.Request){
		"unknown token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer sft_nope") },
		"basic auth":    func(r *http.Request) { r.SetBasicAuth("admin-user", "password-123") },
		"empty bearer":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"forged cookie": func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: "eyJ1IjoiYWRtaW4tdXNlciJ9.AAAA"})
		},
	}
	for name, set := range cases {
		req := httptest.NewRequest("GET", "/api/v1/dags", nil)
		set(req)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

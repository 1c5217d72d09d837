package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

// logout posts /logout to a with the cookie c and the CSRF token csrf (if
// any).
func logout(a *auth.Authenticator, c *http.Cookie, csrf string) *httptest.ResponseRecorder {
	form := url.Values{}
	if csrf != "" {
		form.Set("csrf_token", csrf)
	}
	return serve(a.Logout(), "POST", "/logout", c, nil, form.Encode())
}

func cleared(rec *httptest.ResponseRecorder) bool {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == auth.SessionCookie && ck.MaxAge < 0 {
			return true
		}
	}
	return false
}

// csrfOf returns the CSRF token of session c, read through page.
func csrfOf(t *testing.T, page http.Handler, c *http.Cookie) string {
	t.Helper()
	rec := serve(page, "GET", "/", c, nil, "")
	_, token, ok := strings.Cut(rec.Body.String(), "csrf=")
	if rec.Code != http.StatusOK || !ok || token == "" {
		t.Fatalf("GET / with a fresh session: %d %q", rec.Code, rec.Body)
	}
	return token
}

// checkSession asserts that cookie c opens the pages and the API (ok) or
// neither, the way the middlewares refuse: a redirect to /login for a
// page, a 401 for the API.
func checkSession(t *testing.T, name string, page, api http.Handler, c *http.Cookie, csrf string, ok bool) {
	t.Helper()
	pageRec := serve(page, "GET", "/dags", c, nil, "")
	apiGet := serve(api, "GET", "/api/v1/dags", c, nil, "")
	apiPost := serve(api, "POST", "/api/v1/dags/etl/dagRuns", c, http.Header{"X-Csrf-Token": {csrf}}, "")
	if ok {
		if pageRec.Code != http.StatusOK || apiGet.Code != http.StatusOK || apiPost.Code != http.StatusOK ||
			!strings.HasPrefix(pageRec.Body.String(), "alice op") {
			t.Errorf("%s: page %d, API GET %d, API POST %d; want 200 each", name, pageRec.Code, apiGet.Code, apiPost.Code)
		}
		return
	}
	if pageRec.Code != http.StatusSeeOther || pageRec.Header().Get("Location") != "/login?next=%2Fdags" {
		t.Errorf("%s: page %d Location %q; want a redirect to /login", name, pageRec.Code, pageRec.Header().Get("Location"))
	}
	if apiGet.Code != http.StatusUnauthorized || apiPost.Code != http.StatusUnauthorized {
		t.Errorf("%s: API GET %d, API POST %d; want 401", name, apiGet.Code, apiPost.Code)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Hour})
		c := sessionCookie(f.login(t, "alice", "password-1", "/", nil))
		if c == nil {
			t.Fatal("login set no session cookie")
		}
		csrf := csrfOf(t, f.page, c)
		other, otherCSRF, err := f.a.SessionFor(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "before logout", f.page, f.api, c, csrf, true)

		if rec := logout(f.a, c, ""); rec.Code != http.StatusForbidden || cleared(rec) {
			t.Errorf("logout without the CSRF token: %d, cleared %v", rec.Code, cleared(rec))
		}
		checkSession(t, "after a refused logout", f.page, f.api, c, csrf, true)

		rec := logout(f.a, c, csrf)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" || !cleared(rec) {
			t.Errorf("logout: %d %q cleared=%v", rec.Code, rec.Header().Get("Location"), cleared(rec))
		}
		// The copied cookie is refused at once, although the "not
		// revoked" answer was cached for an hour; the user's other
		// session still works.
		checkSession(t, "replayed cookie", f.page, f.api, c, csrf, false)
		checkSession(t, "second session", f.page, f.api, other, otherCSRF, true)
		if rec := serve(f.a.Login(), "GET", "/login?next=/dags", c, nil, ""); rec.Code != http.StatusOK {
			t.Errorf("GET /login with the revoked cookie: %d; want the login page", rec.Code)
		}
		if revoked, err := st.SessionRevoked(context.Background(), sessionID(t, c)); err != nil || !revoked {
			t.Errorf("store: session revoked %v, err %v", revoked, err)
		}

		// Logging out again with the revoked cookie does no harm.
		if rec := logout(f.a, c, csrf); rec.Code != http.StatusSeeOther || !cleared(rec) {
			t.Errorf("second logout: %d cleared=%v", rec.Code, cleared(rec))
		}
		if rec := serve(f.a.Logout(), "GET", "/logout", nil, nil, ""); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: %d", rec.Code)
		}
	})
}

// sessionID reads the id out of session cookie c (base64url JSON before
// the signature), to look the session up in the store.
func sessionID(t *testing.T, c *http.Cookie) string {
	t.Helper()
	payload, _, _ := strings.Cut(c.Value, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var s struct {
		ID string `json:"i"`
	}
	if err != nil || json.Unmarshal(b, &s) != nil || s.ID == "" {
		t.Fatalf("cannot read the session id of %q", c.Value)
	}
	return s.ID
}

// syncWriter serializes writes to w (the log handler may be called from
// several goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// countingBackend counts the revocation checks that reach the store.
type countingBackend struct {
	store.Store
	checks atomic.Int32
}

func (b *countingBackend) SessionRevoked(ctx context.Context, id string) (bool, error) {
	b.checks.Add(1)
	return b.Store.SessionRevoked(ctx, id)
}

func TestLogoutSeenByAnotherProcess(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		key := bytes.Repeat([]byte("k"), 32)
		const cacheTTL = 2 * time.Second
		f := newFixtureOn(t, st, auth.Options{Key: key, CacheTTL: cacheTTL})
		b2 := &countingBackend{Store: st}
		a2 := f.authenticator(t, auth.Options{Key: key, CacheTTL: cacheTTL, Backend: b2})
		page2, api2 := guard(t, a2)

		c, csrf, err := f.a.SessionFor(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		other, otherCSRF, err := f.a.SessionFor(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "process 1 before logout", f.page, f.api, c, csrf, true)
		checkSession(t, "process 2 before logout", page2, api2, c, csrf, true)
		// Three requests within the cache time: one revocation check.
		if n := b2.checks.Load(); n != 1 {
			t.Errorf("process 2 checked the store %d times for 3 requests of one session, want 1 (cached)", n)
		}

		if rec := logout(f.a, c, csrf); rec.Code != http.StatusSeeOther {
			t.Fatalf("logout through process 1: %d %s", rec.Code, rec.Body)
		}
		checkSession(t, "process 1 right after logout", f.page, f.api, c, csrf, false)
		// Process 2 trusts its cached answer for up to cacheTTL (the
		// documented window), then sees the revocation.
		f.advance(cacheTTL - time.Millisecond)
		checkSession(t, "process 2 within its cache time", page2, api2, c, csrf, true)
		f.advance(time.Millisecond)
		checkSession(t, "process 2 after its cache time", page2, api2, c, csrf, false)
		checkSession(t, "second session on process 2", page2, api2, other, otherCSRF, true)

		// A revoked answer stays cached: later requests do not reach the
		// store, even past the cache time.
		n := b2.checks.Load()
		f.advance(10 * cacheTTL)
		checkSession(t, "process 2 later", page2, api2, c, csrf, false)
		if got := b2.checks.Load(); got != n {
			t.Errorf("process 2 checked the store %d more times for a revoked session, want 0", got-n)
		}
	})
}

func TestRevocationStoreErrorFailsClosed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		var logs bytes.Buffer
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Nanosecond,
			Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
		c, csrf, err := f.a.SessionFor(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "before the store fails", f.page, f.api, c, csrf, true)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		f.advance(time.Millisecond)
		if rec := serve(f.page, "GET", "/dags", c, nil, ""); rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "alice") {
			t.Errorf("page while the store fails: %d %q; want 500 without reaching the handler", rec.Code, rec.Body)
		}
		if rec := serve(f.api, "GET", "/api/v1/dags", c, nil, ""); rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "alice") {
			t.Errorf("API while the store fails: %d %q; want 500 without reaching the handler", rec.Code, rec.Body)
		}
		if !strings.Contains(logs.String(), "revoked") {
			t.Errorf("the failed revocation check was not logged:\n%s", logs.String())
		}
		// Logout cannot revoke: it says so and keeps the cookie.
		if rec := logout(f.a, c, csrf); rec.Code != http.StatusInternalServerError || cleared(rec) {
			t.Errorf("logout while the store fails: %d cleared=%v; want 500, cookie kept", rec.Code, cleared(rec))
		}
	})
}

package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestCan(t *testing.T) {
	t.Parallel()
	perms := []auth.Permission{auth.PermRead, auth.PermTrigger, auth.PermClear, auth.PermMark, auth.PermPause, auth.PermConnections, auth.PermVariables, auth.PermPools, auth.PermAdmin}
	want := map[auth.Role]string{
		auth.RoleAdmin:  "read trigger clear mark pause connections variables pools admin",
		auth.RoleOp:     "read trigger clear mark pause connections variables pools",
		auth.RoleViewer: "read",
		"unknown":       "",
	}
	for role, w := range want {
		var got []string
		for _, p := range perms {
			if auth.Can(&auth.User{Username: "u", Role: role}, p) {
				got = append(got, string(p))
			}
		}
		if strings.Join(got, " ") != w {
			t.Errorf("%s can %q, want %q", role, got, w)
		}
	}
	if auth.Can(nil, auth.PermRead) {
		t.Error("a nil user can read")
	}
	if r, ok := auth.ParseRole("op"); !ok || r != auth.RoleOp {
		t.Errorf("ParseRole(op) = %q, %v", r, ok)
	}
	if _, ok := auth.ParseRole("root"); ok {
		t.Error("ParseRole(root) succeeded")
	}
}

func TestPasswordsAndTokens(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse")
	if err != nil || !strings.HasPrefix(h, "$2") {
		t.Fatalf("HashPassword = %q, %v", h, err)
	}
	if !auth.CheckPassword(h, "correct horse") || auth.CheckPassword(h, "correct horsE") {
		t.Error("CheckPassword accepts the wrong password or refuses the right one")
	}
	for _, weak := range []string{"", "short", strings.Repeat("x", 73)} {
		if _, err := auth.HashPassword(weak); !errors.Is(err, auth.ErrWeakPassword) {
			t.Errorf("HashPassword(%d bytes): err = %v, want ErrWeakPassword", len(weak), err)
		}
	}
	p1, _ := auth.GeneratePassword()
	p2, _ := auth.GeneratePassword()
	if len(p1) < 20 || p1 == p2 {
		t.Errorf("GeneratePassword = %q, %q", p1, p2)
	}
	tok, hash, err := auth.NewToken()
	if err != nil || !strings.HasPrefix(tok, auth.TokenPrefix) || len(tok) < 40 || hash != auth.HashToken(tok) || strings.Contains(hash, tok) {
		t.Errorf("NewToken = %q, %q, %v", tok, hash, err)
	}
}

// fixture is an Authenticator over a SQLite store with one user, alice
// (op, password "password-1"), in front of a handler that echoes the
// user and the CSRF token.
type fixture struct {
	st   store.Store
	a    *auth.Authenticator
	now  time.Time
	mu   sync.Mutex
	page http.Handler
	api  http.Handler
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, testdb.SQLite(t), auth.Options{CacheTTL: time.Nanosecond})
}

// newFixtureOn is newFixture over st, with o's options; o.Backend
// defaults to st, o.SessionTTL to an hour and o.Now is the fixture's clock.
func newFixtureOn(t *testing.T, st store.Store, o auth.Options) *fixture {
	t.Helper()
	f := &fixture{st: st, now: time.Now()}
	hash, err := bcrypt.GenerateFromPassword([]byte("password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UserCreate(context.Background(), &store.UserCreateParams{Username: "alice", PasswordHash: string(hash), Role: "op"}); err != nil {
		t.Fatal(err)
	}
	f.a = f.authenticator(t, o)
	f.page, f.api = guard(t, f.a)
	return f
}

// authenticator returns a new Authenticator on the fixture's store and
// clock, as another webserver process would have.
func (f *fixture) authenticator(t *testing.T, o auth.Options) *auth.Authenticator {
	t.Helper()
	if o.Backend == nil {
		o.Backend = f.st
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = time.Hour
	}
	o.Now = f.clock
	a, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// guard returns a's page and API middlewares in front of a handler that
// echoes the user and the CSRF token.
func guard(t *testing.T, a *auth.Authenticator) (page, api http.Handler) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.UserFrom(r.Context())
		if !ok {
			t.Error("handler reached without a user")
			return
		}
		w.Write([]byte(u.Username + " " + string(u.Role) + " csrf=" + auth.CSRFToken(r)))
	})
	return a.RequireSession(echo), a.RequireAuth(echo)
}

// serve sends one request with an optional cookie, headers and form body.
func serve(h http.Handler, method, target string, c *http.Cookie, hdr http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// login runs the login form and returns the response to the POST.
func (f *fixture) login(t *testing.T, user, password, next string, tamper func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	return loginThrough(t, f.a, user, password, next, tamper)
}

// loginThrough runs the login form of a (one webserver process).
func loginThrough(t *testing.T, a *auth.Authenticator, user, password, next string, tamper func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Login().ServeHTTP(rec, httptest.NewRequest("GET", "/login?next="+url.QueryEscape(next), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /login: %d", rec.Code)
	}
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("login page has no CSRF field:\n%s", rec.Body)
	}
	form := url.Values{"username": {user}, "password": {password}, "next": {next}, "csrf_token": {m[1]}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	if tamper != nil {
		tamper(req)
	}
	out := httptest.NewRecorder()
	a.Login().ServeHTTP(out, req)
	return out
}

func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.SessionCookie && c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.login(t, "alice", "password-1", "/dags/etl/grid?x=1", nil)
	c := sessionCookie(rec)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dags/etl/grid?x=1" || c == nil {
		t.Fatalf("login: %d Location %q cookie %v", rec.Code, rec.Header().Get("Location"), c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Errorf("session cookie flags: %+v", c)
	}
	cases := []struct {
		name, user, password, next string
		tamper                     func(*http.Request)
		code                       int
		body                       string
	}{
		{"wrong password", "alice", "password-2", "/", nil, http.StatusUnauthorized, "Invalid username or password"},
		{"unknown user", "mallory", "password-1", "/", nil, http.StatusUnauthorized, "Invalid username or password"},
		{"no login cookie", "alice", "password-1", "/", func(r *http.Request) { r.Header.Del("Cookie") }, http.StatusForbidden, "expired"},
		{"forged login cookie", "alice", "password-1", "/", func(r *http.Request) {
			r.Header.Del("Cookie")
			r.AddCookie(&http.Cookie{Name: auth.LoginCookie, Value: "bm9uY2U.c2ln"})
		}, http.StatusForbidden, "expired"},
	}
	for _, c := range cases {
		rec := f.login(t, c.user, c.password, c.next, c.tamper)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.body) || sessionCookie(rec) != nil {
			t.Errorf("%s: %d, session %v, body %s", c.name, rec.Code, sessionCookie(rec), rec.Body)
		}
	}
	offsite := []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "", "/\t/evil.example",
		"/\n/evil.example", "/\r\n/evil.example", "/ /evil.example", "/\x00/evil.example", "javascript:alert(1)",
		"/%2F/evil.example", "evil.example", "/\x7f/evil.example"}
	for _, next := range offsite {
		if rec := f.login(t, "alice", "password-1", next, nil); rec.Header().Get("Location") != "/" {
			t.Errorf("POST next %q redirects to %q, want /", next, rec.Header().Get("Location"))
		}
		// A signed-in user's GET /login redirects at once: same rule.
		rec := serve(f.a.Login(), "GET", "/login?next="+url.QueryEscape(next), c, nil, "")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Errorf("GET next %q: %d Location %q, want 303 to /", next, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := serve(f.a.Login(), "GET", "/login?next=%2F%09%2Fevil.example", c, nil, ""); rec.Header().Get("Location") != "/" {
		t.Errorf("GET /login?next=%%2F%%09%%2Fevil.example redirects to %q, want /", rec.Header().Get("Location"))
	}
	for _, next := range []string{"/dags/etl/grid?x=1&y=%2F", "/dags", "/runs#x"} {
		rec := serve(f.a.Login(), "GET", "/login?next="+url.QueryEscape(next), c, nil, "")
		if rec.Header().Get("Location") != next {
			t.Errorf("GET next %q redirects to %q, want it kept", next, rec.Header().Get("Location"))
		}
	}
	// Over TLS the cookie is Secure.
	rec = f.login(t, "alice", "password-1", "/", func(r *http.Request) { r.TLS = &tls.ConnectionState{} })
	if c := sessionCookie(rec); c == nil || !c.Secure {
		t.Errorf("session cookie over TLS: %+v", c)
	}
}

func TestRequireSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if rec := serve(f.page, "GET", "/dags/etl?tab=1", nil, nil, ""); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Fdags%2Fetl%3Ftab%3D1" {
		t.Errorf("GET without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := serve(f.page, "GET", "/dags", nil, http.Header{"Hx-Request": {"true"}}, ""); rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("HX-Redirect"), "/login") {
		t.Errorf("htmx request without a session: %d %q", rec.Code, rec.Header().Get("HX-Redirect"))
	}
	if rec := serve(f.page, "POST", "/dags/etl/pause", nil, nil, "x=1"); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", rec.Code)
	}
	c, csrf, err := f.a.SessionFor(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec := serve(f.page, "GET", "/", c, nil, ""); rec.Code != http.StatusOK || rec.Body.String() != "alice op csrf="+csrf {
		t.Errorf("GET with a session: %d %q", rec.Code, rec.Body)
	}
	if rec := serve(f.page, "POST", "/dags/etl/pause", c, nil, "x=1"); rec.Code != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d", rec.Code)
	}
	if rec := serve(f.page, "POST", "/dags/etl/pause", c, nil, "csrf_token="+url.QueryEscape(csrf)); rec.Code != http.StatusOK {
		t.Errorf("POST with the CSRF form field: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(f.page, "POST", "/dags/etl/pause", c, http.Header{"X-Csrf-Token": {csrf}}, "x=1"); rec.Code != http.StatusOK {
		t.Errorf("POST with the CSRF header: %d %s", rec.Code, rec.Body)
	}
	// A bearer token opens the API but not the pages.
	tok, hash, _ := auth.NewToken()
	if _, err := f.st.APITokenCreate(context.Background(), &store.APITokenCreateParams{Name: "t", Username: "alice", Hash: hash}); err != nil {
		t.Fatal(err)
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	if rec := serve(f.api, "POST", "/api/v1/x", nil, bearer, ""); rec.Code != http.StatusOK || rec.Body.String() != "alice op csrf=" {
		t.Errorf("API POST with a bearer token: %d %q", rec.Code, rec.Body)
	}
	if rec := serve(f.page, "GET", "/", nil, bearer, ""); rec.Code != http.StatusSeeOther {
		t.Errorf("page with a bearer token only: %d", rec.Code)
	}

	// Tampering with the cookie, or signing it with another key, fails.
	tampered := *c
	tampered.Value = "x" + c.Value[1:]
	other, _ := auth.New(auth.Options{Backend: f.st})
	foreign, _, _ := other.SessionFor(context.Background(), "alice")
	for name, bad := range map[string]*http.Cookie{"tampered": &tampered, "foreign key": foreign} {
		if rec := serve(f.page, "GET", "/", bad, nil, ""); rec.Code != http.StatusSeeOther {
			t.Errorf("%s cookie: %d", name, rec.Code)
		}
	}

	// Changing the password ends the session; so does its expiry.
	hash2, _ := bcrypt.GenerateFromPassword([]byte("password-2"), bcrypt.MinCost)
	h2 := string(hash2)
	if _, err := f.st.UserUpdate(context.Background(), &store.UserUpdateParams{Username: "alice", PasswordHash: &h2}); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Millisecond) // past the lookup cache
	if rec := serve(f.page, "GET", "/", c, nil, ""); rec.Code != http.StatusSeeOther {
		t.Errorf("session after a password change: %d", rec.Code)
	}
	c2, _, _ := f.a.SessionFor(context.Background(), "alice")
	if rec := serve(f.page, "GET", "/", c2, nil, ""); rec.Code != http.StatusOK {
		t.Errorf("new session: %d", rec.Code)
	}
	f.advance(2 * time.Hour)
	if rec := serve(f.page, "GET", "/", c2, nil, ""); rec.Code != http.StatusSeeOther {
		t.Errorf("expired session: %d", rec.Code)
	}
	// A deleted user's token stops working.
	if err := f.st.UserDelete(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Millisecond)
	if rec := serve(f.api, "GET", "/api/v1/x", nil, bearer, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("token of a deleted user: %d", rec.Code)
	}
}

func TestNewRefusesAShortKey(t *testing.T) {
	t.Parallel()
	if _, err := auth.New(auth.Options{Backend: testdb.SQLite(t), Key: []byte("short")}); err == nil {
		t.Error("a 5-byte session key was accepted")
	}
	if _, err := auth.New(auth.Options{}); err == nil {
		t.Error("no backend was accepted")
	}
}

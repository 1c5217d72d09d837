package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

// from sets the client address of a login.
func from(addr string) func(*http.Request) {
	return func(r *http.Request) { r.RemoteAddr = addr }
}

// TestLoginThrottle is the brute force of issue 13: wrong passwords
// followed by the right one. After five failures the user is locked out
// for 40 s, doubling with each failure after the lock, in every webserver
// process sharing the store; the right password is not even checked while
// locked.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Nanosecond})
		other := f.authenticator(t, auth.Options{CacheTTL: time.Nanosecond})
		attempt := func(a *auth.Authenticator, password, addr string) *httptest.ResponseRecorder {
			t.Helper()
			return loginThrough(t, a, "alice", password, "/", from(addr))
		}
		for i := 1; i <= 5; i++ {
			// Spread over two processes and five addresses: the per-user
			// count is shared.
			a := f.a
			if i%2 == 0 {
				a = other
			}
			if rec := attempt(a, "wrong-password", "198.51.100."+string(rune('0'+i))+":4000"); rec.Code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d, want 401", i, rec.Code)
			}
		}
		for name, a := range map[string]*auth.Authenticator{"process 1": f.a, "process 2": other} {
			rec := attempt(a, "password-1", "203.0.113.9:5000")
			if rec.Code != http.StatusTooManyRequests || sessionCookie(rec) != nil {
				t.Fatalf("%s: right password after 5 failures: %d, session %v; want 429 and no session", name, rec.Code, sessionCookie(rec))
			}
			if got := rec.Header().Get("Retry-After"); got != "40" {
				t.Errorf("%s: Retry-After %q, want 40", name, got)
			}
			if !strings.Contains(rec.Body.String(), "Too many failed logins") {
				t.Errorf("%s: body does not say why:\n%s", name, rec.Body)
			}
		}
		f.advance(39 * time.Second)
		if rec := attempt(f.a, "password-1", "203.0.113.9:5000"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("right password 39 s into the lock-out: %d, want 429", rec.Code)
		}
		f.advance(2 * time.Second)
		if rec := attempt(other, "password-1", "203.0.113.9:5000"); rec.Code != http.StatusSeeOther || sessionCookie(rec) == nil {
			t.Fatalf("right password after the lock-out: %d, want 303 with a session", rec.Code)
		}

		// The success cleared the count: five more failures, then the
		// lock-out doubles with each further failure.
		for i := 0; i < 5; i++ {
			if rec := attempt(f.a, "wrong-password", "198.51.100.1:4000"); rec.Code != http.StatusUnauthorized {
				t.Fatalf("wrong password %d after a success: %d, want 401", i+1, rec.Code)
			}
		}
		f.advance(41 * time.Second)
		if rec := attempt(f.a, "wrong-password", "198.51.100.1:4000"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("sixth wrong password after the first lock-out: %d, want 401", rec.Code)
		}
		rec := attempt(f.a, "password-1", "198.51.100.1:4000")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "80" {
			t.Fatalf("after the sixth failure: %d Retry-After %q, want 429 and 80", rec.Code, rec.Header().Get("Retry-After"))
		}
		f.advance(81 * time.Second)
		if rec := attempt(f.a, "password-1", "198.51.100.1:4000"); rec.Code != http.StatusSeeOther {
			t.Errorf("right password after the doubled lock-out: %d, want 303", rec.Code)
		}
	})
}

// TestLoginThrottlePerAddress: one address guessing many usernames is
// locked out after 20 failures, for every username, while other addresses
// still log in.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Nanosecond})
		const attacker = "192.0.2.66:1000"
		for i := 0; i < 20; i++ {
			user := "guess" + string(rune('a'+i))
			if rec := loginThrough(t, f.a, user, "wrong-password", "/", from(attacker)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d from one address: %d, want 401", i+1, rec.Code)
			}
		}
		if rec := loginThrough(t, f.a, "alice", "password-1", "/", from(attacker)); rec.Code != http.StatusTooManyRequests {
			t.Errorf("alice from the attacking address: %d, want 429", rec.Code)
		}
		if rec := loginThrough(t, f.a, "alice", "password-1", "/", from("192.0.2.7:1000")); rec.Code != http.StatusSeeOther {
			t.Errorf("alice from another address: %d, want 303", rec.Code)
		}
	})
}

// TestUserChangesEndSessionsAndTokens: a password change, a role change,
// a deactivation or a deletion ends the user's sessions and API tokens, in the process
// that made it at once and in every other within the cache time.
func TestUserChangesEndSessionsAndTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	changes := map[string]func(st store.Store) error{
		"password": func(st store.Store) error {
			h, err := auth.HashPassword("another-password")
			if err != nil {
				return err
			}
			_, err = st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", PasswordHash: &h})
			return err
		},
		"role": func(st store.Store) error {
			role := "viewer"
			_, err := st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", Role: &role})
			return err
		},
		"deletion": func(st store.Store) error { return st.UserDelete(ctx, "alice") },
		"deactivation": func(st store.Store) error {
			off := false
			_, err := st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", Active: &off})
			return err
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, st store.Store) {
				const cacheTTL = 2 * time.Second
				f := newFixtureOn(t, st, auth.Options{CacheTTL: cacheTTL})
				c, csrf, err := f.a.SessionFor(ctx, "alice")
				if err != nil {
					t.Fatal(err)
				}
				token, hash, err := auth.NewToken()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "ci", Username: "alice", Hash: hash}); err != nil {
					t.Fatal(err)
				}
				bearer := http.Header{"Authorization": {"Bearer " + token}}
				checkSession(t, "before the change", f.page, f.api, c, csrf, true)
				if rec := serve(f.api, "GET", "/api/v1/dags", nil, bearer, ""); rec.Code != http.StatusOK {
					t.Fatalf("token before the change: %d", rec.Code)
				}
				// The change is made by another process (the CLI).
				if err := change(st); err != nil {
					t.Fatal(err)
				}
				f.advance(cacheTTL)
				checkSession(t, "after the change", f.page, f.api, c, csrf, false)
				if rec := serve(f.api, "GET", "/api/v1/dags", nil, bearer, ""); rec.Code != http.StatusUnauthorized {
					t.Errorf("token after the %s change: %d, want 401", name, rec.Code)
				}
				if toks, err := st.APITokenList(ctx, "alice"); err != nil || len(toks) != 0 {
					t.Errorf("tokens left after the %s change: %d (%v), want none", name, len(toks), err)
				}
			})
		})
	}
	// Setting the role a user already has ends nothing.
	testdb.Each(t, func(t *testing.T, st store.Store) {
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Nanosecond})
		c, csrf, err := f.a.SessionFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		_, hash, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "ci", Username: "alice", Hash: hash}); err != nil {
			t.Fatal(err)
		}
		same := "op"
		if _, err := st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", Role: &same}); err != nil {
			t.Fatal(err)
		}
		f.advance(time.Millisecond)
		checkSession(t, "after setting the same role", f.page, f.api, c, csrf, true)
		if toks, _ := st.APITokenList(ctx, "alice"); len(toks) != 1 {
			t.Errorf("tokens after setting the same role: %d, want 1", len(toks))
		}
	})
}

// TestDeactivatedUserCannotLogIn: a deactivated user's right password is
// refused as a wrong one is (401, the same message), a session started
// before ends at once in the process that forgets the user and stays
// ended, and the user logs in again once activated.
func TestDeactivatedUserCannotLogIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	testdb.Each(t, func(t *testing.T, st store.Store) {
		f := newFixtureOn(t, st, auth.Options{CacheTTL: time.Hour})
		c, csrf, err := f.a.SessionFor(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, "before the deactivation", f.page, f.api, c, csrf, true)
		off, on := false, true
		if _, err := st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", Active: &off}); err != nil {
			t.Fatal(err)
		}
		f.a.Forget("alice")
		checkSession(t, "after the deactivation", f.page, f.api, c, csrf, false)
		rec := f.login(t, "alice", "password-1", "/", nil)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Invalid username or password") {
			t.Errorf("login of a deactivated user: %d %q, want 401 and the wrong-password message", rec.Code, rec.Body)
		}
		if _, err := st.UserUpdate(ctx, &store.UserUpdateParams{Username: "alice", Active: &on}); err != nil {
			t.Fatal(err)
		}
		f.a.Forget("alice")
		checkSession(t, "a session of before the deactivation, after the reactivation", f.page, f.api, c, csrf, false)
		if rec := f.login(t, "alice", "password-1", "/", nil); rec.Code != http.StatusSeeOther {
			t.Errorf("login after the reactivation: %d, want 303", rec.Code)
		}
	})
}

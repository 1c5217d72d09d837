package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Throttle limits failed logins. The counts live in the metadata store, so
// every webserver process sharing it enforces the same limits.
//
// A key (the username tried, and the client's address) may fail PerUser
// (PerAddress) times; from then on every login through that key is refused
// with 429 until Backoff after its last failure, doubling with each further
// failure up to MaxBackoff. A key's count starts again once Window has
// passed since its last failure; a successful login clears the user's
// count (not the address's).
type Throttle struct {
	// PerUser is how many failures a username may have before back-off;
	// default 5 (Airflow's Flask-AppBuilder rate limit is 5 per 40 s).
	PerUser int
	// PerAddress is the same for one client address; default 20, higher
	// because users behind one NAT share it.
	PerAddress int
	// Backoff is the first lock-out; default 40 s.
	Backoff time.Duration
	// MaxBackoff caps the doubling lock-out; default 15 minutes.
	MaxBackoff time.Duration
	// Window is how long failures are remembered; default 15 minutes.
	Window time.Duration
	// Disabled turns throttling off (tests that log in many times).
	Disabled bool
}

func (t *Throttle) defaults() {
	if t.PerUser <= 0 {
		t.PerUser = 5
	}
	if t.PerAddress <= 0 {
		t.PerAddress = 20
	}
	if t.Backoff <= 0 {
		t.Backoff = 40 * time.Second
	}
	if t.MaxBackoff < t.Backoff {
		t.MaxBackoff = max(15*time.Minute, t.Backoff)
	}
	if t.Window < time.Second {
		t.Window = 15 * time.Minute
	}
}

// lockedUntil returns when a key with n failures, the last at last, may
// try again; the zero time when it is not locked.
func (t *Throttle) lockedUntil(n, limit int, last time.Time) time.Time {
	if n < limit {
		return time.Time{}
	}
	d := t.Backoff
	for i := limit; i < n && d < t.MaxBackoff; i++ {
		d *= 2
	}
	return last.Add(min(d, t.MaxBackoff))
}

func loginUserKey(username string) string { return "user:" + username }

// loginAddrKey is the client's address without its port.
func loginAddrKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// loginWait returns how long the user or address must wait before it may
// try to log in again: zero when it may now.
func (a *Authenticator) loginWait(ctx context.Context, username string, r *http.Request) (time.Duration, error) {
	if a.throttle.Disabled {
		return 0, nil
	}
	uk, ak := loginUserKey(username), loginAddrKey(r)
	fails, err := a.backend.LoginFailureList(ctx, []string{uk, ak})
	if err != nil {
		return 0, err
	}
	var until time.Time
	for _, f := range fails {
		limit := a.throttle.PerUser
		if f.Key == ak {
			limit = a.throttle.PerAddress
		}
		if f.LastFailure.Before(a.now().Add(-a.throttle.Window)) {
			continue
		}
		if u := a.throttle.lockedUntil(f.Failures, limit, f.LastFailure); u.After(until) {
			until = u
		}
	}
	if wait := until.Sub(a.now()); wait > 0 {
		return wait, nil
	}
	return 0, nil
}

// loginFailed counts a failed login for the user and the address.
func (a *Authenticator) loginFailed(ctx context.Context, username string, r *http.Request) error {
	if a.throttle.Disabled {
		return nil
	}
	_, err := a.backend.LoginFailureAdd(ctx, &store.LoginFailureAddParams{
		Keys: []string{loginUserKey(username), loginAddrKey(r)}, At: a.now(), Window: a.throttle.Window})
	return err
}

// loginSucceeded clears the user's failures.
func (a *Authenticator) loginSucceeded(ctx context.Context, username string) error {
	if a.throttle.Disabled {
		return nil
	}
	return a.backend.LoginFailureReset(ctx, loginUserKey(username))
}

// tooMany answers a throttled login: 429 with Retry-After and the login
// page saying how long to wait.
func (a *Authenticator) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.showLogin(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins; try again in %d seconds.", secs))
}

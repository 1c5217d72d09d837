package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Backend is what an Authenticator reads from the metadata store;
// store.Store satisfies it.
type Backend interface {
	// UserGet returns a user or an error wrapping store.ErrNotFound.
	UserGet(ctx context.Context, username string) (*store.User, error)
	// APITokenGetByHash returns the token with the given hash or an error
	// wrapping store.ErrNotFound.
	APITokenGetByHash(ctx context.Context, hash string) (*store.APIToken, error)
	// SessionRevoke records that a session id is revoked until expires.
	SessionRevoke(ctx context.Context, id string, expires time.Time) error
	// SessionRevoked reports whether a session id was revoked.
	SessionRevoked(ctx context.Context, id string) (bool, error)
	// LoginFailureAdd, LoginFailureList and LoginFailureReset keep the
	// failed-login counts of Throttle.
	LoginFailureAdd(ctx context.Context, p *store.LoginFailureAddParams) ([]store.LoginFailure, error)
	LoginFailureList(ctx context.Context, keys []string) ([]store.LoginFailure, error)
	LoginFailureReset(ctx context.Context, key string) error
}

// LoginPageFunc writes the login page. CSRFToken(r) gives the token its
// form must post back in the csrf_token field, with the fields username,
// password and next. errMsg is empty on first display. The Authenticator
// chooses the status code (401 or 403 after a failed attempt), whatever
// the function passes to WriteHeader.
type LoginPageFunc func(w http.ResponseWriter, r *http.Request, errMsg string)

// Options configures an Authenticator.
type Options struct {
	// Backend looks up users and tokens (required).
	Backend Backend
	// Key signs session cookies and CSRF tokens; at least 32 bytes. Empty
	// means a random key for this process, so sessions end when it stops.
	Key []byte
	// Secure marks cookies Secure even on plain HTTP requests (behind a
	// TLS-terminating proxy); cookies on TLS requests are always Secure.
	Secure bool
	// SessionTTL is how long a session lasts; default 12 hours.
	SessionTTL time.Duration
	// CacheTTL is how long a looked-up user or token, or the answer that
	// a session is not revoked, is trusted before it is read again;
	// default 2 seconds. Deleting a user or token, or logging out through
	// another webserver process, takes effect after at most this long (a
	// logout through this process takes effect at once).
	CacheTTL time.Duration
	// LoginPage renders /login; nil uses a minimal built-in form.
	LoginPage LoginPageFunc
	// Logger receives login failures; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Throttle limits failed logins per user and per address; the zero
	// value has the defaults documented on Throttle.
	Throttle Throttle
}

// Authenticator authenticates requests by session cookie or bearer token
// and serves the login and logout endpoints. It is safe for concurrent
// use.
type Authenticator struct {
	backend   Backend
	key       []byte
	secure    bool
	ttl       time.Duration
	cacheTTL  time.Duration
	loginPage LoginPageFunc
	log       *slog.Logger
	now       func() time.Time
	throttle  Throttle

	mu     sync.Mutex
	users  map[string]cached
	tokens map[string]cached
	// revoked caches, per session id, whether the session was revoked.
	revoked map[string]revocation
}

// revocation is a cached answer of Backend.SessionRevoked.
type revocation struct {
	revoked bool
	until   time.Time
}

type cached struct {
	user *store.User
	// owner is set for a token: its user's name.
	until time.Time
	err   error
}

// maxCache bounds each lookup cache; a full cache is emptied.
const maxCache = 10000

// New returns an Authenticator.
func New(o Options) (*Authenticator, error) {
	if o.Backend == nil {
		return nil, errors.New("auth: no backend")
	}
	key := o.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("auth: session key: %w", err)
		}
	} else if len(key) < 32 {
		return nil, errors.New("auth: session key shorter than 32 bytes")
	}
	a := &Authenticator{
		backend:   o.Backend,
		key:       append([]byte(nil), key...),
		secure:    o.Secure,
		ttl:       o.SessionTTL,
		cacheTTL:  o.CacheTTL,
		loginPage: o.LoginPage,
		log:       o.Logger,
		now:       o.Now,
		throttle:  o.Throttle,
		users:     map[string]cached{},
		tokens:    map[string]cached{},
		revoked:   map[string]revocation{},
	}
	if a.ttl <= 0 {
		a.ttl = 12 * time.Hour
	}
	if a.cacheTTL <= 0 {
		a.cacheTTL = 2 * time.Second
	}
	if a.loginPage == nil {
		a.loginPage = defaultLoginPage
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.throttle.defaults()
	return a, nil
}

// lookupUser returns an active user through the cache; a deactivated one
// is an error wrapping store.ErrNotFound, as an unknown one.
func (a *Authenticator) lookupUser(ctx context.Context, username string) (*store.User, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.users[username]
	a.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.user, c.err
	}
	u, err := a.backend.UserGet(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look up user %q: %w", username, err)
	}
	if err == nil && !u.Active {
		// A deactivated user's sessions and tokens act for no one.
		u, err = nil, fmt.Errorf("user %q is deactivated: %w", username, store.ErrNotFound)
	}
	a.mu.Lock()
	if len(a.users) >= maxCache {
		a.users = map[string]cached{}
	}
	a.users[username] = cached{user: u, err: err, until: now.Add(a.cacheTTL)}
	a.mu.Unlock()
	return u, err
}

// lookupToken returns the user a bearer token acts for, through the cache.
func (a *Authenticator) lookupToken(ctx context.Context, token string) (*store.User, error) {
	hash := HashToken(token)
	now := a.now()
	a.mu.Lock()
	c, ok := a.tokens[hash]
	a.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.user, c.err
	}
	var u *store.User
	t, err := a.backend.APITokenGetByHash(ctx, hash)
	if err == nil {
		u, err = a.lookupUser(ctx, t.Username)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	a.mu.Lock()
	if len(a.tokens) >= maxCache {
		a.tokens = map[string]cached{}
	}
	a.tokens[hash] = cached{user: u, err: err, until: now.Add(a.cacheTTL)}
	a.mu.Unlock()
	return u, err
}

// checkRevoked returns errBadCookie when s was revoked (logged out).
//
// "Not revoked" is cached for cacheTTL, so a logout through another
// webserver process is seen after at most that long; "revoked" is cached
// until the session expires, since it cannot change back. A logout through
// this Authenticator updates the cache at once (see revoke).
//
// A store error fails closed: it is returned (not errBadCookie), so the
// middleware logs it and refuses the request with a 500 instead of letting
// a possibly revoked session through.
func (a *Authenticator) checkRevoked(ctx context.Context, s *session) error {
	now := a.now()
	a.mu.Lock()
	c, ok := a.revoked[s.ID]
	a.mu.Unlock()
	if !ok || !now.Before(c.until) {
		rev, err := a.backend.SessionRevoked(ctx, s.ID)
		if err != nil {
			return fmt.Errorf("check whether the session of %q is revoked: %w", s.Username, err)
		}
		c = revocation{revoked: rev, until: now.Add(a.cacheTTL)}
		if rev {
			c.until = time.Unix(s.Expires, 0)
		}
		a.mu.Lock()
		// A logout that raced with this lookup wins: never replace a
		// cached "revoked" with an older "not revoked".
		if old, ok := a.revoked[s.ID]; !ok || !old.revoked {
			if len(a.revoked) >= maxCache {
				a.revoked = map[string]revocation{}
			}
			a.revoked[s.ID] = c
		}
		a.mu.Unlock()
	}
	if c.revoked {
		return errBadCookie
	}
	return nil
}

// revoke records in the store that s is revoked until it expires, then in
// the cache, so that it is refused at once by this Authenticator.
func (a *Authenticator) revoke(ctx context.Context, s *session) error {
	expires := time.Unix(s.Expires, 0)
	if err := a.backend.SessionRevoke(ctx, s.ID, expires); err != nil {
		return fmt.Errorf("revoke the session of %q: %w", s.Username, err)
	}
	a.mu.Lock()
	if len(a.revoked) >= maxCache {
		a.revoked = map[string]revocation{}
	}
	a.revoked[s.ID] = revocation{revoked: true, until: expires}
	a.mu.Unlock()
	return nil
}

// Forget drops a user's cached entry, so that a change made through this
// process (a new role, a deletion) takes effect at once.
func (a *Authenticator) Forget(username string) {
	a.mu.Lock()
	delete(a.users, username)
	a.tokens = map[string]cached{}
	a.mu.Unlock()
}

func toUser(u *store.User) *User {
	return &User{Username: u.Username, Role: Role(u.Role)}
}

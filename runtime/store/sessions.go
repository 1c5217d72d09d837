package store

import (
	"fmt"
	"time"
)

// RevokedSessionGrace is how long a revoked session's row outlives the
// session's expiry before SessionRevoke purges it, so that a webserver
// whose clock runs behind the database's still refuses the session.
const RevokedSessionGrace = time.Hour

// CheckSessionRevoke checks the arguments of SessionRevoke: a session id
// and the time the session expires, both required.
func CheckSessionRevoke(id string, expires time.Time) error {
	if id == "" {
		return fmt.Errorf("revoke session: empty id: %w", ErrInvalid)
	}
	if expires.IsZero() {
		return fmt.Errorf("revoke session: no expiry: %w", ErrInvalid)
	}
	return nil
}

// LoginFailureRetention is how long a key's failed logins are kept after
// the last one; LoginFailureAdd purges older rows.
const LoginFailureRetention = 24 * time.Hour

// LoginFailure is the count of recent failed logins of one key.
type LoginFailure struct {
	// Key is "user:NAME" or "addr:IP" (web/auth's choice; the store does
	// not interpret it).
	Key         string
	Failures    int
	LastFailure time.Time
}

// LoginFailureAddParams counts one failed login for each key.
type LoginFailureAddParams struct {
	Keys []string
	// At is the time of the failure; zero means now.
	At time.Time
	// Window: a key whose last failure is older than this starts over at
	// one failure; at least a second.
	Window time.Duration
}

// Normalize checks p and fills in defaults.
func (p *LoginFailureAddParams) Normalize() error {
	if len(p.Keys) == 0 {
		return fmt.Errorf("login failure: no key: %w", ErrInvalid)
	}
	for _, k := range p.Keys {
		if k == "" || len(k) > 512 {
			return fmt.Errorf("login failure: a key is 1 to 512 bytes: %w", ErrInvalid)
		}
	}
	if p.Window < time.Second {
		return fmt.Errorf("login failure: window %v shorter than a second: %w", p.Window, ErrInvalid)
	}
	p.At = TimeOrNow(p.At)
	return nil
}

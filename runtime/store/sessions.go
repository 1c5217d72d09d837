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

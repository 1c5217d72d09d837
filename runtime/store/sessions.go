package store

import (
	"fmt"
	"time"
)

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

package store

import (
	"fmt"
	"time"
)

// User is a webserver user. PasswordHash is a bcrypt hash; the store never
// sees a plain password. Role is the web/auth role name ("admin", "op",
// "viewer"); the store keeps it as text and does not interpret it.
type User struct {
	Username     string `json:"username"`
	PasswordHash string `json:"-"`
	Role         string `json:"role"`
	// Active is false for a deactivated user (Airflow's FAB User.active):
	// it cannot log in, and had its sessions and API tokens ended.
	Active bool `json:"active"`
	// DeactivatedAt is the user's last deactivation, zero if none; web/auth
	// fingerprints it in sessions, so that a session started before a
	// deactivation stays ended after the user is activated again.
	DeactivatedAt time.Time `json:"deactivated_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// UserCreateParams creates a user; a taken username is an error wrapping
// ErrConflict.
type UserCreateParams struct {
	Username     string
	PasswordHash string
	Role         string
}

// UserUpdateParams changes a user; nil fields are left as they are.
type UserUpdateParams struct {
	Username     string
	PasswordHash *string
	Role         *string
	// Active false deactivates the user, true activates it again.
	Active *bool
}

// APIToken is a bearer token for the REST API. Only the SHA-256 hash of the
// token is stored; the token acts with its owner's role.
type APIToken struct {
	ID int64 `json:"id"`
	// Name tells the owner what the token is for; unique per user.
	Name     string `json:"name"`
	Username string `json:"username"`
	// Hash is the hex SHA-256 of the token.
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// APITokenCreateParams creates a token; a (Username, Name) pair or a Hash
// already taken is an error wrapping ErrConflict, an unknown user one
// wrapping ErrNotFound.
type APITokenCreateParams struct {
	Name     string
	Username string
	Hash     string
}

// Worker is a worker process as it last reported itself.
type Worker struct {
	// Consumer is the worker's unique name in the queue's consumer group.
	Consumer  string    `json:"consumer"`
	Hostname  string    `json:"hostname"`
	Queues    []string  `json:"queues"`
	Running   int       `json:"running"`
	Slots     int       `json:"slots"`
	StartedAt time.Time `json:"started_at"`
	// LastHeartbeat is when the worker last reported; a worker silent for
	// several heartbeat intervals is likely gone.
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// WorkerHeartbeatParams records (upserts) a worker's state.
type WorkerHeartbeatParams struct {
	Consumer  string
	Hostname  string
	Queues    []string
	Running   int
	Slots     int
	StartedAt time.Time
	// At is the time of the heartbeat; zero means now.
	At time.Time
}

// SchedulerHeartbeat is a scheduler process's last sign of life.
type SchedulerHeartbeat struct {
	// ID names the scheduler process (hostname and pid, for instance).
	ID            string    `json:"id"`
	Hostname      string    `json:"hostname"`
	StartedAt     time.Time `json:"started_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// SchedulerHeartbeatParams records (upserts) a scheduler's heartbeat.
type SchedulerHeartbeatParams struct {
	ID        string
	Hostname  string
	StartedAt time.Time
	// At is the time of the heartbeat; zero means now.
	At time.Time
}

// ValidUsername reports whether name may be a username: 1 to 64 letters,
// digits, '.', '_', '-' or '@'.
func ValidUsername(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
		default:
			return false
		}
	}
	return true
}

// Normalize checks p.
func (p *UserCreateParams) Normalize() error {
	if !ValidUsername(p.Username) {
		return fmt.Errorf("user %q: a username is 1 to 64 letters, digits, '.', '_', '-' or '@': %w", p.Username, ErrInvalid)
	}
	if p.PasswordHash == "" || p.Role == "" {
		return fmt.Errorf("user %q: password hash and role are required: %w", p.Username, ErrInvalid)
	}
	return nil
}

// EndsTokens reports whether the update ends the user's API tokens: a new
// password, a role other than oldRole, or a deactivation. The store
// deletes the tokens in the same transaction; web/auth ends the sessions
// (their cookies fingerprint the password hash and role, and an inactive
// user's sessions are refused).
func (p *UserUpdateParams) EndsTokens(oldRole string) bool {
	return p.PasswordHash != nil || (p.Role != nil && *p.Role != oldRole) || (p.Active != nil && !*p.Active)
}

// Normalize checks p.
func (p *UserUpdateParams) Normalize() error {
	if (p.PasswordHash != nil && *p.PasswordHash == "") || (p.Role != nil && *p.Role == "") {
		return fmt.Errorf("user %q: empty password hash or role: %w", p.Username, ErrInvalid)
	}
	return nil
}

// Normalize checks p.
func (p *APITokenCreateParams) Normalize() error {
	if p.Name == "" || len(p.Name) > 128 || p.Username == "" || p.Hash == "" {
		return fmt.Errorf("api token %q of %q: name (at most 128 bytes), user and hash are required: %w", p.Name, p.Username, ErrInvalid)
	}
	return nil
}

// Normalize checks p and fills in defaults.
func (p *WorkerHeartbeatParams) Normalize() error {
	if p.Consumer == "" {
		return fmt.Errorf("worker heartbeat: empty consumer: %w", ErrInvalid)
	}
	if p.Queues == nil {
		p.Queues = []string{}
	}
	p.At = TimeOrNow(p.At)
	p.StartedAt = Truncate(p.StartedAt)
	return nil
}

// Normalize checks p and fills in defaults.
func (p *SchedulerHeartbeatParams) Normalize() error {
	if p.ID == "" {
		return fmt.Errorf("scheduler heartbeat: empty id: %w", ErrInvalid)
	}
	p.At = TimeOrNow(p.At)
	p.StartedAt = Truncate(p.StartedAt)
	return nil
}

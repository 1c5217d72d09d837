package auth

import "context"

// Role is a user's role, stored as its string.
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin may do everything, including managing users, pools and
	// variables.
	RoleAdmin Role = "admin"
	// RoleOp operates DAGs: trigger, clear, mark, pause, and sees
	// connections.
	RoleOp Role = "op"
	// RoleViewer reads everything except connections.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOp, RoleViewer}

// ParseRole returns the role named s, or false when s names none.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// User is an authenticated user as handlers see it.
type User struct {
	Username string `json:"username"`
	Role     Role   `json:"role"`
}

// Permission names one kind of action a handler checks with Can.
type Permission string

// The permissions.
const (
	// PermRead reads DAGs, runs, task instances, logs, XComs, variables
	// (secrets masked), pools and workers: every role.
	PermRead Permission = "read"
	// PermTrigger triggers DAG runs: admin, op.
	PermTrigger Permission = "trigger"
	// PermClear clears task instances: admin, op.
	PermClear Permission = "clear"
	// PermMark marks task instances and runs success or failed: admin, op.
	PermMark Permission = "mark"
	// PermPause pauses and unpauses DAGs: admin, op.
	PermPause Permission = "pause"
	// PermConnections reads and writes connections: admin, op.
	PermConnections Permission = "connections"
	// PermVariables creates, edits and deletes variables: admin, op (as
	// Airflow's Op role).
	PermVariables Permission = "variables"
	// PermPools creates, resizes and deletes pools: admin, op.
	PermPools Permission = "pools"
	// PermAdmin manages users and their tokens, and reads the audit log of
	// every user: admin.
	PermAdmin Permission = "admin"
)

// Can reports whether u holds permission p. A nil user holds none.
func Can(u *User, p Permission) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case RoleAdmin:
		return true
	case RoleOp:
		return p != PermAdmin
	case RoleViewer:
		return p == PermRead
	}
	return false
}

type userKey struct{}

// WithUser returns a copy of ctx carrying u; the middleware calls it, and
// tests of handlers may too.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user the middleware authenticated, if any.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok && u != nil
}

package store

import (
	"errors"

	"github.com/starflow-dev/starflow/operators"
)

// Sentinel errors. Every error a Store returns for these conditions wraps
// one of them, with the object's name in the message.
var (
	// ErrNotFound is returned when the named object does not exist. It is
	// operators.ErrNotFound, so that operators and task code can tell a
	// missing connection from a failing store without importing the store.
	ErrNotFound = operators.ErrNotFound
	// ErrConflict is returned when creating an object whose key is taken:
	// a (dag_id, run_id) pair, a scheduled run's logical date, a
	// connection id.
	ErrConflict = errors.New("already exists")
	// ErrStale is returned by a conditional update whose object is no
	// longer in the expected state; nothing was changed.
	ErrStale = errors.New("stale state: changed by someone else")
	// ErrTooLarge is returned when a value exceeds its documented limit
	// (see MaxXComBytes, MaxConfBytes, MaxVariableBytes, MaxLogChunkBytes).
	ErrTooLarge = errors.New("value too large")
	// ErrInvalid is returned for arguments the store refuses: an unknown
	// state, an empty key, a value that is not JSON.
	ErrInvalid = errors.New("invalid argument")
	// ErrCorrupt is returned when a stored value cannot be decoded (JSON
	// edited by hand, a secret encrypted with another key). Only the
	// object read is affected.
	ErrCorrupt = errors.New("corrupt stored value")
	// ErrSchemaTooNew is returned by Open when the database was migrated
	// by a newer Starflow than this binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrSchemaOutdated is returned by Open when the database holds an
	// older schema that `starflow db migrate` must upgrade first.
	ErrSchemaOutdated = errors.New("database schema is out of date")
)

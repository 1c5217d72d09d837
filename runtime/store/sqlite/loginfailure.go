package sqlite

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// LoginFailureAdd counts one failed login per key.
func (s *Store) LoginFailureAdd(ctx context.Context, p *store.LoginFailureAddParams) ([]store.LoginFailure, error) {
	return sqlq.LoginFailureAdd(ctx, s.conn(), p)
}

// LoginFailureList returns the recorded failures of keys.
func (s *Store) LoginFailureList(ctx context.Context, keys []string) ([]store.LoginFailure, error) {
	return sqlq.LoginFailureList(ctx, s.conn(), keys)
}

// LoginFailureReset forgets a key's failures.
func (s *Store) LoginFailureReset(ctx context.Context, key string) error {
	return sqlq.LoginFailureReset(ctx, s.conn(), key)
}

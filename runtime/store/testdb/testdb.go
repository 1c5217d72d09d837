package testdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/pgtest"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
)

// Options returns store options with a fresh random secret key.
func Options(t testing.TB) store.Options {
	t.Helper()
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return store.Options{Secrets: &secrets.Keyring{Key: secrets.EncodeKey(key)}}
}

// SQLite returns a migrated store in a new SQLite file, closed at the end
// of the test.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "starflow.db"), Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns the URL of a fresh, empty schema on the PostgreSQL
// test server, dropped at the end of the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pgtest.URL(t)
}

// Postgres returns a migrated store in a fresh schema on the PostgreSQL
// test server, closed and dropped at the end of the test.
func Postgres(t testing.TB) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.URL(t), Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs fn as two parallel subtests, one per implementation.
func Each(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t))
	})
}

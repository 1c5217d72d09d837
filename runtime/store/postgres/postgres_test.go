package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/pgtest"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/storetest"
)

func open(t testing.TB, opts store.Options) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.URL(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var harness = storetest.Harness{
	Open: open,
	Exec: func(t testing.TB, s store.Store, query string) {
		t.Helper()
		if _, err := s.(*postgres.Store).Pool().Exec(context.Background(), query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	},
	QueryString: func(t testing.TB, s store.Store, query string) string {
		t.Helper()
		var out string
		if err := s.(*postgres.Store).Pool().QueryRow(context.Background(), query).Scan(&out); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return out
	},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness)
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, harness) }

// TestStatementsArePreparedOnce checks that pgx keeps its per-connection
// cache of prepared statements (issue 12): a statement is parsed and
// planned by the server once per connection, not once per call.
func TestStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	s := open(t, store.Options{Migrate: store.MigrateAuto}).(*postgres.Store)
	if m := s.Pool().Config().ConnConfig.DefaultQueryExecMode; m != pgx.QueryExecModeCacheStatement {
		t.Fatalf("query exec mode = %v, want the statement cache", m)
	}
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	count := func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%task_instance%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for range 3 {
		if _, err := conn.Exec(ctx, `SELECT count(*) FROM task_instance WHERE dag_id = $1`, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != before+1 {
		t.Errorf("three calls of one statement prepared %d statements, want 1", got-before)
	}
}

package postgres_test

import (
	"context"
	"testing"

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

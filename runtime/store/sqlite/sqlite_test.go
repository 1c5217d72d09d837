package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
	"github.com/starflow-dev/starflow/runtime/store/storetest"
)

func harness(memory bool) storetest.Harness {
	return storetest.Harness{
		Open: func(t testing.TB, opts store.Options) store.Store {
			t.Helper()
			url := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
			if memory {
				url = "sqlite://:memory:"
			}
			s, err := sqlite.Open(context.Background(), url, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Exec: func(t testing.TB, s store.Store, query string) {
			t.Helper()
			if _, err := s.(*sqlite.Store).DB().Exec(query); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
		QueryString: func(t testing.TB, s store.Store, query string) string {
			t.Helper()
			var out string
			if err := s.(*sqlite.Store).DB().QueryRow(query).Scan(&out); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return out
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness(false))
}

func TestConformanceInMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness(true))
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, harness(false)) }

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
)

func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
		wantErr   bool
	}{
		{"sqlite:///var/lib/starflow.db", "/var/lib/starflow.db", false},
		{"sqlite://starflow.db", "starflow.db", false},
		{"sqlite://:memory:", ":memory:", false},
		{"SQLite://x.db", "x.db", false},
		{"data/starflow.db", "data/starflow.db", false},
		{"sqlite://", "", true},
		{"sqlite:///a.db?mode=ro", "", true},
		{"postgres://u@h/db", "", true},
	}
	for _, tt := range tests {
		got, err := sqlite.Path(tt.url)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Path(%q) = %q, %v; want %q (error %v)", tt.url, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Path(%q): err = %v, want ErrInvalid", tt.url, err)
		}
	}
}

func TestOpenCreatesAWALDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "..", "starflow.db")
	s, err := sqlite.Open(ctx, "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created: %v", err)
	}
	if st, err := s.SchemaStatus(ctx); err != nil || !st.UpToDate() {
		t.Errorf("fresh database: %+v, %v", st, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, err := sqlite.Open(context.Background(), "sqlite:///nonexistent-dir/deeper/x.db", store.Options{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent-dir/deeper/x.db") {
		t.Errorf("Open in a missing directory: err = %v, want one naming the file", err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	s, err := sqlite.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO starflow_schema_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(ctx, url, store.Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 9999") {
		t.Errorf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

// TestTwoProcessesShareOneFile opens the file twice, as a standalone
// server and a CLI command would, and races claims through both: SQLite's
// locking (with the busy timeout) still hands each instance out once.
func TestTwoProcessesShareOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	a, err := sqlite.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "r", RunType: dags.RunTypeManual, LogicalDate: time.Now()}); err != nil {
		t.Fatal(err)
	}
	p := &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r"}
	for i := range 100 {
		p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: fmt.Sprintf("t%d", i), MapIndex: -1, State: dags.TaskStateScheduled})
	}
	if _, err := a.TaskInstancesCreate(ctx, p); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := range 4 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, ti := range got {
					seen[ti.TaskID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 100 {
		t.Errorf("claimed %d distinct instances, want 100", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
}

// Processes started together on a new database file (standalone and a CLI
// command, say) must not both create its schema: one migrates, the others
// wait for the lock and find the schema made.
func TestOpeningANewFileTogetherMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	const n = 6
	errs := make(chan error, n)
	stores := make(chan *sqlite.Store, n)
	var start sync.WaitGroup
	start.Add(1)
	for range n {
		go func() {
			start.Wait()
			s, err := sqlite.Open(ctx, url, store.Options{})
			errs <- err
			stores <- s
		}()
	}
	start.Done()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
		if s := <-stores; s != nil {
			st, err := s.SchemaStatus(ctx)
			if err != nil || st.Current != st.Latest {
				t.Errorf("schema status %+v, %v; want the latest version", st, err)
			}
			s.Close()
		}
	}
}

// TestOpenCreatesFilesOnlyTheOwnerCanRead checks the modes of a new
// database and of its WAL and shared-memory files: they hold sealed
// secrets and password hashes.
func TestOpenCreatesFilesOnlyTheOwnerCanRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "starflow.db")
	s, err := sqlite.Open(ctx, "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE mode_probe (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(name), mode)
		}
	}
}

package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/pgtest"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
)

// killBackends terminates every server connection of the store's pool,
// as a server restart or a network cut would.
func killBackends(t *testing.T, app string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOperationsSurviveLostConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	app := "starflow_" + pgtest.Schema(url)
	s, err := postgres.Open(ctx, url+"&application_name="+app, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "r", RunType: dags.RunTypeManual, LogicalDate: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r", Tasks: []store.TaskInstanceCreate{
		{TaskID: "a", MapIndex: -1}, {TaskID: "b", MapIndex: -1}, {TaskID: "c", MapIndex: -1, State: dags.TaskStateScheduled}}}); err != nil {
		t.Fatal(err)
	}
	key := func(id string) store.TaskInstanceKey {
		return store.TaskInstanceKey{DagID: "etl", RunID: "r", TaskID: id, MapIndex: -1}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"a transition", func() error {
			ti, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("a"),
				From: []dags.TaskState{dags.TaskStateNone}, To: dags.TaskStateScheduled})
			if err == nil && ti.State != dags.TaskStateScheduled {
				err = errors.New("state not changed")
			}
			return err
		}},
		{"a batch of transitions", func() error {
			applied, err := s.TaskInstancesSetStates(ctx, []*store.TaskInstanceSetStateParams{
				{Key: key("b"), From: []dags.TaskState{dags.TaskStateNone}, To: dags.TaskStateSkipped}})
			if err == nil && !applied[0] {
				err = errors.New("not applied")
			}
			return err
		}},
		{"a claim", func() error {
			got, err := s.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: 10})
			if err == nil && len(got) != 2 {
				err = errors.New("claimed " + string(rune('0'+len(got))))
			}
			return err
		}},
		{"a log append", func() error {
			_, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key("a"), TryNumber: 1, Data: []byte("line\n")})
			return err
		}},
		{"a read", func() error {
			_, err := s.RunGet(ctx, "etl", "r")
			return err
		}},
	}
	for _, st := range steps {
		if n := killBackends(t, app); n == 0 {
			t.Fatalf("before %s: no connection of the store was found to kill", st.name)
		}
		if err := st.fn(); err != nil {
			t.Errorf("%s after the connection was lost: %v", st.name, err)
		}
	}
	// Nothing was applied twice: one log chunk, each state changed once.
	c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: key("a"), TryNumber: 1})
	if err != nil || string(c.Data) != "line\n" {
		t.Errorf("log after retries = %q, %v", c.Data, err)
	}
	for id, want := range map[string]dags.TaskState{"a": dags.TaskStateQueued, "b": dags.TaskStateSkipped, "c": dags.TaskStateQueued} {
		if ti, err := s.TaskInstanceGet(ctx, key(id)); err != nil || ti.State != want {
			t.Errorf("%s: %v, %v; want %s", id, ti, err, want)
		}
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO starflow_schema_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, mode := range []store.MigrateMode{store.MigrateAuto, store.MigrateAlways} {
		_, err = postgres.Open(ctx, url, store.Options{Migrate: mode})
		if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") || !strings.Contains(err.Error(), "upgrade starflow") {
			t.Errorf("Open(%s) of a newer schema: err = %v, want ErrSchemaTooNew", mode, err)
		}
	}
	// db check still connects and reports the versions.
	s, err = postgres.Open(ctx, url, store.Options{Migrate: store.MigrateNever})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.SchemaStatus(ctx); err != nil || st.Current != 9999 || st.UpToDate() {
		t.Errorf("SchemaStatus = %+v, %v", st, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		url     string
		want    []string
		wantErr error
	}{
		{"server down", "postgres://starflow:hunter2@127.0.0.1:1/test?connect_timeout=2", []string{"127.0.0.1:1", "xxxxx"}, nil},
		{"not postgres", "mysql://u:hunter2@h/db", []string{"not a postgres:// URL", "xxxxx"}, store.ErrInvalid},
		{"bad parameter", "postgres://u:hunter2@127.0.0.1/db?sslmode=sometimes", []string{"xxxxx"}, store.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := postgres.Open(ctx, tt.url, store.Options{})
		if err == nil {
			t.Errorf("%s: Open succeeded", tt.name)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestOpenWithRetryWaitsForTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	calls := 0
	s, err := store.OpenWithRetry(ctx, func(ctx context.Context) (store.Store, error) {
		calls++
		if calls < 3 {
			// The database is still starting.
			return postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?connect_timeout=1", store.Options{})
		}
		return postgres.Open(ctx, url, store.Options{})
	}, store.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if calls != 3 {
		t.Errorf("open called %d times, want 3", calls)
	}
}

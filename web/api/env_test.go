package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/internal/dagfolder"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
	"github.com/starflow-dev/starflow/web/api"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Fixture names.
const (
	runID      = "manual__2024-01-02T00:00:00+00:00"
	runPath    = "/api/v1/dags/pipeline/dagRuns/" + runID
	secretText = "hunter2-SECRET"
)

// env is the API wired as web.Server wires it, over a store holding the
// testdata DAG folder, one run of "pipeline" whose extract task succeeded
// (with a log and an XCom), variables, a connection, a pool and a worker.
type env struct {
	store   store.Store
	sched   *scheduler.Scheduler
	auth    *auth.Authenticator
	handler http.Handler
	// tokens are bearer tokens by role.
	tokens map[auth.Role]string
	now    time.Time
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// newEnv builds the fixture on a fresh SQLite store.
func newEnv(t testing.TB) *env { return newEnvOn(t, testdb.SQLite(t)) }

// newEnvOn builds the fixture on st.
func newEnvOn(t testing.TB, st store.Store) *env {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "dags"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvDir(t, st, dir)
}

// newEnvDir builds the fixture on st with the DAG folder dir, which must
// define the testdata folder's DAGs.
func newEnvDir(t testing.TB, st store.Store, dir string) *env {
	t.Helper()
	ctx := context.Background()
	logger := quietLogger()
	var err error
	l := loader.New(loader.Options{Logger: logger, Operators: stdlib.Specs()})
	versions := call.NewVersions(l, func(ctx context.Context, hash string) (call.Bundle, error) {
		v, err := st.DAGVersionGet(ctx, hash)
		if err != nil {
			return call.Bundle{}, err
		}
		return call.Bundle{Dir: dir, EntryFile: v.EntryFile, Files: v.Files}, nil
	}, 16)
	proc := &dagprocessor.Processor{Store: st, Parser: dagfolder.New(l, dir, versions), Logger: logger}
	if _, err := proc.Sync(ctx); err != nil {
		t.Fatalf("sync DAG folder: %v", err)
	}
	q := memqueue.New()
	t.Cleanup(func() { q.Close() })
	e := &env{store: st, tokens: map[auth.Role]string{}, now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	e.sched = scheduler.New(st, q, versions, logger, scheduler.Config{})
	if e.auth, err = auth.New(auth.Options{Backend: st, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("password-123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range auth.Roles {
		name := string(role) + "-user"
		if _, err := st.UserCreate(ctx, &store.UserCreateParams{Username: name, PasswordHash: string(hash), Role: string(role)}); err != nil {
			t.Fatal(err)
		}
		tok, th, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "test", Username: name, Hash: th}); err != nil {
			t.Fatal(err)
		}
		e.tokens[role] = tok
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", e.auth.RequireAuth(api.New(api.Deps{Store: st, Scheduler: e.sched, DAGs: versions, Logger: logger,
		Now: func() time.Time { return e.now }, LogPoll: 20 * time.Millisecond})))
	e.handler = mux
	e.seed(t)
	return e
}

// seed adds the run, log, XCom, variables, connection, pool and worker.
func (e *env) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	logical := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	if _, err := e.sched.Trigger(ctx, scheduler.TriggerParams{DAGID: "pipeline", LogicalDate: logical, Conf: map[string]any{"n": int64(2)}}, logical); err != nil {
		t.Fatal(err)
	}
	k := key("extract")
	start := logical.Add(time.Minute)
	if _, err := e.store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateSuccess, TryNumber: 1,
		QueuedAt: start.Add(-time.Second), StartDate: start, EndDate: start.Add(1500 * time.Millisecond), Hostname: "host-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: []byte("extracting\ndone\n")}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: k, Key: store.ReturnValueKey, Value: map[string]any{"rows": int64(3)}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []store.VariableSetParams{{Key: "region", Value: "eu-west-1", Description: "where"}, {Key: "api_token", Value: secretText, Secret: true}} {
		if err := e.store.VariableSet(ctx, &v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.ConnectionCreate(ctx, &store.ConnectionCreateParams{Description: "warehouse", Connection: operators.Connection{
		ID: "warehouse", Type: "postgres", Host: "db.internal", Port: 5432, Login: "etl", Password: secretText,
		Extra: map[string]any{"sslmode": "require", "api_key": secretText}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PoolSet(ctx, &store.PoolSetParams{Name: "db", Slots: 4, Description: "database"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{Consumer: "host-1:42", Hostname: "host-1", Queues: []string{"default"},
		Running: 1, Slots: 8, StartedAt: e.now.Add(-time.Hour), At: e.now.Add(-10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
}

func key(task string) store.TaskInstanceKey {
	return store.TaskInstanceKey{DagID: "pipeline", RunID: runID, TaskID: task, MapIndex: store.NoMapIndex}
}

// response is a served request's outcome.
type response struct {
	code int
	body []byte
	hdr  http.Header
}

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// do serves a request as role (by bearer token; "" for none) with a JSON
// body (nil for none).
func (e *env) do(t testing.TB, role auth.Role, method, target string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = bytes.NewBufferString(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req := httptest.NewRequest(method, target, rd)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return response{rec.Code, rec.Body.Bytes(), rec.Header()}
}

// expectError checks an error answer: its status, the JSON shape and that
// the message contains want.
func expectError(t testing.TB, r response, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Status != code || e.Error == "" {
		t.Fatalf("error body %s, want {\"error\": ..., \"status\": %d}", r.body, code)
	}
	if want != "" && !bytes.Contains([]byte(e.Error), []byte(want)) {
		t.Errorf("error %q does not say %q", e.Error, want)
	}
}

package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/internal/dagfolder"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/bash"
	"github.com/starflow-dev/starflow/operators/branch"
	"github.com/starflow-dev/starflow/operators/empty"
	"github.com/starflow-dev/starflow/operators/function"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/runtime/templates"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
	"github.com/starflow-dev/starflow/web/auth"
	"github.com/starflow-dev/starflow/web/ui"
)

// env is a Starflow wired as cmd/starflow wires it, on a SQLite store in
// the test's temp directory: the DAG folder synced into the store, a
// scheduler over the in-process queue, and the UI handler.
type env struct {
	store    store.Store
	versions *call.Versions
	queue    *memqueue.Queue
	notifier *memqueue.Notifier
	sched    *scheduler.Scheduler
	ui       http.Handler
	logger   *slog.Logger
	logs     *tasklog.Folder
	// proc syncs the DAG folder into the store.
	proc *dagprocessor.Processor
}

// examplesDir is the repository's examples folder.
func examplesDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "examples")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("examples folder: %v", err)
	}
	return dir
}

// quietLogger drops everything below errors.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

// newEnv syncs dagsDir into a fresh store and returns the wired pieces.
func newEnv(t testing.TB, dagsDir string) *env {
	t.Helper()
	return newEnvOn(t, dagsDir, testdb.SQLite(t))
}

// newEnvOn is newEnv on a given store.
func newEnvOn(t testing.TB, dagsDir string, st store.Store) *env {
	t.Helper()
	logger := quietLogger()
	l := loader.New(loader.Options{Logger: logger, Operators: stdlib.Specs()})
	dir := filepath.Clean(dagsDir)
	versions := call.NewVersions(l, func(ctx context.Context, hash string) (call.Bundle, error) {
		v, err := st.DAGVersionGet(ctx, hash)
		if err != nil {
			return call.Bundle{}, err
		}
		return call.Bundle{Dir: dir, EntryFile: v.EntryFile, Files: v.Files}, nil
	}, 64)
	e := &env{store: st, versions: versions, queue: memqueue.New(), notifier: memqueue.NewNotifier(), logger: logger,
		logs: tasklog.New(st, t.TempDir(), "ui-test")}
	t.Cleanup(func() { e.queue.Close(); e.notifier.Close() })
	proc := &dagprocessor.Processor{Store: st, Parser: dagfolder.New(l, dir, versions), Logger: logger}
	e.proc = proc
	if _, err := proc.Sync(context.Background()); err != nil {
		t.Fatalf("sync DAG folder %s: %v", dir, err)
	}
	e.sched = scheduler.New(st, e.queue, versions, logger, scheduler.Config{TickInterval: 200 * time.Millisecond})
	e.sched.Notifier = e.notifier
	e.ui = ui.New(ui.Deps{Store: st, Scheduler: e.sched, DAGs: versions, Logger: logger, Logs: e.logs})
	return e
}

// newWorker returns a worker running the operators Starflow ships.
func (e *env) newWorker() *executor.Worker {
	r := operators.NewRegistry()
	bash.Register(r)
	empty.Register(r)
	function.Register(r)
	branch.Register(r)
	eng := templates.NewEngine()
	return &executor.Worker{
		Store:             e.store,
		Queue:             e.queue,
		DAGs:              e.versions,
		Runner:            &executor.TryRunner{Registry: r, NewRenderer: func(c *operators.Call) operators.Renderer { return eng.Renderer(c) }, Logger: e.logger},
		Notifier:          e.notifier,
		AfterTry:          e.sched.AdvanceAndDispatch,
		Concurrency:       4,
		Hostname:          "ui-test",
		Logs:              e.logs,
		HeartbeatInterval: 500 * time.Millisecond,
		DrainGrace:        2 * time.Second,
		Logger:            e.logger,
	}
}

// as returns a handler that serves e's UI to a user of the given role, as
// the session middleware would (with a fixed CSRF token).
func (e *env) as(role auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = auth.WithCSRFToken(r, "test-csrf")
		r = r.WithContext(auth.WithUser(r.Context(), &auth.User{Username: string(role) + "-user", Role: role}))
		e.ui.ServeHTTP(w, r)
	})
}

// get serves a GET as role and returns the status and body.
func get(t testing.TB, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String()
}

// post serves a form POST and returns the response.
func post(t testing.TB, h http.Handler, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// trigger creates a manual run of dagID at logical and returns it.
func (e *env) trigger(t testing.TB, dagID string, logical time.Time) *store.DagRun {
	t.Helper()
	run, err := e.sched.Trigger(context.Background(), scheduler.TriggerParams{DAGID: dagID, LogicalDate: logical}, logical)
	if err != nil {
		t.Fatalf("trigger %s: %v", dagID, err)
	}
	return run
}

// setState forces a task instance into a state, as a worker would leave
// it after tries tries.
func (e *env) setState(t testing.TB, run *store.DagRun, taskID string, state dags.TaskState, tries int) {
	t.Helper()
	start := run.LogicalDate.Add(time.Minute)
	p := &store.TaskInstanceSetStateParams{
		Key:       store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: taskID, MapIndex: store.NoMapIndex},
		To:        state,
		TryNumber: tries,
		StartDate: start,
	}
	if state.Finished() {
		p.EndDate = start.Add(3 * time.Second)
	}
	if _, err := e.store.TaskInstanceSetState(context.Background(), p); err != nil {
		t.Fatalf("set %s to %s: %v", taskID, state, err)
	}
}

// httptestRequest builds a request, with form as its urlencoded body when
// it is not nil.
func httptestRequest(method, target string, form url.Values) *http.Request {
	if form == nil {
		return httptest.NewRequest(method, target, nil)
	}
	r := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// serve serves r with h and returns the recorded response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

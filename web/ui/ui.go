package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// DAGSource returns a DAG as built from one stored source version; the
// version cache (starlark/call.Versions) implements it.
type DAGSource interface {
	DAG(ctx context.Context, dagID, sourceHash string) (*dags.DAG, error)
}

// Deps is what the pages read and act through.
type Deps struct {
	Store store.Store
	// Scheduler carries out the users' actions: trigger, clear, mark.
	Scheduler *scheduler.Scheduler
	// DAGs builds the DAG of a stored version (parsed once per hash).
	DAGs   DAGSource
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logs reads task logs from the log folder; nil reads only the logs
	// kept in the database (from before log files).
	Logs *tasklog.Folder
	// Forget drops a user from the authenticator's cache after the users
	// pages change or delete it (auth.Authenticator.Forget); nil when no
	// cache is in front.
	Forget func(username string)
}

// handler serves the pages.
type handler struct {
	Deps
	pages *pages
	mux   *http.ServeMux
	// deps keeps the last DAG dependency graph built.
	deps depsCache
}

// New returns the handler of every page and of /static/. It expects the
// session middleware in front of it (see the package doc).
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logs == nil {
		d.Logs = tasklog.New(d.Store, "", "")
	}
	h := &handler{Deps: d, pages: mustParsePages(), mux: http.NewServeMux()}
	h.routes()
	return h
}

// StaticHandler serves the embedded assets under /static/ without a
// session, for pages such as the login page.
func StaticHandler() http.Handler { return staticHandler() }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) routes() {
	m := h.mux
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /{$}", h.dagList)
	m.HandleFunc("GET /dags", h.dagList)
	m.HandleFunc("GET /dags/{$}", h.dagList)
	m.HandleFunc("GET /dags/_table", h.dagTable)
	m.HandleFunc("POST /dags/{dag}/pause", h.pause)
	m.HandleFunc("GET /dags/{dag}", h.redirectToGrid)
	m.HandleFunc("GET /dags/{dag}/grid", h.grid)
	m.HandleFunc("GET /dags/{dag}/grid/_table", h.gridTable)
	m.HandleFunc("GET /dags/{dag}/grid/_details", h.gridDetails)
	m.HandleFunc("GET /dags/{dag}/grid/_run", h.gridRun)
	m.HandleFunc("POST /dags/{dag}/runs/{run}/clear", h.runClear)
	m.HandleFunc("POST /dags/{dag}/runs/{run}/mark", h.runMark)
	m.HandleFunc("GET /dags/{dag}/graph", h.graph)
	m.HandleFunc("GET /dags/{dag}/graph/states", h.graphStates)
	m.HandleFunc("GET /dags/{dag}/source", h.source)
	m.HandleFunc("GET /dags/{dag}/trigger", h.triggerForm)
	m.HandleFunc("POST /dags/{dag}/trigger", h.trigger)
	m.HandleFunc("GET /dags/{dag}/runs/{run}/tasks/{task}", h.taskInstance)
	m.HandleFunc("GET /dags/{dag}/runs/{run}/tasks/{task}/_log", h.taskLog)
	m.HandleFunc("GET /dags/{dag}/runs/{run}/tasks/{task}/_log/download", h.taskLogDownload)
	m.HandleFunc("POST /dags/{dag}/runs/{run}/tasks/{task}/clear", h.clear)
	m.HandleFunc("POST /dags/{dag}/runs/{run}/tasks/{task}/mark", h.mark)
	m.HandleFunc("GET /variables", h.variables)
	m.HandleFunc("GET /connections", h.connections)
	m.HandleFunc("GET /pools", h.pools)
	m.HandleFunc("GET /workers", h.workers)
	m.HandleFunc("GET /datasets", h.datasets)
	h.editRoutes()
	h.usersRoutes()
	h.xcomRoutes()
	h.browseRoutes()
	h.timeRoutes()
	m.HandleFunc("GET /dag-dependencies", h.dagDependencies)
}

func (h *handler) redirectToGrid(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, dagURL(r.PathValue("dag"), "grid"), http.StatusFound)
}

// httpError is an error with the status code a page answers with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// fail answers with an error page. Store errors map to their status:
// ErrNotFound 404, ErrInvalid and ErrConflict 400 and 409; anything else is
// logged and answered with 500 without details.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error; see the webserver's log"
	var he *httpError
	switch {
	case errors.As(err, &he):
		status, msg = he.status, he.msg
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrTooLarge):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, context.Canceled):
		return
	default:
		h.Logger.Error("ui: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<div class="flash error">%s</div>`, escape(msg))
		return
	}
	h.render(w, r, status, "error", &errorPage{Status: status, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
}

func (p *errorPage) title() string { return http.StatusText(p.Status) }

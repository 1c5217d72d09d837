package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/web/auth"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// DAGSource returns a DAG as built from one stored source version; the
// version cache (starlark/call.Versions) implements it.
type DAGSource interface {
	DAG(ctx context.Context, dagID, sourceHash string) (*dags.DAG, error)
}

// Deps is what the API reads and acts through.
type Deps struct {
	Store store.Store
	// Scheduler carries out trigger, clear and mark.
	Scheduler *scheduler.Scheduler
	// DAGs builds the DAG of a stored version (parsed once per hash).
	DAGs   DAGSource
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LogPoll is how often a followed log is read again; default 250ms.
	LogPoll time.Duration
	// Logs reads task logs from the log folder; nil reads only the logs
	// kept in the database (from before log files).
	Logs *tasklog.Folder
}

// Route is one endpoint: its method, its path pattern (with {name}
// wildcards, as in net/http and OpenAPI) and the permission it needs.
type Route struct {
	Method  string
	Pattern string
	Perm    auth.Permission
	handler func(*handler, http.ResponseWriter, *http.Request)
}

// routes lists every endpoint; the OpenAPI test checks the document
// against it.
var routes = []Route{
	{"GET", "/openapi.json", auth.PermRead, (*handler).openAPI},
	{"GET", "/dags", auth.PermRead, (*handler).dagList},
	{"GET", "/dags/{dag_id}", auth.PermRead, (*handler).dagGet},
	{"PATCH", "/dags/{dag_id}", auth.PermPause, (*handler).dagPatch},
	{"GET", "/dags/{dag_id}/details", auth.PermRead, (*handler).dagGet},
	{"GET", "/dags/{dag_id}/tasks", auth.PermRead, (*handler).dagTasks},
	{"GET", "/dags/{dag_id}/source", auth.PermRead, (*handler).dagSource},
	{"GET", "/importErrors", auth.PermRead, (*handler).importErrors},
	{"GET", "/dags/{dag_id}/dagRuns", auth.PermRead, (*handler).runList},
	{"POST", "/dags/{dag_id}/dagRuns", auth.PermTrigger, (*handler).runTrigger},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}", auth.PermRead, (*handler).runGet},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", auth.PermRead, (*handler).tiList},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", auth.PermRead, (*handler).tiGet},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped", auth.PermRead, (*handler).tiListMapped},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}", auth.PermRead, (*handler).tiGet},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}", auth.PermRead, (*handler).tiLog},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries", auth.PermRead, (*handler).xcomList},
	{"GET", "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}", auth.PermRead, (*handler).xcomGet},
	{"POST", "/dags/{dag_id}/clearTaskInstances", auth.PermClear, (*handler).tiClear},
	{"POST", "/dags/{dag_id}/updateTaskInstancesState", auth.PermMark, (*handler).tiMark},
	{"GET", "/variables", auth.PermRead, (*handler).variableList},
	{"POST", "/variables", auth.PermVariables, (*handler).variableCreate},
	{"GET", "/variables/{variable_key}", auth.PermRead, (*handler).variableGet},
	{"PATCH", "/variables/{variable_key}", auth.PermVariables, (*handler).variablePatch},
	{"DELETE", "/variables/{variable_key}", auth.PermVariables, (*handler).variableDelete},
	{"GET", "/connections", auth.PermConnections, (*handler).connectionList},
	{"POST", "/connections", auth.PermConnections, (*handler).connectionCreate},
	{"GET", "/connections/{connection_id}", auth.PermConnections, (*handler).connectionGet},
	{"PATCH", "/connections/{connection_id}", auth.PermConnections, (*handler).connectionPatch},
	{"DELETE", "/connections/{connection_id}", auth.PermConnections, (*handler).connectionDelete},
	{"GET", "/pools", auth.PermRead, (*handler).poolList},
	{"POST", "/pools", auth.PermPools, (*handler).poolCreate},
	{"GET", "/pools/{pool_name}", auth.PermRead, (*handler).poolGet},
	{"PATCH", "/pools/{pool_name}", auth.PermPools, (*handler).poolPatch},
	{"DELETE", "/pools/{pool_name}", auth.PermPools, (*handler).poolDelete},
	{"GET", "/workers", auth.PermRead, (*handler).workerList},
	{"GET", "/datasets", auth.PermRead, (*handler).datasetList},
	{"GET", "/datasets/events", auth.PermRead, (*handler).datasetEvents},
}

// Routes returns every endpoint, with patterns relative to Prefix.
func Routes() []Route {
	out := make([]Route, len(routes))
	copy(out, routes)
	return out
}

// noDAGs stands in for a missing DAG source.
type noDAGs struct{}

func (noDAGs) DAG(context.Context, string, string) (*dags.DAG, error) {
	return nil, errors.New("this webserver has no DAG source to build DAG versions")
}

type handler struct {
	Deps
	mux *http.ServeMux
}

// New returns the handler of every path under /api/v1/ (full paths; mount
// it at Prefix+"/"). Unknown paths get a JSON 404, known paths with
// another method a JSON 405.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LogPoll <= 0 {
		d.LogPoll = 250 * time.Millisecond
	}
	if d.Logs == nil {
		d.Logs = tasklog.New(d.Store, "", "")
	}
	if d.DAGs == nil {
		d.DAGs = noDAGs{}
	}
	h := &handler{Deps: d, mux: http.NewServeMux()}
	for _, rt := range routes {
		h.mux.Handle(rt.Method+" "+Prefix+rt.Pattern, h.guard(rt))
	}
	h.mux.HandleFunc(Prefix+"/", h.unknown)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// guard checks the route's permission before calling its handler.
func (h *handler) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.UserFrom(r.Context())
		if !ok {
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if !auth.Can(u, rt.Perm) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("forbidden: role %q lacks the %q permission", u.Role, rt.Perm))
			return
		}
		rt.handler(h, w, r)
	})
}

// unknown answers a path no route matches: 405 when another method has a
// route there, else 404.
func (h *handler) unknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := h.mux.Handler(r2); pattern != Prefix+"/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot encode the response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes the API's error body.
func writeError(w http.ResponseWriter, status int, msg string) { auth.WriteError(w, status, msg) }

// badRequest is an input error that maps to 400.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// fail maps err to its status: bad input and store.ErrInvalid or
// ErrTooLarge 400, ErrNotFound 404, ErrConflict and ErrStale 409; anything
// else is logged and answered 500 without details.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrTooLarge):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrStale):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		h.Logger.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error (see the webserver log)")
	}
}

// maxBody bounds request bodies: a run's conf may be up to 1 MiB.
const maxBody = store.MaxConfBytes + 64<<10

// decode reads a JSON object body into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return badf("request body larger than %d bytes", mbe.Limit)
		case errors.As(err, &ute):
			return badf("invalid request body: field %q must be %s, not JSON %s", ute.Field, ute.Type, ute.Value)
		case errors.Is(err, io.EOF):
			return badf("empty request body: want a JSON object")
		}
		return badf("invalid request body: %v", err)
	}
	if dec.More() {
		return badf("invalid request body: more than one JSON value")
	}
	return nil
}

// page is a list page's limit and offset.
type page struct{ limit, offset int }

// Page size bounds.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// pageOf reads ?limit= and ?offset=.
func pageOf(r *http.Request) (page, error) {
	p := page{limit: defaultLimit}
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, badf("limit %q: want a number from 1 to %d", s, maxLimit)
		}
		p.limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, badf("offset %q: want a number of 0 or more", s)
		}
		p.offset = n
	}
	return p, nil
}

// slice returns the page of xs.
func slice[T any](xs []T, p page) []T {
	if p.offset >= len(xs) {
		return []T{}
	}
	xs = xs[p.offset:]
	if len(xs) > p.limit {
		xs = xs[:p.limit]
	}
	return xs
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, badf("%s %q: want true or false", name, s)
	}
	return &b, nil
}

// timeParam reads an optional RFC 3339 (or YYYY-MM-DD) query parameter.
func timeParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, badf("%s %q: want an RFC 3339 time such as 2024-01-01T00:00:00Z or a date", name, s)
	}
	return t, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	return t.UTC(), err
}

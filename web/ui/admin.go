package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// sourcePage is the Starlark source of a DAG's current version: its entry
// file first, then the modules it loads.
type sourcePage struct {
	DAG   *store.DAG
	Files []sourceFile
}

func (p *sourcePage) title() string { return p.DAG.DagID + " · Source" }

// sourceFile is one highlighted file.
type sourceFile struct {
	Path  string
	Lines []template.HTML
}

func (h *handler) source(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dag, err := h.Store.DAGGet(ctx, r.PathValue("dag"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.DAGVersionGet(ctx, dag.SourceHash)
	if err != nil {
		h.fail(w, r, fmt.Errorf("source of %s: %w", dag.DagID, err))
		return
	}
	paths := make([]string, 0, len(v.Files))
	for path := range v.Files {
		if path != v.EntryFile {
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	if _, ok := v.Files[v.EntryFile]; ok {
		paths = append([]string{v.EntryFile}, paths...)
	}
	p := &sourcePage{DAG: dag}
	for _, path := range paths {
		p.Files = append(p.Files, sourceFile{Path: path, Lines: highlightStarlark(v.Files[path])})
	}
	h.render(w, r, http.StatusOK, "source", p)
}

// listPage is a page that lists one kind of object.
type listPage[T any] struct {
	Title string
	Items []T
	// Note explains an empty or partial list.
	Note string
}

func (p *listPage[T]) title() string { return p.Title }

// variableRow is a variable as the page shows it: a secret's value is
// masked for everyone.
type variableRow struct {
	*store.Variable
	Shown string
}

func (h *handler) variables(w http.ResponseWriter, r *http.Request) {
	vars, err := h.Store.VariableList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list variables: %w", err))
		return
	}
	p := &listPage[variableRow]{Title: "Variables"}
	for _, v := range vars {
		row := variableRow{Variable: v, Shown: v.Value}
		if v.Secret {
			row.Shown = "***"
		}
		p.Items = append(p.Items, row)
	}
	h.render(w, r, http.StatusOK, "variables", p)
}

// connectionRow is a connection without its password.
type connectionRow struct {
	ID, Type, Host, Schema, Login, Description string
	Port                                       int
	HasPassword                                bool
	Extra                                      string
	// Testable is whether the Test button can check it (http, https,
	// postgres).
	Testable bool
}

func (h *handler) connections(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permConnections) {
		return
	}
	conns, err := h.Store.ConnectionList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list connections: %w", err))
		return
	}
	p := &listPage[connectionRow]{Title: "Connections"}
	for _, c := range conns {
		row := connectionRow{ID: c.ID, Type: c.Type, Host: c.Host, Schema: c.Schema, Login: c.Login, Description: c.Description,
			Port: c.Port, HasPassword: c.Password != "", Testable: testable(c.Type)}
		if len(c.Extra) > 0 {
			row.Extra = prettyJSON(c.Extra)
		}
		p.Items = append(p.Items, row)
	}
	h.render(w, r, http.StatusOK, "connections", p)
}

func (h *handler) pools(w http.ResponseWriter, r *http.Request) {
	pools, err := h.Store.PoolList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list pools: %w", err))
		return
	}
	h.render(w, r, http.StatusOK, "pools", &listPage[*store.Pool]{Title: "Pools", Items: pools})
}

// workerSilentAfter is how long without a heartbeat makes a worker
// "silent" on the workers page.
const workerSilentAfter = 2 * time.Minute

// workerRow is a worker with whether it still reports.
type workerRow struct {
	*store.Worker
	Silent bool
}

func (h *handler) workers(w http.ResponseWriter, r *http.Request) {
	ws, err := h.Store.WorkerList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list workers: %w", err))
		return
	}
	p := &listPage[workerRow]{Title: "Workers"}
	now := h.Now()
	for _, wk := range ws {
		p.Items = append(p.Items, workerRow{Worker: wk, Silent: now.Sub(wk.LastHeartbeat) > workerSilentAfter})
	}
	if len(p.Items) == 0 {
		p.Note = "No workers reporting."
	}
	h.render(w, r, http.StatusOK, "workers", p)
}

// LoginPage writes the login page with an optional error message; the
// auth package's /login handler calls it. The form posts username,
// password and next to /login.
func LoginPage(w http.ResponseWriter, r *http.Request, errMsg string) {
	loginPages.once.Do(func() { loginPages.p, loginPages.err = parsePages() })
	if loginPages.err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusUnauthorized
	}
	h := &handler{pages: loginPages.p}
	h.Deps.Logger = defaultLogger()
	h.render(w, r, status, "login", &loginPage{Error: errMsg, Next: safeReturn(r.FormValue("next"), "/"), CSS: template.CSS(appCSS())})
}

// loginPage is the login form.
type loginPage struct {
	Error string
	Next  string
	// CSS is inlined: /static/ may sit behind the session check.
	CSS template.CSS
}

func (p *loginPage) title() string { return "Log in" }

package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/dags/dagviz"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page: the layout plus the page's own
// file, which defines "content" and the page's fragments.
type pages struct {
	sets map[string]*template.Template
}

// pageFiles lists the templates/ files that are pages (each but layout).
var pageFiles = []string{"dags", "grid", "graph", "ti", "trigger", "source", "variables", "connections", "pools", "workers", "datasets", "error", "login", "edit", "audit", "runs", "tis", "gantt", "durations", "calendar", "dependencies", "users", "confirm", "xcoms", "importerrors"}

func mustParsePages() *pages {
	p, err := parsePages()
	if err != nil {
		panic(err) // the templates are embedded: a test catches this
	}
	return p
}

func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageFiles {
		set, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = set
	}
	return p, nil
}

// view is what every page template receives: the page's data and who is
// looking.
type view struct {
	Title string
	// Nav names the navigation entry to highlight.
	Nav  string
	User *auth.User
	// CSRF is the session's token for forms and htmx requests.
	CSRF string
	Data any
}

// Can reports whether the user holds the permission named p.
func (v *view) Can(p string) bool { return auth.Can(v.User, auth.Permission(p)) }

// bufPool recycles render buffers: a page is rendered whole before the
// first byte is sent, so a template error can still become a 500.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes the page's "layout" template with data.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	h.execute(w, r, status, page, "layout", data)
}

// fragment executes one named template of a page (an htmx partial).
func (h *handler) fragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	h.execute(w, r, http.StatusOK, page, name, data)
}

func (h *handler) execute(w http.ResponseWriter, r *http.Request, status int, page, name string, data any) {
	set, ok := h.pages.sets[page]
	if !ok {
		h.Logger.Error("ui: unknown page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := newView(r, page, data)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := set.ExecuteTemplate(buf, name, v); err != nil {
		h.Logger.Error("ui: render failed", "page", page, "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func newView(r *http.Request, page string, data any) *view {
	u, _ := auth.UserFrom(r.Context())
	v := &view{Nav: page, User: u, CSRF: csrfToken(r), Data: data}
	if t, ok := data.(interface{ title() string }); ok {
		v.Title = t.title()
	}
	return v
}

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"stateClass":  stateClass,
	"dagURL":      dagURL,
	"tiURL":       tiURL,
	"fmtTime":     fmtTime,
	"fmtDur":      fmtDur,
	"join":        strings.Join,
	"query":       func(k, v string) string { return url.QueryEscape(k) + "=" + url.QueryEscape(v) },
	"add":         func(a, b int) int { return a + b },
	"pathEscape":  url.PathEscape,
	"runGraphURL": runGraphURL,
	"tabs": func(v *view, d *store.DAG, tab string) tabsData {
		uris, _ := dags.DatasetsOfSchedule(d.Schedule)
		return tabsData{DAG: d, Tab: tab, CanTrigger: v.Can(string(permTrigger)), Datasets: datasetLinks(uris)}
	},
	"item":       func(v *view, x any) item { return item{V: v, X: x} },
	"prettyJSON": prettyJSON,
	"list":       func(xs ...string) []string { return xs },
	"xcomText":   xcomText,
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	},
}

// stateClass is the CSS class of a task or run state; states.css colours
// it.
func stateClass(s any) string {
	str := fmt.Sprint(s)
	if str == "" {
		str = string(dags.TaskStateNone)
	}
	return "s-" + str
}

// dagURL returns /dags/{id}/{parts...}, each part escaped as a path
// segment.
func dagURL(dagID string, parts ...string) string {
	var b strings.Builder
	b.WriteString("/dags/")
	b.WriteString(url.PathEscape(dagID))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(p)
	}
	return b.String()
}

// tiURL returns the task instance page of a task in a run.
func tiURL(dagID, runID, taskID string) string {
	return dagURL(dagID, "runs", url.PathEscape(runID), "tasks", url.PathEscape(taskID))
}

// fmtTime formats t in UTC to the second, or "—" when it is zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// fmtDur formats d rounded for people, or "—" when it is zero.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func escape(s string) string { return template.HTMLEscapeString(s) }

// statesCSS builds the state colours from dagviz.StateColors, so the UI,
// DOT and Mermaid all colour states alike.
func statesCSS() []byte {
	var b bytes.Buffer
	states := make([]string, 0, len(dagviz.StateColors))
	for s := range dagviz.StateColors {
		states = append(states, string(s))
	}
	sort.Strings(states)
	b.WriteString("/* Airflow's state colours, generated from dags/dagviz.StateColors. */\n")
	for _, s := range states {
		c := dagviz.StateColors[dags.TaskState(s)]
		fmt.Fprintf(&b, ".s-%s{background:%s;border-color:%s}\n", s, c, c)
		fmt.Fprintf(&b, "svg .node.s-%s rect{fill:%s}\n", s, c)
	}
	b.WriteString(".s-none{background:var(--surface);border:1px solid var(--faint)}\nsvg .node.s-none rect{fill:var(--surface)}\n")
	return b.Bytes()
}

var statesCSSBytes = statesCSS()

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // static is embedded
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if strings.HasSuffix(r.URL.Path, "/states.css") {
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			_, _ = w.Write(statesCSSBytes)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// csrfToken is the session's CSRF token, or "" without a session.
func csrfToken(r *http.Request) string { return auth.CSRFToken(r) }

// loginPages are the templates LoginPage renders with, parsed once.
var loginPages struct {
	once sync.Once
	p    *pages
	err  error
}

func defaultLogger() *slog.Logger { return slog.Default() }

// appCSS is the stylesheet with the state colours, for pages that inline
// it.
func appCSS() string {
	b, _ := staticFS.ReadFile("static/app.css")
	return string(b) + string(statesCSSBytes)
}

// tabsData is the head of a DAG's pages: its id, description and tabs.
type tabsData struct {
	DAG        *store.DAG
	Tab        string
	CanTrigger bool
	// Datasets link the datasets the DAG is scheduled on to their view.
	Datasets []link
}

// item pairs the page's view with one element, for templates that need
// both (a row with its forms).
type item struct {
	V *view
	X any
}

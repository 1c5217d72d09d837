package templates

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/starflow-dev/starflow/operators"
)

// DefaultCacheSize is how many parsed templates an Engine keeps.
const DefaultCacheSize = 1024

// Engine parses and renders Jinja templates with Airflow's filters. It
// keeps a bounded cache of parsed templates, so a template rendered for
// every task instance is parsed once. It is safe for concurrent use; build
// one per program and share it.
type Engine struct {
	env     *exec.Environment
	strict  *config.Config // Airflow's default: jinja2.StrictUndefined
	lenient *config.Config // DAG(template_undefined = "Undefined")
	limit   int

	mu    sync.Mutex
	cache map[cacheKey]*exec.Template
}

// cacheKey names a parsed template: its source and whether undefined
// names are errors (a parsed template keeps its configuration).
type cacheKey struct {
	src    string
	strict bool
}

// NewEngine returns an Engine with Airflow's Jinja environment (no
// autoescaping; undefined names are errors, as with Airflow's default
// jinja2.StrictUndefined, unless a renderer is lenient), the Airflow
// filters ds, ds_nodash, ts, ts_nodash and ts_nodash_with_tz, and a cache
// of DefaultCacheSize parsed templates.
func NewEngine() *Engine {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	for name, f := range map[string]exec.FilterFunction{
		"ds":                dateFilter("ds", formatDS),
		"ds_nodash":         dateFilter("ds_nodash", formatDSNodash),
		"ts":                dateFilter("ts", isoformat),
		"ts_nodash":         dateFilter("ts_nodash", formatTSNodash),
		"ts_nodash_with_tz": dateFilter("ts_nodash_with_tz", formatTSNodashWithTZ),
	} {
		if filters.Replace(name, f) != nil {
			_ = filters.Register(name, f)
		}
	}
	if tojson, ok := builtins.Filters.Get("tojson"); ok {
		_ = filters.Replace("tojson", jsonFilter(tojson))
	}
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	_ = tests.Replace("none", func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		return isNone(in), nil
	})
	return &Engine{
		env: &exec.Environment{
			Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables).Update(exec.NewContext(map[string]any{opFuncName: opFunc, noneName: None})),
			Filters:           filters,
			Tests:             tests,
			ControlStructures: builtins.ControlStructures,
			Methods:           pyMethods(builtins.Methods),
		},
		strict:  undefinedConfig(true),
		lenient: undefinedConfig(false),
		limit:   DefaultCacheSize,
		cache:   map[cacheKey]*exec.Template{},
	}
}

// NeedsRendering reports whether s holds template syntax ("{{" or "{%");
// strings without it are returned unchanged by Render.
func NeedsRendering(s string) bool {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 || i+1 >= len(s) {
			return false
		}
		if c := s[i+1]; c == '{' || c == '%' {
			return true
		}
		s = s[i+1:]
	}
}

// Renderer returns the renderer of one task instance: templates see the
// Airflow context built from c (ds, ts, params, ti, var, macros, ...).
func (e *Engine) Renderer(c *operators.Call) *Renderer {
	return &Renderer{engine: e, call: c}
}

// parse returns the parsed template of src, from the cache when it was
// parsed before. strict makes undefined names errors when it is rendered.
func (e *Engine) parse(src string, strict bool) (*exec.Template, error) {
	key := cacheKey{src: src, strict: strict}
	e.mu.Lock()
	t, ok := e.cache[key]
	e.mu.Unlock()
	if ok {
		return t, nil
	}
	loader, err := loaders.NewMemoryLoader(map[string]string{"/template": src})
	if err != nil {
		return nil, fmt.Errorf("template loader: %w", err)
	}
	cfg := e.lenient
	if strict {
		cfg = e.strict
	}
	t, err = exec.NewTemplate("/template", cfg, loader, e.env)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("template syntax error in %s: %w", abbreviate(src), err)
	}
	if root := reflect.ValueOf(t).Elem().FieldByName("root"); root.IsValid() {
		rewriteOperators(root)
	}
	e.mu.Lock()
	if len(e.cache) >= e.limit {
		for k := range e.cache { // evict an arbitrary entry
			delete(e.cache, k)
			break
		}
	}
	e.cache[key] = t
	e.mu.Unlock()
	return t, nil
}

// execute renders t with data. A panic inside the template engine (a
// case its evaluator does not guard) becomes a render error, never a
// crash of the task.
func (e *Engine) execute(src string, t *exec.Template, data map[string]any) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = "", &renderError{msg: fmt.Sprintf("render template %s: the template engine failed: %v", abbreviate(src), p)}
		}
	}()
	var b strings.Builder
	if err := t.Execute(&b, exec.NewContext(data)); err != nil {
		return "", &renderError{msg: "render template " + abbreviate(src) + ": " + cleanMessage(err.Error()), err: err}
	}
	return b.String(), nil
}

// renderError is a failed render: a message cleaned of the engine's
// internals, wrapping the engine's error (and through it the cause, such
// as a failing XCom read).
type renderError struct {
	msg string
	err error
}

func (e *renderError) Error() string { return e.msg }
func (e *renderError) Unwrap() error { return e.err }

// goFuncName matches the engine's naming of a Go function in a message,
// which says nothing to a DAG author.
var goFuncName = regexp.MustCompile(`invalid call to function '[^']*/[^']*': `)

// atLine finds the engine's "at line N" in a message.
var atLine = regexp.MustCompile(`at line (\d+)`)

// cleanMessage drops the engine's noise from an error message. An error
// of a rewritten operator (see pyops.go) is reported as "line N: error",
// without the engine's view of the rewritten expression.
func cleanMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "unable to execute template: ")
	msg = strings.ReplaceAll(msg, noneName, "None")
	if u := undefinedMessage(msg); u != "" {
		return u
	}
	if _, after, ok := strings.Cut(msg, "invalid call to function '"+opFuncName+"': "); ok {
		if m := atLine.FindStringSubmatch(msg); m != nil {
			return "line " + m[1] + ": " + after
		}
		return after
	}
	return goFuncName.ReplaceAllString(msg, "")
}

// abbreviate quotes a template for an error message, cut to 80 bytes.
func abbreviate(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// undefinedConfig is Jinja's default configuration, with undefined names
// errors when strict (Airflow's jinja2.StrictUndefined) or rendered empty
// (jinja2.Undefined).
func undefinedConfig(strict bool) *config.Config {
	c := config.New()
	c.StrictUndefined = strict
	return c
}

// The engine's messages for an undefined name, attribute or item.
var (
	undefinedName = regexp.MustCompile(`Unable to evaluate name "([^"]+)"`)
	undefinedAttr = regexp.MustCompile(`(?i)unable to evaluate (\S+): (?:attribute '[^']*'|item .*) not found`)
	plainExpr     = regexp.MustCompile(`^[A-Za-z_][\w.]*(\[('[^']*'|"[^"]*"|-?\d+)\])*$`)
)

// undefinedMessage returns the one-line error of a template that used an
// undefined name (`{{ nosuch }}`, `{{ params.missing }}`), as Jinja's
// StrictUndefined reports it and with the way to allow it, or "" when msg
// is another error.
func undefinedMessage(msg string) string {
	what := ""
	if m := undefinedName.FindAllStringSubmatch(msg, -1); m != nil {
		what = m[len(m)-1][1]
	} else if m := undefinedAttr.FindAllStringSubmatch(msg, -1); m != nil {
		if what = m[len(m)-1][1]; !plainExpr.MatchString(what) {
			return ""
		}
	} else {
		return ""
	}
	out := what + ` is undefined (templates are strict, as in Airflow: test it with "is defined" or give a fallback with "| default(...)")`
	if m := atLine.FindStringSubmatch(msg); m != nil {
		out = "line " + m[1] + ": " + out
	}
	return out
}

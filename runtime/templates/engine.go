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
	env   *exec.Environment
	cfg   *config.Config
	limit int

	mu    sync.Mutex
	cache map[string]*exec.Template
}

// NewEngine returns an Engine with Jinja's defaults (no autoescaping,
// lenient undefined names), the Airflow filters ds, ds_nodash, ts,
// ts_nodash and ts_nodash_with_tz, and a cache of DefaultCacheSize parsed
// templates.
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
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	_ = tests.Replace("none", func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
		return isNone(in), nil
	})
	return &Engine{
		env: &exec.Environment{
			Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables).Update(exec.NewContext(map[string]any{opFuncName: opFunc})),
			Filters:           filters,
			Tests:             tests,
			ControlStructures: builtins.ControlStructures,
			Methods:           builtins.Methods,
		},
		cfg:   config.New(),
		limit: DefaultCacheSize,
		cache: map[string]*exec.Template{},
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
// parsed before.
func (e *Engine) parse(src string) (*exec.Template, error) {
	e.mu.Lock()
	t, ok := e.cache[src]
	e.mu.Unlock()
	if ok {
		return t, nil
	}
	loader, err := loaders.NewMemoryLoader(map[string]string{"/template": src})
	if err != nil {
		return nil, fmt.Errorf("template loader: %w", err)
	}
	t, err = exec.NewTemplate("/template", e.cfg, loader, e.env)
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
	e.cache[src] = t
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

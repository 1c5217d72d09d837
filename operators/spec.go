package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// ParamType is the type of an operator parameter: what a DAG file may
// pass for it and what the task's Config then holds.
type ParamType string

// Parameter types. The comment of each says what a DAG file passes and
// what Task.Config holds.
const (
	// ParamString: a string; Config holds a string.
	ParamString ParamType = "string"
	// ParamInt: an int; Config holds an int64.
	ParamInt ParamType = "int"
	// ParamFloat: an int or a float; Config holds a float64.
	ParamFloat ParamType = "float"
	// ParamBool: a bool; Config holds a bool.
	ParamBool ParamType = "bool"
	// ParamDuration: "30s", "1h30m", a number of seconds or timedelta();
	// Config holds a time.Duration.
	ParamDuration ParamType = "duration"
	// ParamList: a list or tuple of JSON-like values; Config holds []any.
	ParamList ParamType = "list"
	// ParamDict: a dict with string keys; Config holds map[string]any.
	ParamDict ParamType = "dict"
	// ParamAny: any JSON-like value; Config holds its plain Go form.
	ParamAny ParamType = "any"
	// ParamFunction: a Starlark function; Config holds its function key,
	// to be called through Call.Functions.
	ParamFunction ParamType = "function"
	// ParamStringOrList: a string or a list of strings; Config holds a
	// string or a []any of strings.
	ParamStringOrList ParamType = "string or list of strings"
)

// paramTypes lists the known parameter types.
var paramTypes = []ParamType{
	ParamString, ParamInt, ParamFloat, ParamBool, ParamDuration, ParamList,
	ParamDict, ParamAny, ParamFunction, ParamStringOrList,
}

// Param describes one argument of an operator builtin.
type Param struct {
	// Name is the keyword, e.g. "url".
	Name string
	// Type says what values are accepted and how Config holds them.
	Type ParamType
	// Required parameters must be passed; the others may be omitted or
	// passed as None, which both mean Default.
	Required bool
	// Default is the value Config holds when the parameter is omitted, in
	// Config's form (a time.Duration for ParamDuration, int64 for
	// ParamInt, ...); nil leaves the key out of Config.
	Default any
	// Templated strings (at any depth of lists and dicts) are rendered
	// with the task's template context when the task runs (Args.Render).
	Templated bool
	// Choices, when not empty, are the only strings a ParamString accepts;
	// a typo gets a "did you mean" hint.
	Choices []string
	// XCom parameters also accept `t.output` of another task, as the
	// whole value or inside its lists and dicts: Config then holds
	// dags.XComRef values there, the DAG gets the edge t >> this task, and
	// Args.Resolve replaces them by the pulled values when the task runs.
	XCom bool
	// Doc is a one-line description for references and error hints.
	Doc string
}

// Spec describes the arguments of an operator, so that the DAG language
// gets one builtin per operator, named Kind, which checks its arguments
// (types, unknown keywords with "did you mean", required ones) when the
// DAG file is parsed and stores them in the task's Config.
type Spec struct {
	// Kind is the operator kind and the builtin's name ("http").
	Kind string
	// Doc is a one-line description of the operator.
	Doc string
	// Params are the operator's own arguments, besides task_id and the
	// keywords every task takes.
	Params []Param
	// Positional is how many of Params, after task_id, may be passed by
	// position; the others are keyword-only.
	Positional int
	// Files, when set, reads the files of the DAG folder a task of this
	// kind needs when it runs (the python operator's .py files), given
	// the task's Config, through read. The DAG loader calls it when the
	// task is created: what read returns becomes part of the DAG version,
	// so it travels to workers with the DAG's sources and a change makes a
	// new version; an error is an import error at the task's position.
	Files func(config map[string]any, read FileReader) error
	// Check, when set, checks the values of a task's Config that the
	// parameter types cannot (a day name, a time of day) when the DAG file
	// is parsed, so that a mistake is an error at the task's position
	// instead of a failed try. Values held by XCom references are not
	// there yet and must be let through.
	Check func(config map[string]any) error
	// TemplateExt is Airflow's template_ext: a templated parameter whose
	// string value ends in one of these (".sql") names a template file,
	// found when the DAG file is parsed (in the DAG file's folder, then
	// the DAG's template_searchpath) and read into the DAG version; its
	// contents are rendered in place of the value when the task runs. A
	// value with trailing white space is never a file name.
	TemplateExt []string
}

// TemplateFilesKey is the Task.Config key under which the DAG loader
// stores the template files of a task (Spec.TemplateExt): a
// map[string]any from parameter name to the file's slash path from the
// DAG folder root.
const TemplateFilesKey = "__template_files__"

// FileReader reads a file of the DAG folder by its slash path from the
// folder root ("lib/transform.py"). An error wrapping fs.ErrNotExist
// means there is no such file.
type FileReader func(path string) (string, error)

// SourceFiles is implemented by function runners that can also give the
// source files of the DAG version a call runs (Spec.Files included), by
// root-relative path: the python operator materialises its .py files from
// them, so a worker needs no DAG folder.
type SourceFiles interface {
	SourceFiles(ctx context.Context, c *Call) (map[string]string, error)
}

// Specified is implemented by operators that describe their arguments
// with a Spec; the program that wires Starflow passes the specs of its
// registry to the DAG loader (Registry.Specs).
type Specified interface {
	Spec() Spec
}

// Param returns the parameter called name.
func (s *Spec) Param(name string) (*Param, bool) {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i], true
		}
	}
	return nil, false
}

// Validate reports a malformed spec: an empty or duplicate name, an
// unknown type, a default that does not fit its type.
func (s *Spec) Validate() error {
	if !isIdent(s.Kind) {
		return fmt.Errorf("operator spec: kind %q is not an identifier", s.Kind)
	}
	if s.Positional < 0 || s.Positional > len(s.Params) {
		return fmt.Errorf("operator spec %s: Positional is %d, want 0 to %d", s.Kind, s.Positional, len(s.Params))
	}
	seen := map[string]bool{"task_id": true}
	for _, p := range s.Params {
		if !isIdent(p.Name) {
			return fmt.Errorf("operator spec %s: parameter name %q is not an identifier", s.Kind, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("operator spec %s: parameter %s is declared twice (or is task_id)", s.Kind, p.Name)
		}
		seen[p.Name] = true
		if !slices.Contains(paramTypes, p.Type) {
			return fmt.Errorf("operator spec %s: parameter %s has unknown type %q", s.Kind, p.Name, p.Type)
		}
		if len(p.Choices) > 0 && p.Type != ParamString {
			return fmt.Errorf("operator spec %s: parameter %s has choices but is not a string", s.Kind, p.Name)
		}
		if p.Default != nil {
			if p.Required {
				return fmt.Errorf("operator spec %s: required parameter %s has a default", s.Kind, p.Name)
			}
			if _, err := p.Check(p.Default); err != nil {
				return fmt.Errorf("operator spec %s: default of %s: %w", s.Kind, p.Name, err)
			}
		}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Check returns v, a Config value, in the canonical form of p's type, or
// an error saying what was expected. It accepts the forms a hand-written
// Config may use besides the canonical one: int for int64, an int64 for a
// float, a duration string or a number of seconds for a duration.
func (p *Param) Check(v any) (any, error) {
	switch p.Type {
	case ParamString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("got %s, want string", describe(v))
		}
		if len(p.Choices) > 0 && !slices.Contains(p.Choices, s) {
			return nil, fmt.Errorf("got %q, want one of %s", s, strings.Join(p.Choices, ", "))
		}
		return s, nil
	case ParamFunction:
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("got %s, want a function key", describe(v))
		}
		return s, nil
	case ParamInt:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
		return nil, fmt.Errorf("got %s, want int", describe(v))
	case ParamFloat:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
		return nil, fmt.Errorf("got %s, want float", describe(v))
	case ParamBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("got %s, want bool", describe(v))
		}
		return b, nil
	case ParamDuration:
		switch d := v.(type) {
		case time.Duration:
			if d < 0 {
				return nil, fmt.Errorf("negative duration %s", d)
			}
			return d, nil
		case string:
			return dags.ParseDuration(d)
		case int64:
			if d < 0 || d > int64(dags.MaxDuration/time.Second) {
				return nil, fmt.Errorf("duration of %d seconds is out of range", d)
			}
			return time.Duration(d) * time.Second, nil
		case float64:
			if math.IsNaN(d) || d < 0 || d > float64(dags.MaxDuration/time.Second) {
				return nil, fmt.Errorf("duration of %v seconds is out of range", d)
			}
			return time.Duration(d * float64(time.Second)), nil
		}
		return nil, fmt.Errorf("got %s, want a duration", describe(v))
	case ParamList:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("got %s, want list", describe(v))
		}
		return l, nil
	case ParamDict:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("got %s, want dict", describe(v))
		}
		return m, nil
	case ParamStringOrList:
		switch x := v.(type) {
		case string:
			return x, nil
		case []any:
			for i, e := range x {
				if _, ok := e.(string); !ok {
					return nil, fmt.Errorf("item %d: got %s, want string", i, describe(e))
				}
			}
			return x, nil
		case []string:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = e
			}
			return out, nil
		}
		return nil, fmt.Errorf("got %s, want a string or a list of strings", describe(v))
	case ParamAny:
		return v, nil
	}
	return nil, fmt.Errorf("unknown parameter type %q", p.Type)
}

// describe names a Config value's type for an error message.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "string"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case time.Duration:
		return "duration"
	}
	return fmt.Sprintf("%T", v)
}

// Args are a task's arguments read from its Config against its
// operator's Spec: every value in its canonical form, defaults filled in.
// The getters return the zero value for a parameter that is absent.
type Args struct {
	spec *Spec
	vals map[string]any
	refs map[string]bool // XCom parameters holding XCom references
}

// Args checks config (a Task.Config) against s. A value of the wrong
// type, a missing required parameter or an unknown key is an error
// wrapped with Fail: no retry can fix a task's configuration.
func (s *Spec) Args(config map[string]any) (*Args, error) {
	a := &Args{spec: s, vals: make(map[string]any, len(s.Params))}
	for k := range config {
		if k == TemplateFilesKey {
			continue
		}
		if _, ok := s.Param(k); !ok {
			return nil, Fail(fmt.Errorf("%s: unknown argument %s", s.Kind, k))
		}
	}
	for i := range s.Params {
		p := &s.Params[i]
		v, ok := config[p.Name]
		if !ok || v == nil {
			if p.Required {
				return nil, Fail(fmt.Errorf("%s: missing argument %s", s.Kind, p.Name))
			}
			if p.Default == nil {
				continue
			}
			v = p.Default
		}
		if p.XCom && HasXComRef(v) {
			if a.refs == nil {
				a.refs = map[string]bool{}
			}
			a.refs[p.Name] = true
			a.vals[p.Name] = v // checked by Resolve
			continue
		}
		cv, err := p.Check(v)
		if err != nil {
			return nil, Fail(fmt.Errorf("%s: for parameter %s: %w", s.Kind, p.Name, err))
		}
		a.vals[p.Name] = cv
	}
	return a, nil
}

// Resolve replaces the XCom references in the values of XCom parameters
// by the values they name, pulled through c.XCom, and checks the result
// against the parameter's type. A string parameter whose XCom is not a
// string gets its JSON text; an XCom that is None (or absent) as the
// whole value leaves the parameter unset. Call it after Render: pulled
// values are data, not templates.
func (a *Args) Resolve(ctx context.Context, c *Call) error {
	for i := range a.spec.Params {
		p := &a.spec.Params[i]
		if !a.refs[p.Name] {
			continue
		}
		v, err := ResolveXComs(ctx, c, a.vals[p.Name])
		if err != nil {
			return fmt.Errorf("%s: for parameter %s: %w", a.spec.Kind, p.Name, err)
		}
		delete(a.refs, p.Name)
		if v == nil {
			if p.Required {
				return Fail(fmt.Errorf("%s: for parameter %s: the XCom it refers to is None", a.spec.Kind, p.Name))
			}
			delete(a.vals, p.Name)
			continue
		}
		if _, isString := v.(string); p.Type == ParamString && !isString {
			data, err := json.Marshal(v)
			if err != nil {
				return Fail(fmt.Errorf("%s: for parameter %s: XCom value: %w", a.spec.Kind, p.Name, err))
			}
			v = string(data)
		}
		cv, err := p.Check(v)
		if err != nil {
			return Fail(fmt.Errorf("%s: for parameter %s: XCom value: %w", a.spec.Kind, p.Name, err))
		}
		a.vals[p.Name] = cv
	}
	return nil
}

// HasXComRef reports whether v, a Config value, is or holds (in its lists
// and dicts) a dags.XComRef.
func HasXComRef(v any) bool {
	switch x := v.(type) {
	case dags.XComRef, *dags.XComRef:
		return true
	case []any:
		for _, e := range x {
			if HasXComRef(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if HasXComRef(e) {
				return true
			}
		}
	}
	return false
}

// ResolveXComs returns v with every dags.XComRef in it (at any depth of
// lists and dicts) replaced by the XCom value it names, pulled through
// c.XCom; a missing XCom is nil. Containers are copied.
func ResolveXComs(ctx context.Context, c *Call, v any) (any, error) {
	return resolveXComs(ctx, c, v, 0)
}

func resolveXComs(ctx context.Context, c *Call, x any, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("value nested too deeply")
	}
	switch x := x.(type) {
	case dags.XComRef:
		if x.GroupArg != "" {
			v, ok := c.GroupArgs[x.GroupArg]
			if c == nil || !ok {
				return nil, fmt.Errorf("no value for the argument %s of mapped group %s", x.GroupArg, x.Group)
			}
			return v, nil
		}
		if c == nil || c.XCom == nil {
			return nil, fmt.Errorf("no XCom store to pull %s.output from", x.TaskID)
		}
		v, _, err := c.XCom.Pull(ctx, x.TaskID, x.Key)
		if err != nil {
			return nil, fmt.Errorf("pull XCom %q of task %q: %w", x.Key, x.TaskID, err)
		}
		return v, nil
	case *dags.XComRef:
		if x == nil {
			return nil, nil
		}
		return resolveXComs(ctx, c, *x, depth)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			v, err := resolveXComs(ctx, c, e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			v, err := resolveXComs(ctx, c, e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return x, nil
}

// Has reports whether the parameter has a value (given, or a default).
func (a *Args) Has(name string) bool {
	_, ok := a.vals[name]
	return ok
}

// Value returns the parameter's value in its canonical form, or nil.
func (a *Args) Value(name string) any { return a.vals[name] }

// String returns a ParamString or ParamFunction value.
func (a *Args) String(name string) string {
	s, _ := a.vals[name].(string)
	return s
}

// Int returns a ParamInt value.
func (a *Args) Int(name string) int64 {
	n, _ := a.vals[name].(int64)
	return n
}

// Float returns a ParamFloat value.
func (a *Args) Float(name string) float64 {
	f, _ := a.vals[name].(float64)
	return f
}

// Bool returns a ParamBool value.
func (a *Args) Bool(name string) bool {
	b, _ := a.vals[name].(bool)
	return b
}

// Duration returns a ParamDuration value.
func (a *Args) Duration(name string) time.Duration {
	d, _ := a.vals[name].(time.Duration)
	return d
}

// List returns a ParamList value.
func (a *Args) List(name string) []any {
	l, _ := a.vals[name].([]any)
	return l
}

// Dict returns a ParamDict value.
func (a *Args) Dict(name string) map[string]any {
	m, _ := a.vals[name].(map[string]any)
	return m
}

// Strings returns a ParamStringOrList value as a list: one string becomes
// a list of one.
func (a *Args) Strings(name string) []string {
	switch x := a.vals[name].(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// Render renders, with c.Render, every string inside the values of the
// templated parameters (at any depth of lists and dicts; not dict keys).
// Containers are copied, never changed in place, so the task's Config is
// left as it was.
func (a *Args) Render(ctx context.Context, c *Call) error {
	for _, p := range a.spec.Params {
		v, ok := a.vals[p.Name]
		if !ok || !p.Templated || c.Mapped[p.Name] {
			continue // values mapped over XComs are not templated, as in Airflow
		}
		if content, ok, err := c.TemplateFile(ctx, p.Name); err != nil {
			return fmt.Errorf("%s: %s: %w", a.spec.Kind, p.Name, err)
		} else if ok {
			v = content
		}
		r, err := RenderValue(ctx, c, v)
		if err != nil {
			return fmt.Errorf("%s: render %s: %w", a.spec.Kind, p.Name, err)
		}
		a.vals[p.Name] = r
	}
	return nil
}

// RenderValue returns v with every string inside it (at any depth of
// []any and map[string]any values, not map keys) rendered with c.Render.
// Containers are copied; other values are returned as they are.
func RenderValue(ctx context.Context, c *Call, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return c.Render(ctx, x)
	case []any:
		if x == nil {
			return x, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			r, err := RenderValue(ctx, c, e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if x == nil {
			return x, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := RenderValue(ctx, c, e)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

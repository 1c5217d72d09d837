package builtins

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/operators"
)

// Operator is the builtin of an operator described by an operators.Spec:
// calling it, as name(task_id, ..., **common keywords), checks the
// arguments against the spec and creates a task of the spec's kind whose
// Config holds them as plain Go values. It may also carry the members of
// a run-time module of the same name, so that http(...) creates a task
// while http.get(...) makes a request inside a task function.
type Operator struct {
	spec    operators.Spec
	err     error // a malformed spec, reported when the builtin is called
	members starlark.StringDict
}

var (
	_ starlark.Callable = (*Operator)(nil)
	_ starlark.HasAttrs = (*Operator)(nil)
)

// NewOperator returns the builtin of spec. A malformed spec (see
// operators.Spec.Validate; a parameter named like a common keyword) is
// reported by every call of the builtin rather than by a panic.
func NewOperator(spec operators.Spec) *Operator {
	o := &Operator{spec: spec, err: spec.Validate()}
	if o.err == nil {
		for _, p := range spec.Params {
			if slices.Contains(commonNames[:], p.Name) || slices.Contains(taskOnlyNames[:], p.Name) {
				o.err = fmt.Errorf("operator spec %s: parameter %s is a common task keyword", spec.Kind, p.Name)
				break
			}
		}
	}
	return o
}

// WithModule returns a copy of o whose attributes are members, the
// functions of a run-time module (frozen by the caller).
func (o *Operator) WithModule(members starlark.StringDict) *Operator {
	c := *o
	c.members = members
	return &c
}

// Spec returns the operator's spec.
func (o *Operator) Spec() operators.Spec { return o.spec }

// Name returns the builtin's name, the operator kind.
func (o *Operator) Name() string { return o.spec.Kind }

// String returns e.g. <built-in function http>.
func (o *Operator) String() string { return fmt.Sprintf("<built-in function %s>", o.spec.Kind) }

// Type returns "builtin_function_or_method", as for every builtin.
func (o *Operator) Type() string { return "builtin_function_or_method" }

// Freeze does nothing: the builtin is immutable.
func (o *Operator) Freeze() {}

// Truth returns True.
func (o *Operator) Truth() starlark.Bool { return starlark.True }

// Hash hashes the name.
func (o *Operator) Hash() (uint32, error) { return starlark.String(o.spec.Kind).Hash() }

// Attr returns a member of the run-time module.
func (o *Operator) Attr(name string) (starlark.Value, error) { return o.members[name], nil }

// AttrNames lists the members of the run-time module.
func (o *Operator) AttrNames() []string {
	names := make([]string, 0, len(o.members))
	for k := range o.members {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// CallInternal creates the task. A Go panic becomes an ordinary error.
func (o *Operator) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: internal error: %v", o.spec.Kind, r)
		}
	}()
	if o.err != nil {
		return nil, fmt.Errorf("%s: %w", o.spec.Kind, o.err)
	}
	return o.call(thread, args, kwargs)
}

// specFunc is a function argument waiting for its task's key.
type specFunc struct {
	name string
	fn   starlark.Callable
}

func (o *Operator) call(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	name := o.spec.Kind
	var (
		taskID string
		common commonArgs
	)
	vals := make([]starlark.Value, len(o.spec.Params))
	pairs := make([]any, 0, 4+2*len(vals)+2*len(commonNames))
	pairs = append(pairs, "task_id", &taskID)
	for i, p := range o.spec.Params {
		n := p.Name
		if !p.Required {
			n += "?"
		}
		pairs = append(pairs, n, &vals[i])
	}
	pairs = append(pairs, common.pairs()...)
	if err := unpack(name, args, kwargs, 1+o.spec.Positional, pairs...); err != nil {
		return nil, err
	}

	// Convert before creating the task, so a bad argument leaves no task.
	cfg := make(map[string]any, len(vals))
	var funcs []specFunc
	var refs []*XComArg
	onXCom := func(x *XComArg) (any, error) {
		refs = append(refs, x)
		return x.plainRef()
	}
	for i := range o.spec.Params {
		p := &o.spec.Params[i]
		v := vals[i]
		if v == nil || v == starlark.None {
			if p.Required && v == starlark.None {
				return nil, fmt.Errorf("%s: for parameter %s: got None, want %s", name, p.Name, want(p))
			}
			if p.Default != nil {
				cfg[p.Name] = p.Default
			}
			continue
		}
		if p.Type == operators.ParamFunction {
			fn, ok := v.(starlark.Callable)
			if !ok {
				return nil, fmt.Errorf("%s: for parameter %s: got %s, want function", name, p.Name, v.Type())
			}
			funcs = append(funcs, specFunc{name: p.Name, fn: fn})
			continue
		}
		if x, ok := v.(*XComArg); ok && x.op == "arg" {
			// An argument of a mapped group, whole: each task instance
			// gets its item, checked against the parameter at run time.
			ref, err := onXCom(x)
			if err != nil {
				return nil, fmt.Errorf("%s: for parameter %s: %w", name, p.Name, err)
			}
			cfg[p.Name] = ref
			continue
		}
		if p.XCom && hasXComArg(v, 0) {
			x, err := xcomValue(p, v, onXCom)
			if err != nil {
				return nil, fmt.Errorf("%s: for parameter %s: %w", name, p.Name, err)
			}
			cfg[p.Name] = x
			continue
		}
		x, err := specValue(p, v)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter %s: %w", name, p.Name, err)
		}
		cfg[p.Name] = x
	}

	if o.spec.Check != nil {
		if err := o.spec.Check(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	s := SessionOf(thread)
	if o.spec.Files != nil && s != nil {
		if err := o.spec.Files(cfg, s.fileReader()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(o.spec.TemplateExt) > 0 {
		var templated []string
		for _, p := range o.spec.Params {
			if p.Templated {
				templated = append(templated, p.Name)
			}
		}
		if err := resolveTemplateFiles(thread, name, cfg, templated, o.spec.TemplateExt); err != nil {
			return nil, err
		}
	}
	t, err := s.newTask(thread, name, o.spec.Kind, taskID, &common)
	if err != nil {
		return nil, err
	}
	for _, f := range funcs {
		key := callbackKey(t.builder.dag.ID, t.task, f.name)
		s.register(t.builder, key, f.fn)
		cfg[f.name] = key
	}
	t.task.Config = cfg
	if err := t.linkRefs(name, refs); err != nil {
		return nil, err
	}
	return t, nil
}

// hasXComArg reports whether v is or holds (in lists, tuples and dicts)
// a t.output.
func hasXComArg(v starlark.Value, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := v.(type) {
	case *XComArg:
		return true
	case *starlark.Dict:
		for _, item := range x.Items() {
			if hasXComArg(item[1], depth+1) {
				return true
			}
		}
	default:
		if elems, ok := asList(v); ok {
			for _, e := range elems {
				if hasXComArg(e, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// xcomValue converts the value of an XCom parameter that holds t.output:
// the shape must fit the parameter's type (a dict for a dict, a list for a
// list); the references become dags.XComRef values, checked once resolved.
func xcomValue(p *operators.Param, v starlark.Value, onXCom func(*XComArg) (any, error)) (any, error) {
	if _, whole := v.(*XComArg); !whole {
		_, isDict := v.(*starlark.Dict)
		_, isList := asList(v)
		switch {
		case p.Type == operators.ParamDict && !isDict:
			return nil, fmt.Errorf("got %s, want dict", v.Type())
		case (p.Type == operators.ParamList || p.Type == operators.ParamStringOrList) && !isList:
			return nil, fmt.Errorf("got %s, want list", v.Type())
		case p.Type != operators.ParamDict && p.Type != operators.ParamList && p.Type != operators.ParamStringOrList && p.Type != operators.ParamAny:
			return nil, fmt.Errorf("t.output can only be the whole value of a %s parameter", p.Type)
		}
	}
	return toGo(v, onXCom, 0)
}

// want names what a parameter accepts, for error messages.
func want(p *operators.Param) string {
	switch p.Type {
	case operators.ParamDuration:
		return "a duration such as \"30s\""
	case operators.ParamFunction:
		return "function"
	case operators.ParamAny:
		return "a JSON-like value"
	}
	return string(p.Type)
}

// specValue converts the Starlark value of a parameter to the plain Go
// value Task.Config holds for its type.
func specValue(p *operators.Param, v starlark.Value) (any, error) {
	switch p.Type {
	case operators.ParamString:
		s, ok := v.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("got %s, want string", v.Type())
		}
		if len(p.Choices) > 0 && !slices.Contains(p.Choices, string(s)) {
			msg := fmt.Sprintf("got %q, want one of %s", string(s), quoteAll(p.Choices))
			if n := nearest(string(s), p.Choices); n != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", n)
			}
			return nil, errors.New(msg)
		}
		return string(s), nil
	case operators.ParamInt:
		n, ok := v.(starlark.Int)
		if !ok {
			return nil, fmt.Errorf("got %s, want int", v.Type())
		}
		i, ok := n.Int64()
		if !ok {
			return nil, fmt.Errorf("int %s does not fit in 64 bits", n)
		}
		return i, nil
	case operators.ParamFloat:
		switch v.(type) {
		case starlark.Int, starlark.Float:
			f, _ := starlark.AsFloat(v)
			return f, nil
		}
		return nil, fmt.Errorf("got %s, want float", v.Type())
	case operators.ParamBool:
		b, ok := v.(starlark.Bool)
		if !ok {
			return nil, fmt.Errorf("got %s, want bool", v.Type())
		}
		return bool(b), nil
	case operators.ParamDuration:
		return durationOf(v)
	case operators.ParamList:
		if _, ok := asList(v); !ok {
			return nil, fmt.Errorf("got %s, want list", v.Type())
		}
		return ToGo(v)
	case operators.ParamDict:
		if _, ok := v.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("got %s, want dict", v.Type())
		}
		return ToGo(v)
	case operators.ParamStringOrList:
		if s, ok := v.(starlark.String); ok {
			return string(s), nil
		}
		elems, ok := asList(v)
		if !ok {
			return nil, fmt.Errorf("got %s, want string or list of strings", v.Type())
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			s, ok := e.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("item %d: got %s, want string", i, e.Type())
			}
			out[i] = string(s)
		}
		return out, nil
	case operators.ParamAny:
		return ToGo(v)
	}
	return nil, fmt.Errorf("unknown parameter type %q", p.Type)
}

func quoteAll(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", x)
	}
	return out
}

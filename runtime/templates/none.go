package templates

import (
	"errors"
	"reflect"
	"sort"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// The template engine has one value for Python's None and for an undefined
// name: a Go nil, which it prints as "". Jinja prints None as "None", so
// Starflow gives templates its own None (noneValue) wherever a None can
// come from: context values (pyValue), the None literal (rewritten into a
// name of the context here), and the results of dict and list methods
// (`params.get('missing')`, `d.update(...)`). An undefined name stays nil:
// an error under strict templates, "" under lenient ones, as in Jinja.

// noneName is the context name the None literal is rewritten to.
const noneName = "__starflow_none__"

// rewriteNone replaces the *nodes.None held in the interface value v (a
// field, a slice element) with a name of None, when v can be written.
func rewriteNone(v reflect.Value) bool {
	n := noneNode(v)
	if n == nil || !v.CanAddr() {
		return false
	}
	w := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	w.Set(reflect.ValueOf(noneNameNode(n)))
	return true
}

// noneNode returns the *nodes.None held in the interface value v, or nil.
// It reads the pointer without Interface, which refuses values reached
// through unexported fields.
func noneNode(v reflect.Value) *nodes.None {
	if v.Kind() != reflect.Interface || v.IsNil() {
		return nil
	}
	e := v.Elem()
	if e.Type() != reflect.TypeFor[*nodes.None]() || e.IsNil() {
		return nil
	}
	return (*nodes.None)(e.UnsafePointer())
}

// noneNameNode is the name node standing for the None literal n.
func noneNameNode(n *nodes.None) nodes.Expression {
	tok := &tokens.Token{Type: tokens.Name, Val: noneName}
	if n.Location != nil {
		tok.Pos, tok.Line, tok.Col = n.Location.Pos, n.Location.Line, n.Location.Col
	}
	return &nodes.Name{Name: tok}
}

// pyMethods returns the engine's methods with Python's results: dict and
// list methods that return nothing return None (`{{ d.update(x) }}` prints
// "None", as in Python), and get, pop, setdefault, values and items read
// the dict itself, so a None value stays None and a missing key gives None
// (the engine's copy of the dict would turn None into False).
func pyMethods(m exec.Methods) exec.Methods {
	dict := map[string]exec.Method[map[string]any]{
		"get": func(self map[string]any, sv *exec.Value, a *exec.VarArgs) (any, error) {
			if len(a.Args) < 1 || len(a.Args) > 2 || len(a.KwArgs) > 0 {
				return nil, exec.ErrInvalidCall(errors.New("get() takes 1 or 2 positional arguments"))
			}
			if v, ok := dictOf(self, sv)[a.Args[0].String()]; ok {
				return pyValue(v), nil
			}
			if len(a.Args) == 2 {
				return pyValue(a.Args[1].Interface()), nil
			}
			return None, nil
		},
		"values": func(self map[string]any, sv *exec.Value, a *exec.VarArgs) (any, error) {
			if err := a.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			d := dictOf(self, sv)
			out := make([]any, 0, len(d))
			for _, k := range sortedKeys(d) {
				out = append(out, pyValue(d[k]))
			}
			return out, nil
		},
		"items": func(self map[string]any, sv *exec.Value, a *exec.VarArgs) (any, error) {
			if err := a.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			d := dictOf(self, sv)
			out := make([]any, 0, len(d))
			for _, k := range sortedKeys(d) {
				out = append(out, []any{k, pyValue(d[k])})
			}
			return out, nil
		},
	}
	// pop and setdefault change the engine's copy, as before, but give back
	// the dict's own value of a key it holds.
	for _, name := range []string{"pop", "setdefault"} {
		orig, ok := m.Dict.Get(name)
		if !ok {
			continue
		}
		dict[name] = func(self map[string]any, sv *exec.Value, a *exec.VarArgs) (any, error) {
			if len(a.Args) >= 1 {
				if v, ok := dictOf(self, sv)[a.Args[0].String()]; ok {
					_, err := orig(self, sv, a)
					return pyValue(v), err
				}
			}
			v, err := orig(self, sv, a)
			return pyValue(v), err
		}
	}
	dict["copy"] = func(self map[string]any, sv *exec.Value, a *exec.VarArgs) (any, error) {
		if err := a.Take(); err != nil {
			return nil, exec.ErrInvalidCall(err)
		}
		d := dictOf(self, sv)
		out := make(map[string]any, len(d))
		for k, v := range d {
			out[k] = v
		}
		return out, nil
	}
	for _, name := range []string{"keys", "update", "clear"} {
		if orig, ok := m.Dict.Get(name); ok {
			dict[name] = noneResult(orig)
		}
	}
	list := map[string]exec.Method[[]any]{}
	for _, name := range []string{"append", "reverse", "copy"} {
		if orig, ok := m.List.Get(name); ok {
			list[name] = noneResult(orig)
		}
	}
	out := m
	out.Dict = exec.NewMethodSet(dict)
	out.List = exec.NewMethodSet(list)
	return out
}

// noneResult wraps a method so that a nil result is None.
func noneResult[T any](f exec.Method[T]) exec.Method[T] {
	return func(self T, sv *exec.Value, a *exec.VarArgs) (any, error) {
		v, err := f(self, sv, a)
		if err == nil && v == nil {
			return None, nil
		}
		return v, err
	}
}

// dictOf returns the dict a method was called on as the template holds it
// (with None values), or the engine's copy when it is another kind of map.
func dictOf(self map[string]any, sv *exec.Value) map[string]any {
	if sv != nil && !sv.IsNil() {
		switch d := sv.Interface().(type) {
		case map[string]any:
			return d
		case *exec.Dict: // a dict literal
			out := make(map[string]any, len(d.Pairs))
			for _, p := range d.Pairs {
				out[p.Key.String()] = p.Value.Interface()
			}
			return out
		}
	}
	return self
}

func sortedKeys(d map[string]any) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonFilter wraps the engine's tojson filter so that None is null (the
// engine would print our None as false).
func jsonFilter(orig exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return orig(e, in, params)
		}
		return orig(e, exec.AsValue(plainNone(in.Interface())), params)
	}
}

// plainNone returns v with every None (at any depth of lists and maps)
// replaced by nil, the inverse of pyValue.
func plainNone(v any) any {
	switch x := v.(type) {
	case noneValue:
		return nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNone(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNone(e)
		}
		return out
	case *exec.Dict: // a dict literal
		out := make(map[string]any, len(x.Pairs))
		for _, p := range x.Pairs {
			out[p.Key.String()] = plainNone(p.Value.Interface())
		}
		return out
	case exec.ValuesList: // a list or tuple literal
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNone(e.Interface())
		}
		return out
	}
	return v
}

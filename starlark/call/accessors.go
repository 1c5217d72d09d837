package call

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// accessor is ctx.var and ctx.conn: a function (ctx.var("name",
// default)) that also has Airflow's context attributes: ctx.var.value.x,
// ctx.var.json.x, ctx.var.value.get("x", default); ctx.conn.my_conn,
// ctx.conn.get("my_conn").
type accessor struct {
	*starlark.Builtin
	names []string
	attr  func(name string) (starlark.Value, error)
}

var _ starlark.HasAttrs = (*accessor)(nil)

// Attr returns the attribute name.
func (a *accessor) Attr(name string) (starlark.Value, error) { return a.attr(name) }

// AttrNames lists the fixed attributes.
func (a *accessor) AttrNames() []string { return a.names }

// varAccessor is ctx.var.value or ctx.var.json.
type varAccessor struct {
	t    *taskContext
	json bool
}

var _ starlark.HasAttrs = (*varAccessor)(nil)

func (v *varAccessor) kind() string {
	if v.json {
		return "json"
	}
	return "value"
}

// String returns e.g. <var.value>.
func (v *varAccessor) String() string { return "<var." + v.kind() + ">" }

// Type returns "var_accessor".
func (v *varAccessor) Type() string { return "var_accessor" }

// Freeze does nothing.
func (v *varAccessor) Freeze() {}

// Truth returns True.
func (v *varAccessor) Truth() starlark.Bool { return starlark.True }

// Hash fails.
func (v *varAccessor) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: var_accessor") }

// AttrNames lists get.
func (v *varAccessor) AttrNames() []string { return []string{"get"} }

// Attr reads variable name, which must exist (as Airflow's
// var.value.name); get is the lookup with a fallback.
func (v *varAccessor) Attr(name string) (starlark.Value, error) {
	if name == "get" {
		return builtins.Safe("get", v.get), nil
	}
	val, ok, err := v.lookup(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("ctx.var.%s: variable %q does not exist (use ctx.var.%s.get(%q, default) for a fallback)", v.kind(), name, v.kind(), name)
	}
	return val, nil
}

// get implements ctx.var.value.get(key, default_var=None).
func (v *varAccessor) get(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name string
		def  starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs("var."+v.kind()+".get", args, kwargs, "key", &name, "default_var?", &def); err != nil {
		return nil, err
	}
	val, ok, err := v.lookup(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return def, nil
	}
	return val, nil
}

// lookup reads the variable, JSON-decoded for var.json.
func (v *varAccessor) lookup(name string) (starlark.Value, bool, error) {
	c := v.t.call
	if c.Variables == nil {
		return nil, false, nil
	}
	s, ok, err := c.Variables.Get(v.t.ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("var: %q: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	if !v.json {
		return starlark.String(s), true, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, false, fmt.Errorf("ctx.var.json: variable %q is not valid JSON: %w", name, err)
	}
	val, err := builtins.FromGo(store.PlainNumbers(x))
	if err != nil {
		return nil, false, fmt.Errorf("ctx.var.json: variable %q: %w", name, err)
	}
	return val, true, nil
}

// varAttr returns ctx.var's attributes.
func (t *taskContext) varAttr(name string) (starlark.Value, error) {
	switch name {
	case "value":
		return &varAccessor{t: t}, nil
	case "json":
		return &varAccessor{t: t, json: true}, nil
	}
	return nil, nil
}

// connAttr returns ctx.conn's attributes: get, or a connection by id,
// which must exist.
func (t *taskContext) connAttr(name string) (starlark.Value, error) {
	if name == "get" {
		return builtins.Safe("get", t.connGet), nil
	}
	return t.connection(nil, starlark.NewBuiltin("conn", nil), starlark.Tuple{starlark.String(name)}, nil)
}

// connGet implements ctx.conn.get(conn_id, default_conn=None).
func (t *taskContext) connGet(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		id  string
		def starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs("conn.get", args, kwargs, "conn_id", &id, "default_conn?", &def); err != nil {
		return nil, err
	}
	cn, found, err := t.lookupConnection(id)
	if err != nil {
		return nil, err
	}
	if !found {
		return def, nil
	}
	return cn, nil
}

package templates

import (
	"context"
	"errors"
	"fmt"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/starflow-dev/starflow/operators"
)

// returnValueKey is the XCom key of a task's return value.
const returnValueKey = "return_value"

// taskInstance returns the `ti` object of the context: the task instance's
// identity and xcom_pull, which reads XComs through c.XCom with ctx.
func taskInstance(ctx context.Context, c *operators.Call) *object {
	dagID, taskID := c.Run.DAGID, ""
	if c.Task != nil {
		taskID = c.Task.ID
	}
	maxTries := 0
	if c.Task != nil {
		maxTries = c.Task.Retries
	}
	pull := func(va *exec.VarArgs) (any, error) { return xcomPull(ctx, c, taskID, va) }
	state := "running"
	if c.State != "" {
		state = string(c.State)
	}
	return &object{
		repr: fmt.Sprintf("<TaskInstance: %s.%s %s [%s]>", dagID, taskID, c.Run.RunID, state),
		attrs: map[string]any{
			"dag_id":     dagID,
			"task_id":    taskID,
			"run_id":     c.Run.RunID,
			"try_number": c.TryNumber,
			"map_index":  c.MapIndex,
			"max_tries":  maxTries,
			"state":      state,
			"xcom_pull":  pull,
			"xcom_push":  func(va *exec.VarArgs) (any, error) { return xcomPush(ctx, c, va) },
		},
	}
}

// xcomPull implements ti.xcom_pull(task_ids=None, dag_id=None,
// key="return_value", default=None): one task id gives its value, a list
// gives a list in the same order; no task id means the calling task, as in
// Airflow 3; key=None means any key (the XCom the task pushed last). A
// missing value is default (None unless given).
func xcomPull(ctx context.Context, c *operators.Call, self string, va *exec.VarArgs) (any, error) {
	const fn = "xcom_pull"
	a, err := unpack(fn, va, "task_ids?", "dag_id?", "key?", "include_prior_dates?", "map_indexes?", "default?", "run_id?")
	if err != nil {
		return nil, err
	}
	if a.has(1) && !isNone(a.vals[1]) {
		if d, err := a.str(1); err != nil || d != c.Run.DAGID {
			return nil, fmt.Errorf("%s: pulling from another DAG (dag_id=%s) is not supported", fn, describe(a.vals[1]))
		}
	}
	for _, i := range []int{3, 4, 6} {
		if a.has(i) && !isNone(a.vals[i]) && a.vals[i].IsTrue() {
			return nil, fmt.Errorf("%s: argument %q is not supported", fn, a.names[i])
		}
	}
	key, anyKey := returnValueKey, a.has(2) && isNone(a.vals[2])
	if a.has(2) && !anyKey {
		if key, err = a.str(2); err != nil {
			return nil, err
		}
	}
	var dflt any = None
	if a.has(5) {
		dflt = a.vals[5].Interface()
	}
	if c.XCom == nil {
		return nil, errors.New("xcom_pull: XCom is not available to this task")
	}
	get := func(taskID string) (any, error) {
		v, ok, err := pullKey(ctx, c.XCom, taskID, key, anyKey)
		if err != nil {
			return nil, fmt.Errorf("%s(task_ids=%q, key=%q): %w", fn, taskID, key, err)
		}
		if !ok || v == nil {
			return dflt, nil
		}
		return pyValue(v), nil
	}
	ids := a.vals[0]
	switch {
	case ids == nil || isNone(ids):
		return get(self)
	case ids.IsString():
		return get(ids.String())
	case ids.IsList():
		out := make([]any, 0, ids.Len())
		for i := 0; i < ids.Len(); i++ {
			item := ids.Index(i)
			if !item.IsString() {
				return nil, fmt.Errorf("%s: task_ids must hold strings, got %s", fn, describe(item))
			}
			v, err := get(item.String())
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: task_ids must be a string or a list of strings, got %s", fn, describe(ids))
}

// pullKey pulls taskID's XCom under key, or, with anyKey, the one it
// pushed last whatever its key (operators.XComLatest).
func pullKey(ctx context.Context, x operators.XCom, taskID, key string, anyKey bool) (any, bool, error) {
	if !anyKey {
		return x.Pull(ctx, taskID, key)
	}
	latest, ok := x.(operators.XComLatest)
	if !ok {
		return nil, false, errors.New("key=None (any key) is not available here")
	}
	return latest.PullLatest(ctx, taskID)
}

// xcomPush implements ti.xcom_push(key, value): it stores value (made of
// None, bools, numbers, strings, lists and dicts; a datetime is stored as
// its ISO 8601 string) for this task instance and returns None, which
// renders "None" as in Airflow.
func xcomPush(ctx context.Context, c *operators.Call, va *exec.VarArgs) (any, error) {
	const fn = "xcom_push"
	a, err := unpack(fn, va, "key", "value")
	if err != nil {
		return nil, err
	}
	key, err := a.str(0)
	if err != nil {
		return nil, err
	}
	v, err := plain(a.vals[1], 0)
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", fn, key, err)
	}
	if c.XCom == nil {
		return nil, errors.New("xcom_push: XCom is not available to this task")
	}
	if err := c.XCom.Push(ctx, key, v); err != nil {
		return nil, fmt.Errorf("%s(key=%q): %w", fn, key, err)
	}
	return None, nil
}

// plain converts a template value to a plain Go value for storage: nil,
// bool, int64, float64, string, []any and map[string]any.
func plain(v *exec.Value, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("value nested too deeply")
	}
	switch x := v.Interface().(type) {
	case dateTime:
		return isoformat(x.t), nil
	case timeDelta:
		return x.d.Seconds(), nil
	}
	switch {
	case isNone(v):
		return nil, nil
	case v.IsBool():
		return v.Bool(), nil
	case v.IsInteger():
		return int64(v.Integer()), nil
	case v.IsFloat():
		return v.Float(), nil
	case v.IsString():
		return v.String(), nil
	case v.IsList():
		out := []any{}
		var err error
		v.Iterate(func(_, _ int, e, _ *exec.Value) bool {
			var x any
			if x, err = plain(e, depth+1); err != nil {
				return false
			}
			out = append(out, x)
			return true
		}, func() {})
		return out, err
	case v.IsDict():
		out := map[string]any{}
		var err error
		v.Iterate(func(_, _ int, k, e *exec.Value) bool {
			if !k.IsString() {
				err = fmt.Errorf("dict key %s is not a string", describe(k))
				return false
			}
			var x any
			if x, err = plain(e, depth+1); err != nil {
				return false
			}
			out[k.String()] = x
			return true
		}, func() {})
		return out, err
	}
	return nil, fmt.Errorf("%s cannot be stored as an XCom (want None, a bool, number, string, list or dict)", describe(v))
}

// variables is `var.value` (raw strings) or `var.json` (JSON-decoded).
// `var.value.name` reads a variable and fails when it does not exist, as
// in Airflow; `var.value.get(name, default_var)` falls back instead.
type variables struct {
	ctx  context.Context
	vars operators.Variables
	json bool
}

// String returns how the accessor prints.
func (v *variables) String() string {
	if v.json {
		return "<var.json>"
	}
	return "<var.value>"
}

// GetAttribute implements exec.AttributeGetter.
func (v *variables) GetAttribute(name string) (*exec.Value, bool) {
	if name == "get" {
		return exec.AsValue(v.getFunc), true
	}
	return v.item(name)
}

// GetItem implements exec.ItemGetter: var.value['name'].
func (v *variables) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(fmt.Errorf("variable names are strings, got %v", key)), false
	}
	return v.item(name)
}

// item reads a variable that must exist; a failure is returned as an
// error value, which gonja reports as the template's error.
func (v *variables) item(name string) (*exec.Value, bool) {
	val, ok, err := v.lookup(name)
	if err != nil {
		return exec.AsValue(err), false
	}
	if !ok {
		return exec.AsValue(fmt.Errorf("variable %q does not exist (use var.%s.get(%q, default) for a fallback)", name, v.kind(), name)), false
	}
	return exec.ToValue(val), true
}

func (v *variables) kind() string {
	if v.json {
		return "json"
	}
	return "value"
}

// getFunc implements get(key, default_var).
func (v *variables) getFunc(va *exec.VarArgs) (any, error) {
	fn := "var." + v.kind() + ".get"
	a, err := unpack(fn, va, "key", "default_var?")
	if err != nil {
		return nil, err
	}
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	val, ok, err := v.lookup(name)
	if err != nil {
		return nil, err
	}
	if ok {
		return val, nil
	}
	if a.has(1) {
		return a.vals[1].Interface(), nil
	}
	return nil, fmt.Errorf("variable %q does not exist", name)
}

// lookup reads the variable, decoding JSON for var.json.
func (v *variables) lookup(name string) (any, bool, error) {
	if v.vars == nil {
		return nil, false, errors.New("variables are not available to this task")
	}
	s, ok, err := v.vars.Get(v.ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("read variable %q: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	if !v.json {
		return s, true, nil
	}
	val, err := fromJSON(s)
	if err != nil {
		return nil, false, fmt.Errorf("variable %q is not valid JSON: %w", name, err)
	}
	return pyValue(val), true, nil
}

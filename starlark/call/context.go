package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// isoLayout formats dates as Python's isoformat() does for an aware
// datetime: "2024-01-01T00:00:00+00:00", with microseconds when not zero.
const isoLayout = "2006-01-02T15:04:05.999999-07:00"

// contextAttrs lists the attributes of the task context.
var contextAttrs = []string{
	"conf", "conn", "dag_id", "dag_run", "data_interval_end", "data_interval_start", "ds", "ds_nodash",
	"exception", "inlet_events", "inlets", "log", "logical_date", "map_index", "map_index_template",
	"outlet_events", "outlets", "params", "prev_data_interval_end_success", "prev_data_interval_start_success",
	"prev_end_date_success", "prev_start_date_success", "run_id", "state", "task_id", "triggering_asset_events",
	"triggering_dataset_events", "try_number", "ts", "var", "xcom_pull", "xcom_push",
}

// taskContext is the ctx argument of a task function: the values of the
// task instance (ds, run_id, params, ...) and methods to reach XComs,
// variables, connections and the task log.
type taskContext struct {
	ctx    context.Context
	call   *operators.Call
	params starlark.Value // built on first use
	conf   starlark.Value
	dagRun starlark.Value

	prevRead bool // the previous successful run, read on first use
	prev     *operators.PrevSuccess
	// outlets and triggering are built on first use; outlets' extras go
	// to the call's Datasets when the function returns.
	outlets    *outletEvents
	triggering *triggeringEvents
}

var _ starlark.HasAttrs = (*taskContext)(nil)

func newTaskContext(ctx context.Context, c *operators.Call) *taskContext {
	return &taskContext{ctx: ctx, call: c}
}

// String returns e.g. <ctx etl.ingest>.
func (t *taskContext) String() string {
	return fmt.Sprintf("<ctx %s.%s>", t.dagID(), t.taskID())
}

// Type returns "task_context".
func (t *taskContext) Type() string { return "task_context" }

// Freeze does nothing: the context belongs to one call.
func (t *taskContext) Freeze() {}

// Truth returns True.
func (t *taskContext) Truth() starlark.Bool { return starlark.True }

// Hash fails: a context is not a dict key.
func (t *taskContext) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: task_context") }

// AttrNames lists the attributes.
func (t *taskContext) AttrNames() []string { return contextAttrs }

func (t *taskContext) dagID() string {
	if t.call.Run.DAGID != "" {
		return t.call.Run.DAGID
	}
	if t.call.DAG != nil {
		return t.call.DAG.ID
	}
	return ""
}

func (t *taskContext) taskID() string {
	if t.call.Task != nil {
		return t.call.Task.ID
	}
	return ""
}

// Attr returns one attribute.
func (t *taskContext) Attr(name string) (starlark.Value, error) {
	c := t.call
	ld := c.Run.LogicalDate.UTC()
	switch name {
	case "ds":
		return starlark.String(ld.Format("2006-01-02")), nil
	case "ds_nodash":
		return starlark.String(ld.Format("20060102")), nil
	case "ts":
		return starlark.String(ld.Format(isoLayout)), nil
	case "logical_date":
		return dateTimeOrNone(c.Run.LogicalDate), nil
	case "data_interval_start":
		return dateTimeOrNone(c.Run.DataIntervalStart), nil
	case "data_interval_end":
		return dateTimeOrNone(c.Run.DataIntervalEnd), nil
	case "dag_run":
		if t.dagRun == nil {
			conf, err := t.Attr("conf")
			if err != nil {
				return nil, err
			}
			t.dagRun = starlarkstruct.FromStringDict(starlark.String("dag_run"), starlark.StringDict{
				"dag_id":              starlark.String(t.dagID()),
				"run_id":              starlark.String(c.Run.RunID),
				"run_type":            starlark.String(c.Run.RunType),
				"conf":                conf,
				"logical_date":        dateTimeOrNone(c.Run.LogicalDate),
				"data_interval_start": dateTimeOrNone(c.Run.DataIntervalStart),
				"data_interval_end":   dateTimeOrNone(c.Run.DataIntervalEnd),
			})
		}
		return t.dagRun, nil
	case "run_id":
		return starlark.String(c.Run.RunID), nil
	case "dag_id":
		return starlark.String(t.dagID()), nil
	case "task_id":
		return starlark.String(t.taskID()), nil
	case "try_number":
		return starlark.MakeInt(c.TryNumber), nil
	case "map_index":
		return starlark.MakeInt(c.MapIndex), nil
	case "state":
		if c.State == "" {
			return starlark.String(dags.TaskStateRunning), nil
		}
		return starlark.String(c.State), nil
	case "exception":
		if c.Exception == "" {
			return starlark.None, nil
		}
		return starlark.String(c.Exception), nil
	case "params":
		if t.params == nil {
			v, err := builtins.FromGo(orEmpty(c.Params))
			if err != nil {
				return nil, fmt.Errorf("ctx.params: %w", err)
			}
			t.params = v
		}
		return t.params, nil
	case "conf":
		if t.conf == nil {
			v, err := builtins.FromGo(orEmpty(c.Run.Conf))
			if err != nil {
				return nil, fmt.Errorf("ctx.conf: %w", err)
			}
			t.conf = v
		}
		return t.conf, nil
	case "xcom_pull":
		return builtins.Safe("xcom_pull", t.xcomPull), nil
	case "xcom_push":
		return builtins.Safe("xcom_push", t.xcomPush), nil
	case "var":
		return &accessor{Builtin: builtins.Safe("var", t.variable), names: []string{"json", "value"}, attr: t.varAttr}, nil
	case "conn":
		return &accessor{Builtin: builtins.Safe("conn", t.connection), names: []string{"get"}, attr: t.connAttr}, nil
	case "log":
		return builtins.Safe("log", t.log), nil
	case "inlets":
		var out []starlark.Value
		if c.Task != nil {
			for _, uri := range c.Task.Inlets {
				out = append(out, starlarkstruct.FromStringDict(starlark.String("Asset"), starlark.StringDict{
					"name": starlark.String(uri), "uri": starlark.String(uri), "group": starlark.String("asset"), "extra": starlark.NewDict(0),
				}))
			}
		}
		return starlark.NewList(out), nil
	case "outlets":
		var out []starlark.Value
		if c.Task != nil {
			for _, uri := range c.Task.Outlets {
				out = append(out, starlarkstruct.FromStringDict(starlark.String("Asset"), starlark.StringDict{
					"name": starlark.String(uri), "uri": starlark.String(uri), "group": starlark.String("asset"), "extra": starlark.NewDict(0),
				}))
			}
		}
		return starlark.NewList(out), nil
	case "map_index_template":
		if c.Task == nil || c.Task.MapIndexTemplate == "" {
			return starlark.None, nil
		}
		return starlark.String(c.Task.MapIndexTemplate), nil
	case "prev_data_interval_start_success", "prev_data_interval_end_success", "prev_start_date_success", "prev_end_date_success":
		if !t.prevRead {
			p, err := c.PrevSuccess(t.ctx)
			if err != nil {
				return nil, fmt.Errorf("ctx.%s: %w", name, err)
			}
			t.prev, t.prevRead = p, true
		}
		if t.prev == nil {
			return starlark.None, nil
		}
		return dateTimeOrNone(map[string]time.Time{
			"prev_data_interval_start_success": t.prev.DataIntervalStart, "prev_data_interval_end_success": t.prev.DataIntervalEnd,
			"prev_start_date_success": t.prev.StartDate, "prev_end_date_success": t.prev.EndDate,
		}[name]), nil
	case "outlet_events":
		if t.outlets == nil {
			t.outlets = &outletEvents{tc: t, accessors: map[string]*outletEventAccessor{}}
		}
		return t.outlets, nil
	case "inlet_events":
		return &inletEvents{tc: t}, nil
	case "triggering_asset_events", "triggering_dataset_events":
		if t.triggering == nil {
			if c.Run.RunType != dags.RunTypeDatasetTriggered {
				t.triggering = &triggeringEvents{events: map[string]*starlark.List{}}
			} else {
				te, err := newTriggeringEvents(t)
				if err != nil {
					return nil, err
				}
				t.triggering = te
			}
		}
		return t.triggering, nil
	}
	return nil, nil
}

// dateTimeOrNone returns t as an aware UTC datetime, as Airflow gives
// logical_date and the data interval (pendulum DateTimes), or None for a
// run without one.
func dateTimeOrNone(t time.Time) starlark.Value {
	if t.IsZero() {
		return starlark.None
	}
	return builtins.NewDateTime(t.UTC())
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// xcomPull implements ctx.xcom_pull(task_ids=None, key="return_value",
// default=None) as Airflow's ti.xcom_pull: a task id gives its value, a
// list of ids a list; no task id means this task; key=None means any key
// (the XCom the task pushed last); default when there is none.
func (t *taskContext) xcomPull(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		ids  starlark.Value = starlark.None
		key  starlark.Value = starlark.String("return_value")
		dflt starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "task_ids?", &ids, "key?", &key, "default?", &dflt); err != nil {
		return nil, err
	}
	if t.call.XCom == nil {
		return nil, fmt.Errorf("xcom_pull: no XCom store in this context")
	}
	k, isStr := key.(starlark.String)
	if key != starlark.None && !isStr {
		return nil, fmt.Errorf("xcom_pull: for parameter key: got %s, want string or None", key.Type())
	}
	pull := func(id string) (starlark.Value, error) {
		var (
			v   any
			ok  bool
			err error
		)
		if isStr {
			v, ok, err = t.call.XCom.Pull(t.ctx, id, string(k))
		} else if latest, can := t.call.XCom.(operators.XComLatest); can {
			v, ok, err = latest.PullLatest(t.ctx, id)
		} else {
			err = fmt.Errorf("key=None (any key) is not available here")
		}
		if err != nil {
			return nil, fmt.Errorf("xcom_pull: task %q key %s: %w", id, key, err)
		}
		if !ok || v == nil {
			return dflt, nil
		}
		return builtins.FromGo(v)
	}
	if ids == starlark.None {
		ids = starlark.String(t.taskID())
	}
	switch ids := ids.(type) {
	case starlark.String:
		return pull(string(ids))
	case *starlark.List, starlark.Tuple:
		var out []starlark.Value
		it := ids.(starlark.Iterable).Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			id, ok := x.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("xcom_pull: task_ids must be strings, got %s", x.Type())
			}
			v, err := pull(string(id))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return starlark.NewList(out), nil
	}
	return nil, fmt.Errorf("xcom_pull: for parameter task_ids: got %s, want string or list of strings", ids.Type())
}

// xcomPush implements ctx.xcom_push(key, value).
func (t *taskContext) xcomPush(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		key   string
		value starlark.Value
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "value", &value); err != nil {
		return nil, err
	}
	if t.call.XCom == nil {
		return nil, fmt.Errorf("xcom_push: no XCom store in this context")
	}
	v, err := builtins.ToGo(value)
	if err != nil {
		return nil, fmt.Errorf("xcom_push: %w", err)
	}
	if err := t.call.XCom.Push(t.ctx, key, v); err != nil {
		return nil, fmt.Errorf("xcom_push: key %q: %w", key, err)
	}
	return starlark.None, nil
}

// variable implements ctx.var(name, default=None).
func (t *taskContext) variable(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name string
		def  starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	if t.call.Variables == nil {
		return def, nil
	}
	v, ok, err := t.call.Variables.Get(t.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("var: %q: %w", name, err)
	}
	if !ok {
		return def, nil
	}
	return starlark.String(v), nil
}

// connection implements ctx.conn(conn_id): a struct with conn_type, host,
// port, login, password, schema and extra.
func (t *taskContext) connection(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "conn_id", &id); err != nil {
		return nil, err
	}
	cn, found, err := t.lookupConnection(id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("conn: the conn_id `%s` isn't defined (ctx.conn.get(%q) gives None instead)", id, id)
	}
	return cn, nil
}

// lookupConnection returns connection id as a struct with Airflow's
// attributes (conn_id, conn_type, host, port, login, password, schema,
// extra, extra_dejson); found is false when it does not exist.
func (t *taskContext) lookupConnection(id string) (starlark.Value, bool, error) {
	if t.call.Connections == nil {
		return nil, false, fmt.Errorf("conn: no connections are configured (looking for %q)", id)
	}
	cn, err := t.call.Connections.Get(t.ctx, id)
	if errors.Is(err, operators.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("conn: %q: %w", id, err)
	}
	if cn == nil {
		return nil, false, nil
	}
	extra, err := builtins.FromGo(orEmpty(cn.Extra))
	if err != nil {
		return nil, false, fmt.Errorf("conn: %q extra: %w", id, err)
	}
	return starlarkstruct.FromStringDict(starlark.String("connection"), starlark.StringDict{
		"conn_id":      starlark.String(cn.ID),
		"conn_type":    starlark.String(cn.Type),
		"host":         starlark.String(cn.Host),
		"port":         starlark.MakeInt(cn.Port),
		"login":        starlark.String(cn.Login),
		"password":     starlark.String(cn.Password),
		"schema":       starlark.String(cn.Schema),
		"extra":        extra,
		"extra_dejson": extra,
	}), true, nil
}

// log implements ctx.log(msg): one line in the task log. Non-string
// values are formatted with str().
func (t *taskContext) log(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &msg); err != nil {
		return nil, err
	}
	if s, ok := msg.(starlark.String); ok {
		t.call.Logf("%s", string(s))
	} else {
		t.call.Logf("%s", msg.String())
	}
	return starlark.None, nil
}

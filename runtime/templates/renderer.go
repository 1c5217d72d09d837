package templates

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Renderer renders templates for one task instance with Airflow's
// template context. It implements operators.Renderer and is safe for
// concurrent use. The context is built from the Call at the first render,
// so the Call must not change afterwards.
type Renderer struct {
	engine *Engine
	call   *operators.Call

	once   sync.Once
	static map[string]any

	prevOnce sync.Once
	prev     map[string]any // the prev_*_success keys, read once
}

var _ operators.Renderer = (*Renderer)(nil)

// NewRenderer returns a renderer for c with an Engine of its own. A
// program that renders for many task instances should share one Engine
// and call Engine.Renderer instead, so that parsed templates are reused.
func NewRenderer(c *operators.Call) *Renderer { return NewEngine().Renderer(c) }

// Render renders template s. A string without "{{" or "{%" is returned as
// is. Errors say which template failed and why (the expression, its line).
// An undefined name is an error, as with Airflow's default
// jinja2.StrictUndefined, unless the DAG opted out with
// template_undefined = "Undefined" (dags.DAG.LenientUndefined).
func (r *Renderer) Render(ctx context.Context, s string) (string, error) {
	if !NeedsRendering(s) {
		return s, nil
	}
	t, err := r.engine.parse(s, r.call.DAG == nil || !r.call.DAG.LenientUndefined)
	if err != nil {
		return "", err
	}
	// The previous successful run is read from the store only for a
	// template that names one of its keys (Airflow reads it lazily too).
	return r.engine.execute(s, t, r.context(ctx, strings.Contains(s, "_success")))
}

// Context returns the template context of the task instance: a fresh map
// the caller may change. Values that read XComs and variables (ti,
// task_instance, var) use ctx.
func (r *Renderer) Context(ctx context.Context) map[string]any { return r.context(ctx, true) }

// context builds the context; prev adds the keys of the previous
// successful run, which cost a store read the first time.
func (r *Renderer) context(ctx context.Context, prev bool) map[string]any {
	r.once.Do(func() { r.static = staticContext(r.call) })
	data := make(map[string]any, len(r.static)+8)
	for k, v := range r.static {
		data[k] = v
	}
	if prev {
		r.prevOnce.Do(func() { r.prev = prevSuccessContext(ctx, r.call) })
		for k, v := range r.prev {
			data[k] = v
		}
	}
	ti := taskInstance(ctx, r.call)
	data["ti"] = ti
	data["task_instance"] = ti
	data["exception"] = None
	if r.call.Exception != "" {
		data["exception"] = r.call.Exception
	}
	data["var"] = &object{repr: "<var>", attrs: map[string]any{
		"value": &variables{ctx: ctx, vars: r.call.Variables},
		"json":  &variables{ctx: ctx, vars: r.call.Variables, json: true},
	}}
	data["conn"] = &connections{ctx: ctx, conns: r.call.Connections}
	return data
}

// staticContext builds the part of the context that does not change
// between renders.
func staticContext(c *operators.Call) map[string]any {
	dagID, taskID := c.Run.DAGID, ""
	if dagID == "" && c.DAG != nil {
		dagID = c.DAG.ID
	}
	if c.Task != nil {
		taskID = c.Task.ID
	}
	conf := pyValue(mapOrEmpty(c.Run.Conf))
	m := map[string]any{
		"run_id":              c.Run.RunID,
		"try_number":          c.TryNumber,
		"params":              pyValue(mapOrEmpty(c.Params)),
		"conf":                conf,
		"data_interval_start": timeOrNone(c.Run.DataIntervalStart),
		"data_interval_end":   timeOrNone(c.Run.DataIntervalEnd),
		"macros":              macros(),
	}
	keyDate := c.Run.RunID
	m["logical_date"] = None
	if ld := c.Run.LogicalDate; !ld.IsZero() {
		ld = ld.UTC()
		m["logical_date"] = dateTime{ld}
		m["ds"] = formatDS(ld)
		m["ds_nodash"] = formatDSNodash(ld)
		m["ts"] = isoformat(ld)
		m["ts_nodash"] = formatTSNodash(ld)
		m["ts_nodash_with_tz"] = formatTSNodashWithTZ(ld)
		keyDate = formatDSNodash(ld)
	}
	m["task_instance_key_str"] = fmt.Sprintf("%s__%s__%s", dagID, taskID, keyDate)
	m["dag_run"] = &object{
		repr: fmt.Sprintf("<DagRun %s @ %s: %s, run_type: %s>", dagID, m["logical_date"], c.Run.RunID, c.Run.RunType),
		attrs: map[string]any{
			"dag_id":              dagID,
			"run_id":              c.Run.RunID,
			"run_type":            string(c.Run.RunType),
			"conf":                conf,
			"logical_date":        m["logical_date"],
			"data_interval_start": m["data_interval_start"],
			"data_interval_end":   m["data_interval_end"],
		},
	}
	m["dag"] = dagObject(dagID, c.DAG)
	m["task"] = taskObject(taskID, c.Task)
	// The task's assets, as Airflow 3's context has them: Starflow tasks
	// declare no inlets; outlets are the datasets the task updates.
	m["inlets"] = []any{}
	outlets := []any{}
	m["map_index_template"] = None
	if c.Task != nil {
		for _, uri := range c.Task.Outlets {
			outlets = append(outlets, assetObject(uri))
		}
		if c.Task.MapIndexTemplate != "" {
			m["map_index_template"] = c.Task.MapIndexTemplate
		}
	}
	m["outlets"] = outlets
	return m
}

// assetObject is a dataset as Airflow 3 prints an Asset.
func assetObject(uri string) *object {
	return &object{repr: fmt.Sprintf("Asset(name=%s, uri=%s, group='asset', extra={}, watchers=[])", pyQuote(uri), pyQuote(uri)),
		attrs: map[string]any{"name": uri, "uri": uri, "group": "asset", "extra": map[string]any{}}}
}

// prevSuccessContext returns Airflow's prev_start_date_success and
// prev_end_date_success and, for a run with a logical date,
// prev_data_interval_start_success and prev_data_interval_end_success:
// the dates of the DAG's previous successful run, None without one. A
// failed read makes them errors, which fail a template that uses them.
func prevSuccessContext(ctx context.Context, c *operators.Call) map[string]any {
	m := map[string]any{"prev_start_date_success": None, "prev_end_date_success": None}
	if !c.Run.LogicalDate.IsZero() {
		m["prev_data_interval_start_success"] = None
		m["prev_data_interval_end_success"] = None
	}
	p, err := c.PrevSuccess(ctx)
	if err != nil {
		for k := range m {
			m[k] = fmt.Errorf("%s: %w", k, err)
		}
		return m
	}
	if p == nil {
		return m
	}
	m["prev_start_date_success"] = timeOrNone(p.StartDate)
	m["prev_end_date_success"] = timeOrNone(p.EndDate)
	if !c.Run.LogicalDate.IsZero() {
		m["prev_data_interval_start_success"] = timeOrNone(p.DataIntervalStart)
		m["prev_data_interval_end_success"] = timeOrNone(p.DataIntervalEnd)
	}
	return m
}

func dagObject(dagID string, d *dags.DAG) *object {
	attrs := map[string]any{"dag_id": dagID}
	if d != nil {
		attrs["description"] = d.Description
		attrs["tags"] = stringsToAny(d.Tags)
		attrs["params"] = pyValue(mapOrEmpty(d.Params))
		attrs["schedule"] = d.Schedule.String()
		attrs["fileloc"] = d.File
		attrs["catchup"] = d.Catchup
		attrs["max_active_runs"] = d.MaxActiveRuns
		attrs["max_active_tasks"] = d.MaxActiveTasks
	}
	return &object{repr: fmt.Sprintf("<DAG: %s>", dagID), attrs: attrs}
}

func taskObject(taskID string, t *dags.Task) *object {
	attrs := map[string]any{"task_id": taskID}
	kind := ""
	if t != nil {
		kind = t.Operator
		attrs["task_type"] = t.Operator
		attrs["operator"] = t.Operator
		attrs["retries"] = t.Retries
		attrs["queue"] = t.Queue
		attrs["pool"] = t.Pool
		attrs["pool_slots"] = t.PoolSlots
		attrs["priority_weight"] = t.PriorityWeight
		attrs["trigger_rule"] = string(t.TriggerRule)
		attrs["doc_md"] = t.DocMD
		attrs["params"] = pyValue(mapOrEmpty(t.Params))
		attrs["upstream_task_ids"] = stringsToAny(t.Upstream)
		attrs["downstream_task_ids"] = stringsToAny(t.Downstream)
		attrs["owner"] = t.Owner
		attrs["doc"] = t.Doc
		// The operator's arguments, as Airflow's operator attributes
		// (task.bash_command; op_args/op_kwargs for a task function), so
		// that map_index_template can name a mapped task instance's values.
		for k, v := range t.Config {
			name := k
			if t.Operator == dags.OperatorTask && (k == "args" || k == "kwargs") {
				name = "op_" + k
			}
			if _, taken := attrs[name]; taken {
				continue
			}
			switch v.(type) {
			case string, bool, int, int64, float64, []any, map[string]any:
				attrs[name] = pyValue(v)
			}
		}
	}
	return &object{repr: fmt.Sprintf("<Task(%s): %s>", kind, taskID), attrs: attrs}
}

func timeOrNone(t time.Time) any {
	if t.IsZero() {
		return None
	}
	return dateTime{t.UTC()}
}

func mapOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func stringsToAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

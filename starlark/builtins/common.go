package builtins

import (
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// commonNames are the keywords every task takes besides task_id, in the
// order of commonArgs.vals. They are also the keys default_args may hold.
var commonNames = [...]string{
	"retries",
	"retry_delay",
	"retry_exponential_backoff",
	"max_retry_delay",
	"execution_timeout",
	"trigger_rule",
	"pool",
	"pool_slots",
	"priority_weight",
	"weight_rule",
	"queue",
	"depends_on_past",
	"params",
	"doc_md",
	"on_success_callback",
	"on_failure_callback",
	"on_retry_callback",
	"max_active_tis_per_dag",
	"max_active_tis_per_dagrun",
	"sla",
	"owner",
	"email",
	"email_on_failure",
	"email_on_retry",
	"do_xcom_push",
	"multiple_outputs",
	"on_execute_callback",
	"on_skipped_callback",
	"wait_for_downstream",
	"map_index_template",
	"start_date",
	"end_date",
	"doc",
	"task_display_name",
}

// taskOnlyNames are keywords every task takes that default_args may not
// hold: they describe one task, not a family of them.
var taskOnlyNames = [...]string{"outlets", "inlets"}

// commonArgs holds the values given for the common keywords; nil means
// not given. A later layer (group default_args, then the call itself)
// overrides an earlier one (DAG default_args).
type commonArgs struct {
	vals [len(commonNames)]starlark.Value
	// outlets and inlets are the task-only keywords.
	outlets starlark.Value
	inlets  starlark.Value
}

// commonOptional are commonNames marked optional for UnpackArgs ("retries?"),
// built once rather than on every task call.
var commonOptional = func() (out [len(commonNames)]string) {
	for i, n := range commonNames {
		out[i] = n + "?"
	}
	return out
}()

// pairs returns the UnpackArgs pairs of the common keywords, all optional.
func (c *commonArgs) pairs() []any {
	out := make([]any, 0, 2*len(commonNames)+2)
	for i, n := range commonOptional {
		out = append(out, n, &c.vals[i])
	}
	return append(out, "outlets?", &c.outlets, "inlets?", &c.inlets)
}

// over returns c with the values given in top replacing its own.
func (c commonArgs) over(top *commonArgs) commonArgs {
	for i, v := range top.vals {
		if v != nil {
			c.vals[i] = v
		}
	}
	if top.outlets != nil {
		c.outlets = top.outlets
	}
	if top.inlets != nil {
		c.inlets = top.inlets
	}
	return c
}

// defaultArgsOf reads a default_args dict into commonArgs; an unknown key
// is an error with a hint.
func defaultArgsOf(fnName string, d *starlark.Dict, d0 *dags.DAG) (commonArgs, error) {
	var c commonArgs
	if d == nil {
		return c, nil
	}
	known := commonNames[:]
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return c, fmt.Errorf("%s: default_args keys must be strings, got %s", fnName, item[0].Type())
		}
		i := indexOf(known, string(k))
		if indexOf(taskOnlyNames[:], string(k)) >= 0 {
			return c, fmt.Errorf("%s: %s cannot be in default_args: pass it to the task that updates or reads the datasets", fnName, string(k))
		}
		if i < 0 {
			return c, unknownName(fmt.Sprintf("%s: unknown key %q in default_args", fnName, string(k)), string(k), known)
		}
		c.vals[i] = item[1]
	}
	// Check the values now, so a bad one is reported at this call.
	scratch := dags.NewTask("default_args", dags.OperatorEmpty, dags.Pos{})
	if err := c.apply(fnName+": default_args", scratch, d0, nil); err != nil {
		return c, err
	}
	return c, nil
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if x == y {
			return i
		}
	}
	return -1
}

// apply sets the common settings of t, a task of DAG d (nil while
// default_args are checked), from c. what prefixes errors ("bash" or
// "dag: default_args"). register, when not nil, records a callback under
// its key.
func (c *commonArgs) apply(what string, t *dags.Task, d *dags.DAG, register func(key string, fn starlark.Callable)) error {
	def := dags.NewTask(t.ID, t.Operator, t.Pos)
	for i, v := range c.vals {
		if v == nil {
			continue
		}
		name := commonNames[i]
		if err := applyOne(t, def, d, name, v, register); err != nil {
			return fmt.Errorf("%s: for parameter %s: %w", what, name, err)
		}
	}
	if c.outlets != nil && c.outlets != starlark.None {
		uris, err := datasetsOf(c.outlets)
		if err != nil {
			return fmt.Errorf("%s: for parameter outlets: %w", what, err)
		}
		t.Outlets = uris
	}
	if c.inlets != nil && c.inlets != starlark.None {
		uris, err := datasetsOf(c.inlets)
		if err != nil {
			return fmt.Errorf("%s: for parameter inlets: %w", what, err)
		}
		t.Inlets = uris
	}
	return nil
}

// applyOne sets one common setting of t, a task of DAG d (or nil); None
// restores the default.
func applyOne(t, def *dags.Task, d *dags.DAG, name string, v starlark.Value, register func(string, starlark.Callable)) error {
	none := v == starlark.None
	dagID, loc := "", time.UTC
	if d != nil {
		dagID, loc = d.ID, d.Timezone
	}
	var err error
	switch name {
	case "retries":
		if none {
			t.Retries = def.Retries
			return nil
		}
		t.Retries, err = intOf(v)
	case "retry_delay":
		if none {
			t.RetryDelay, t.RetryDelaySet = def.RetryDelay, false
			return nil
		}
		t.RetryDelay, err = durationOf(v)
		t.RetryDelaySet = err == nil
	case "retry_exponential_backoff":
		t.RetryExponentialBackoff, err = backoffOf(v)
	case "max_retry_delay":
		if none {
			t.MaxRetryDelay = 0
			return nil
		}
		t.MaxRetryDelay, err = durationOf(v)
	case "execution_timeout":
		if none {
			t.ExecutionTimeout = 0
			return nil
		}
		t.ExecutionTimeout, err = durationOf(v)
	case "trigger_rule":
		if none {
			t.TriggerRule = def.TriggerRule
			return nil
		}
		var s string
		if s, err = stringOf(v); err == nil {
			if _, perr := dags.ParseTriggerRule(s); perr != nil {
				names := make([]string, len(dags.AllTriggerRules))
				for i, r := range dags.AllTriggerRules {
					names[i] = string(r)
				}
				return unknownName(fmt.Sprintf("unknown trigger rule %q", s), s, names)
			}
			t.TriggerRule = dags.TriggerRule(s)
		}
	case "pool":
		if none {
			t.Pool = def.Pool
			return nil
		}
		if t.Pool, err = stringOf(v); err == nil && t.Pool == "" {
			err = fmt.Errorf("pool must not be empty")
		}
	case "max_active_tis_per_dag", "max_active_tis_per_dagrun":
		n := 0
		if !none {
			if n, err = intOf(v); err == nil && n < 0 {
				err = fmt.Errorf("must be 0 (no limit) or more, got %d", n)
			}
		}
		if name == "max_active_tis_per_dag" {
			t.MaxActiveTIsPerDag = n
		} else {
			t.MaxActiveTIsPerDagrun = n
		}
	case "pool_slots":
		if none {
			t.PoolSlots = def.PoolSlots
			return nil
		}
		t.PoolSlots, err = intOf(v)
	case "priority_weight":
		if none {
			t.PriorityWeight = def.PriorityWeight
			return nil
		}
		t.PriorityWeight, err = intOf(v)
	case "weight_rule":
		if none {
			t.WeightRule = def.WeightRule
			return nil
		}
		var s string
		if s, err = stringOf(v); err == nil {
			if _, perr := dags.ParseWeightRule(s); perr != nil {
				return unknownName(fmt.Sprintf("unknown weight rule %q", s), s, []string{"absolute", "downstream", "upstream"})
			}
			t.WeightRule = dags.WeightRule(s)
		}
	case "queue":
		if none {
			t.Queue = def.Queue
			return nil
		}
		t.Queue, err = stringOf(v)
	case "depends_on_past":
		if none {
			t.DependsOnPast = false
			return nil
		}
		t.DependsOnPast, err = boolOf(v)
	case "params":
		if none {
			t.Params, t.ParamSpecs = nil, nil
			return nil
		}
		t.Params, t.ParamSpecs, err = paramsOf(v)
	case "doc_md":
		if none {
			t.DocMD = ""
			return nil
		}
		t.DocMD, err = stringOf(v)
	case "on_success_callback", "on_failure_callback", "on_retry_callback", "on_execute_callback", "on_skipped_callback":
		var items []callbackItem
		if items, err = callbacksOf(v); err != nil {
			return err
		}
		cbs := modelCallbacks(items, callbackKey(dagID, t, name), register)
		switch name {
		case "on_success_callback":
			t.Callbacks.OnSuccess = cbs
		case "on_failure_callback":
			t.Callbacks.OnFailure = cbs
		case "on_execute_callback":
			t.Callbacks.OnExecute = cbs
		case "on_skipped_callback":
			t.Callbacks.OnSkipped = cbs
		default:
			t.Callbacks.OnRetry = cbs
		}
	case "owner":
		if none {
			t.Owner = def.Owner
			return nil
		}
		if t.Owner, err = stringOf(v); err == nil && t.Owner == "" {
			err = fmt.Errorf("owner must not be empty")
		}
	case "email":
		t.Email, err = emailsOf(v)
	case "email_on_failure":
		if none {
			t.EmailOnFailure = def.EmailOnFailure
			return nil
		}
		t.EmailOnFailure, err = boolOf(v)
	case "email_on_retry":
		if none {
			t.EmailOnRetry = def.EmailOnRetry
			return nil
		}
		t.EmailOnRetry, err = boolOf(v)
	case "do_xcom_push":
		if none {
			t.DoXComPush = def.DoXComPush
			return nil
		}
		t.DoXComPush, err = boolOf(v)
	case "multiple_outputs":
		if none {
			t.MultipleOutputs = false
			return nil
		}
		t.MultipleOutputs, err = boolOf(v)
	case "wait_for_downstream":
		if none {
			t.WaitForDownstream = false
			return nil
		}
		if t.WaitForDownstream, err = boolOf(v); err == nil && t.WaitForDownstream {
			t.DependsOnPast = true // as Airflow: wait_for_downstream implies depends_on_past
		}
	case "map_index_template":
		if none {
			t.MapIndexTemplate = ""
			return nil
		}
		t.MapIndexTemplate, err = stringOf(v)
	case "start_date", "end_date":
		var at time.Time
		if !none {
			if at, err = dateOf(v, loc); err != nil {
				return err
			}
		}
		if name == "start_date" {
			t.StartDate = at
		} else {
			t.EndDate = at
		}
		if !t.StartDate.IsZero() && !t.EndDate.IsZero() && t.StartDate.After(t.EndDate) {
			return fmt.Errorf("start_date %s is after end_date %s", t.StartDate.Format(time.RFC3339), t.EndDate.Format(time.RFC3339))
		}
	case "doc":
		if none {
			t.Doc = ""
			return nil
		}
		t.Doc, err = stringOf(v)
	case "task_display_name":
		if none {
			t.DisplayName = ""
			return nil
		}
		t.DisplayName, err = stringOf(v)
	case "sla":
		if none {
			t.SLA = 0
			return nil
		}
		t.SLA, err = durationOf(v)
	}
	return err
}

// callbackKey is the function key of a task callback:
// "<dag_id>/<task_id>:on_failure_callback".
func callbackKey(dagID string, t *dags.Task, name string) string {
	return dagID + "/" + t.ID + ":" + name
}

// backoffOf reads retry_exponential_backoff: False (off), True (factor
// 2.0) or a factor of at least 1.
func backoffOf(v starlark.Value) (float64, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return 0, nil
	case starlark.Bool:
		if v {
			return 2.0, nil
		}
		return 0, nil
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		if f < 1 {
			return 0, fmt.Errorf("the back-off factor must be at least 1, got %s", v)
		}
		return f, nil
	}
	return 0, fmt.Errorf("got %s, want bool or a factor such as 2.0", v.Type())
}

// emailsOf reads email: None, an address, several separated by commas or
// semicolons (as Airflow's get_email_address_list splits them), or a list
// of addresses.
func emailsOf(v starlark.Value) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		raw = strings.FieldsFunc(string(x), func(r rune) bool { return r == ',' || r == ';' })
	default:
		elems, ok := asList(v)
		if !ok {
			return nil, fmt.Errorf("got %s, want an address, a list of addresses or None", v.Type())
		}
		for i, e := range elems {
			s, ok := e.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("item %d: got %s, want string", i, e.Type())
			}
			raw = append(raw, string(s))
		}
	}
	var out []string
	for _, r := range raw {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if strings.ContainsAny(r, "\r\n<> ") || !strings.Contains(r, "@") {
			return nil, fmt.Errorf("%q is not an email address", r)
		}
		out = append(out, r)
	}
	return out, nil
}

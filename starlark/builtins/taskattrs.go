package builtins

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// Setting a task's attributes after creating it, as Airflow users write
// `t.doc_md = "..."` or `t.trigger_rule = "all_done"`: every keyword every
// task takes (commonNames) can be set this way while the DAG's build
// function runs, checked exactly as the keyword is.

var _ starlark.HasSetField = (*Task)(nil)

// SetField sets a common task keyword on the task. An unknown name is a
// starlark.NoSuchAttrError, which Starlark completes with a "did you mean"
// among AttrNames.
func (t *Task) SetField(name string, v starlark.Value) error {
	if !slices.Contains(commonNames[:], name) && !slices.Contains(taskOnlyNames[:], name) {
		if slices.Contains(t.AttrNames(), name) {
			return fmt.Errorf("task: %s cannot be set", name)
		}
		return starlark.NoSuchAttrError(fmt.Sprintf("task has no settable attribute %s", name))
	}
	what := "task." + name
	if err := t.checkOpen(what); err != nil {
		return fmt.Errorf("cannot set %s: DAG %q is already built; set it inside its build function", what, t.builder.dag.ID)
	}
	var c commonArgs
	if i := indexOf(commonNames[:], name); i >= 0 {
		c.vals[i] = v
	} else {
		c.outlets = v
	}
	b := t.builder
	register := func(key string, fn starlark.Callable) { b.session.register(b, key, fn) }
	// Apply to a copy first, so that a bad value leaves the task as it was.
	cp := *t.task
	if err := c.apply(what, &cp, b.dag, register); err != nil {
		return err
	}
	*t.task = cp
	return nil
}

// commonAttr returns the value of a common keyword of t, or nil for one
// that cannot be read back (callbacks, params, outlets).
func commonAttr(t *dags.Task, name string) starlark.Value {
	switch name {
	case "retries":
		return starlark.MakeInt(t.Retries)
	case "retry_delay":
		return Duration(t.RetryDelay)
	case "retry_exponential_backoff":
		return starlark.Bool(t.RetryExponentialBackoff > 0)
	case "max_retry_delay":
		return durationOrNone(t.MaxRetryDelay)
	case "execution_timeout":
		return durationOrNone(t.ExecutionTimeout)
	case "sla":
		return durationOrNone(t.SLA)
	case "trigger_rule":
		return starlark.String(t.TriggerRule)
	case "pool":
		return starlark.String(t.Pool)
	case "pool_slots":
		return starlark.MakeInt(t.PoolSlots)
	case "priority_weight":
		return starlark.MakeInt(t.PriorityWeight)
	case "weight_rule":
		return starlark.String(t.WeightRule)
	case "queue":
		return starlark.String(t.Queue)
	case "depends_on_past":
		return starlark.Bool(t.DependsOnPast)
	case "doc_md":
		return starlark.String(t.DocMD)
	case "doc":
		return starlark.String(t.Doc)
	case "task_display_name":
		return starlark.String(t.Label())
	case "owner":
		return starlark.String(t.Owner)
	case "email":
		out := make([]starlark.Value, len(t.Email))
		for i, e := range t.Email {
			out[i] = starlark.String(e)
		}
		return starlark.NewList(out)
	case "email_on_failure":
		return starlark.Bool(t.EmailOnFailure)
	case "email_on_retry":
		return starlark.Bool(t.EmailOnRetry)
	case "do_xcom_push":
		return starlark.Bool(t.DoXComPush)
	case "multiple_outputs":
		return starlark.Bool(t.MultipleOutputs)
	case "wait_for_downstream":
		return starlark.Bool(t.WaitForDownstream)
	case "map_index_template":
		if t.MapIndexTemplate == "" {
			return starlark.None
		}
		return starlark.String(t.MapIndexTemplate)
	case "max_active_tis_per_dag":
		return intOrNone(t.MaxActiveTIsPerDag)
	case "max_active_tis_per_dagrun":
		return intOrNone(t.MaxActiveTIsPerDagrun)
	case "start_date", "end_date":
		at := t.StartDate
		if name == "end_date" {
			at = t.EndDate
		}
		if at.IsZero() {
			return starlark.None
		}
		return starlark.String(at.Format("2006-01-02T15:04:05Z07:00"))
	}
	return nil
}

func durationOrNone(d time.Duration) starlark.Value {
	if d == 0 {
		return starlark.None
	}
	return Duration(d)
}

func intOrNone(n int) starlark.Value {
	if n == 0 {
		return starlark.None
	}
	return starlark.MakeInt(n)
}

// readableCommonNames are the common keywords commonAttr reads back,
// sorted.
func readableCommonNames() []string {
	probe := dags.NewTask("probe", dags.OperatorEmpty, dags.Pos{})
	var out []string
	for _, n := range commonNames {
		if commonAttr(probe, n) != nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

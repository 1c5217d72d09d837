package sensors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// ExternalTaskKind is the operator kind of external task sensors.
const ExternalTaskKind = "external_task_sensor"

// ExternalTaskSensor waits for a task of another DAG (or that DAG's whole
// run, or every task of one of its task groups) with the same logical
// date, or the one execution_delta earlier, to reach one of
// allowed_states, as Airflow's ExternalTaskSensor. A state in
// failed_states fails the sensor at once without retrying (skipped with
// soft_fail), one in skipped_states skips it. A task group that has no
// task instance (it does not exist, or that run does not) is waited for,
// as in Airflow.
type ExternalTaskSensor struct{ Base }

var (
	_ operators.Operator  = (*ExternalTaskSensor)(nil)
	_ operators.Specified = (*ExternalTaskSensor)(nil)
)

// Spec describes the arguments of external task sensors.
func (*ExternalTaskSensor) Spec() operators.Spec {
	return newSpec(ExternalTaskKind, "Waits for a task of another DAG, or its whole run, to reach a state.", 2,
		operators.Param{Name: "external_dag_id", Type: operators.ParamString, Required: true, Templated: true,
			Doc: "the other DAG's id"},
		operators.Param{Name: "external_task_id", Type: operators.ParamString, Templated: true,
			Doc: "the other DAG's task; None waits for its whole run"},
		operators.Param{Name: "external_task_group_id", Type: operators.ParamString, Templated: true,
			Doc: "a task group of the other DAG: waits until every task of it is in allowed_states (instead of external_task_id)"},
		operators.Param{Name: "allowed_states", Type: operators.ParamList, Default: []any{string(dags.TaskStateSuccess)},
			Doc: "the states that end the wait successfully"},
		operators.Param{Name: "failed_states", Type: operators.ParamList, Default: []any{string(dags.TaskStateFailed)},
			Doc: "the states that fail the sensor at once, without retrying"},
		operators.Param{Name: "skipped_states", Type: operators.ParamList, Default: []any{},
			Doc: "the states that skip the sensor"},
		operators.Param{Name: "execution_delta", Type: operators.ParamDuration,
			Doc: "look at the other DAG's run this long before this run's logical date"},
	)
}

// Execute pokes the other DAG's task instance until it reaches a state
// of allowed_states, failed_states or skipped_states.
func (s *ExternalTaskSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	dagID, taskID, groupID := a.String("external_dag_id"), a.String("external_task_id"), a.String("external_task_group_id")
	if dagID == "" {
		return nil, operators.Fail(errors.New("external_task_sensor: external_dag_id is empty"))
	}
	if taskID != "" && groupID != "" {
		return nil, operators.Fail(errors.New("external_task_sensor: give external_task_id or external_task_group_id, not both"))
	}
	var lists [3][]dags.TaskState
	for i, name := range []string{"allowed_states", "failed_states", "skipped_states"} {
		if lists[i], err = states(name, a.List(name)); err != nil {
			return nil, operators.Fail(fmt.Errorf("external_task_sensor: %w", err))
		}
	}
	allowed, failed, skipped := lists[0], lists[1], lists[2]
	for _, st := range allowed {
		if slices.Contains(failed, st) || slices.Contains(skipped, st) {
			return nil, operators.Fail(fmt.Errorf("external_task_sensor: state %s is in allowed_states and in failed_states or skipped_states", st))
		}
	}
	if c.DagRuns == nil {
		return nil, operators.Fail(errors.New("external_task_sensor: no access to other DAGs' runs here"))
	}
	logical := c.Run.LogicalDate.Add(-a.Duration("execution_delta"))
	what := dagID + "." + taskID
	switch {
	case groupID != "":
		what = "task group " + groupID + " of " + dagID
	case taskID == "":
		what = "the run of " + dagID
	}
	what += " on " + logical.UTC().Format("2006-01-02T15:04:05Z07:00")
	if groupID != "" {
		return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
			sts, err := c.DagRuns.GroupStates(ctx, dagID, groupID, logical)
			if err != nil {
				return false, fmt.Errorf("external_task_sensor: %s: %w", what, err)
			}
			return pokeGroup(c, what, sts, allowed, failed, skipped)
		})
	}
	return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		st, found, err := c.DagRuns.TaskState(ctx, dagID, taskID, logical)
		if err != nil {
			return false, fmt.Errorf("external_task_sensor: %s: %w", what, err)
		}
		switch {
		case !found:
			c.Logf("Poking for %s: not there yet", what)
			return false, nil
		case slices.Contains(allowed, st):
			c.Logf("Poking for %s: %s: done", what, st)
			return true, nil
		case slices.Contains(failed, st):
			c.Logf("Poking for %s: %s", what, st)
			return false, operators.Fail(fmt.Errorf("external_task_sensor: %s is %s, one of failed_states", what, st))
		case slices.Contains(skipped, st):
			c.Logf("Poking for %s: %s", what, st)
			return false, skip("%s is %s, one of skipped_states", what, st)
		}
		c.Logf("Poking for %s: %s: not yet", what, st)
		return false, nil
	})
}

// pokeGroup judges the states of a task group's task instances as
// Airflow does: any in failed_states fails the sensor, then any in
// skipped_states skips it; it is done when there are some and all are in
// allowed_states.
func pokeGroup(c *operators.Call, what string, sts []dags.TaskState, allowed, failed, skipped []dags.TaskState) (bool, error) {
	if len(sts) == 0 {
		c.Logf("Poking for %s: no task instances yet", what)
		return false, nil
	}
	done := 0
	for _, st := range sts {
		switch {
		case slices.Contains(failed, st):
			c.Logf("Poking for %s: a task is %s", what, st)
			return false, operators.Fail(fmt.Errorf("external_task_sensor: %s failed: a task is %s, one of failed_states", what, st))
		case slices.Contains(skipped, st):
			c.Logf("Poking for %s: a task is %s", what, st)
			return false, skip("%s: a task is %s, one of skipped_states", what, st)
		case slices.Contains(allowed, st):
			done++
		}
	}
	c.Logf("Poking for %s: %d of %d tasks in allowed_states", what, done, len(sts))
	return done == len(sts), nil
}

// states reads a list of state names.
func states(name string, l []any) ([]dags.TaskState, error) {
	out := make([]dags.TaskState, 0, len(l))
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: got %T, want a state name", name, i, v)
		}
		st := dags.TaskState(s)
		if !st.Valid() {
			known := make([]string, 0, len(dags.AllTaskStates))
			for _, k := range dags.AllTaskStates {
				known = append(known, string(k))
			}
			return nil, fmt.Errorf("%s[%d]: unknown state %q (known: %s)", name, i, s, strings.Join(known, ", "))
		}
		out = append(out, st)
	}
	return out, nil
}

package branch

import (
	"context"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
)

// KindDayOfWeek is the operator kind of branch_day_of_week tasks.
const KindDayOfWeek = "branch_day_of_week"

// DayOfWeek runs a branch_day_of_week task, Airflow's
// BranchDayOfWeekOperator. The zero value uses the real clock.
type DayOfWeek struct {
	// Now returns the current time; nil means time.Now.
	Now Clock
}

var (
	_ operators.Operator  = (*DayOfWeek)(nil)
	_ operators.Specified = (*DayOfWeek)(nil)
)

// Spec describes branch_day_of_week's arguments, Airflow's names.
func (*DayOfWeek) Spec() operators.Spec {
	sp := operators.Spec{Kind: KindDayOfWeek,
		Doc: "Follows one set of downstream tasks on the given days of the week, another on the other days.",
		Params: append(followParams("the day is one of week_day"),
			operators.Param{Name: "week_day", Type: operators.ParamStringOrList, Required: true,
				Doc: `a day name ("Monday", any case) or a list of them`},
			operators.Param{Name: "use_task_logical_date", Type: operators.ParamBool, Default: false,
				Doc: "check the run's logical date (UTC) instead of today in the DAG's timezone"},
		)}
	sp.Check = func(config map[string]any) error {
		names, ok := stringsOf(config["week_day"])
		if !ok {
			return nil // an XCom reference: checked when the task runs
		}
		_, err := sensors.ParseWeekDays(names)
		return err
	}
	return sp
}

// Clock returns the current time; a nil Clock is the real one.
type Clock func() time.Time

// Now returns the current time.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// followParams are the follow_task_ids_if_true/false arguments of a
// branch on a condition, Airflow's names; when says when the first is
// followed.
func followParams(when string) []operators.Param {
	return []operators.Param{
		{Name: "follow_task_ids_if_true", Type: operators.ParamStringOrList, Required: true,
			Doc: "the task or group id(s) followed when " + when},
		{Name: "follow_task_ids_if_false", Type: operators.ParamStringOrList, Required: true,
			Doc: "the task or group id(s) followed otherwise"},
	}
}

// conditionArgs reads the arguments of a branch on a condition.
func conditionArgs(c *operators.Call, spec operators.Spec) (*operators.Args, error) {
	if c.Task == nil || c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("%s: the call has no task or DAG", spec.Kind))
	}
	a, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, operators.Fail(err)
	}
	return a, nil
}

// follow ends a branch on a condition: follow_task_ids_if_true when cond
// holds, else follow_task_ids_if_false; the other direct downstream tasks
// are skipped and the task succeeds. why states the condition tested.
func follow(c *operators.Call, a *operators.Args, cond bool, why string) (*operators.Result, error) {
	chosen := a.Strings("follow_task_ids_if_false")
	if cond {
		chosen = a.Strings("follow_task_ids_if_true")
	}
	skip, err := c.DAG.BranchSkips(c.Task.ID, chosen)
	if err != nil {
		return nil, operators.Fail(err)
	}
	res := operators.Success(nil)
	res.Skip = skip
	res.Message = fmt.Sprintf("%s: %v; following %s; skipping %s", why, cond, list(chosen), list(skip))
	return res, nil
}

// stringsOf reads a string or a list of strings.
func stringsOf(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// Execute decides as Airflow's BranchDayOfWeekOperator.choose_branch: the
// day is the run's logical date's with use_task_logical_date, else
// today's in the DAG's timezone; when it is one of week_day the task
// follows follow_task_ids_if_true, else follow_task_ids_if_false, and the
// other direct downstream tasks are skipped. The task itself succeeds.
func (o *DayOfWeek) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := conditionArgs(c, o.Spec())
	if err != nil {
		return nil, err
	}
	days, err := sensors.ParseWeekDays(a.Strings("week_day"))
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("%s: %w", KindDayOfWeek, err))
	}
	var day time.Weekday
	if a.Bool("use_task_logical_date") {
		day = c.Run.LogicalDate.UTC().Weekday()
		c.Logf("The logical date %s is a %s", c.Run.LogicalDate.UTC().Format(time.RFC3339), day)
	} else {
		now := o.Now.Now()
		loc := c.DAG.Timezone
		if loc == nil {
			loc = time.UTC
		}
		day = now.In(loc).Weekday()
		c.Logf("Today (%s) is a %s", now.In(loc).Format(time.RFC3339), day)
	}
	return follow(c, a, days[day], fmt.Sprintf("%s is in %v", day, a.Strings("week_day")))
}

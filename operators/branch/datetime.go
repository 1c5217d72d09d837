package branch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
)

// KindDateTime is the operator kind of branch_datetime tasks.
const KindDateTime = "branch_datetime"

// DateTime runs a branch_datetime task, Airflow's BranchDateTimeOperator.
// The zero value uses the real clock.
type DateTime struct {
	// Now returns the current time; nil means time.Now.
	Now Clock
}

var (
	_ operators.Operator  = (*DateTime)(nil)
	_ operators.Specified = (*DateTime)(nil)
)

// Spec describes branch_datetime's arguments, Airflow's names.
func (*DateTime) Spec() operators.Spec {
	sp := operators.Spec{Kind: KindDateTime,
		Doc: "Follows one set of downstream tasks when the time is between target_lower and target_upper, another otherwise.",
		Params: append(followParams("the time is in the range"),
			operators.Param{Name: "target_lower", Type: operators.ParamString,
				Doc: `the range's start: a time of day ("14:00") or a date and time ("2020-10-10 14:00", wall clock in the DAG's timezone, or RFC 3339)`},
			operators.Param{Name: "target_upper", Type: operators.ParamString,
				Doc: "the range's end, written as target_lower; a time of day before target_lower's is on the next day"},
			operators.Param{Name: "use_task_logical_date", Type: operators.ParamBool, Default: false,
				Doc: "compare the run's logical date instead of the current time"},
		)}
	sp.Check = func(config map[string]any) error {
		lower, lok := config["target_lower"].(string)
		upper, uok := config["target_upper"].(string)
		if config["target_lower"] == nil && config["target_upper"] == nil {
			return errors.New("both target_upper and target_lower are None; at least one must be given")
		}
		for _, s := range []struct {
			ok  bool
			val string
		}{{lok, lower}, {uok, upper}} {
			if s.ok {
				if _, err := parseTarget(s.val, time.UTC); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return sp
}

// target is a bound of branch_datetime: a time of day, or an instant.
type target struct {
	set     bool
	ofDay   bool
	sinceMD time.Duration // a time of day, from midnight
	at      time.Time     // an instant
}

// parseTarget reads a bound: "HH:MM[:SS]" or a date ParseDate reads
// (wall-clock times in loc).
func parseTarget(s string, loc *time.Location) (target, error) {
	if d, err := sensors.ParseTimeOfDay(s); err == nil {
		return target{set: true, ofDay: true, sinceMD: d}, nil
	}
	t, err := dags.ParseDate(s, loc)
	if err != nil {
		return target{}, fmt.Errorf("%s: %q is neither a time of day (\"14:00\") nor a date and time: %w", KindDateTime, s, err)
	}
	return target{set: true, at: t}, nil
}

// inRange decides as Airflow's choose_branch and target_times_as_dates: a
// time of day is put on now's date (in now's own timezone, UTC for the
// logical date and the clock) as a wall-clock time of loc; when both are
// set and the upper bound falls before the lower, it moves a day later.
// now is in the range unless it is after upper or before lower.
func inRange(now time.Time, lower, upper target, loc *time.Location) bool {
	onDay := func(b target) time.Time {
		if !b.ofDay {
			return b.at
		}
		y, m, d := now.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(b.sinceMD)
	}
	lo, up := onDay(lower), onDay(upper)
	if lower.set && upper.set && (lower.ofDay || upper.ofDay) && up.Before(lo) {
		up = up.AddDate(0, 0, 1)
	}
	if upper.set && up.Before(now) {
		return false
	}
	if lower.set && lo.After(now) {
		return false
	}
	return true
}

// Execute follows follow_task_ids_if_true when the time (the run's
// logical date with use_task_logical_date, else now) is in the range, else
// follow_task_ids_if_false; the other direct downstream tasks are skipped.
func (o *DateTime) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := conditionArgs(c, o.Spec())
	if err != nil {
		return nil, err
	}
	loc := c.DAG.Timezone
	if loc == nil {
		loc = time.UTC
	}
	var lower, upper target
	if a.Has("target_lower") {
		if lower, err = parseTarget(a.String("target_lower"), loc); err != nil {
			return nil, operators.Fail(err)
		}
	}
	if a.Has("target_upper") {
		if upper, err = parseTarget(a.String("target_upper"), loc); err != nil {
			return nil, operators.Fail(err)
		}
	}
	if !lower.set && !upper.set {
		return nil, operators.Fail(fmt.Errorf("%s: both target_upper and target_lower are None; at least one must be given", KindDateTime))
	}
	now := o.Now.Now()
	if a.Bool("use_task_logical_date") {
		now = c.Run.LogicalDate
	}
	now = now.UTC()
	return follow(c, a, inRange(now, lower, upper, loc), fmt.Sprintf("%s is in [%s, %s]", now.Format(time.RFC3339),
		a.String("target_lower"), a.String("target_upper")))
}

package sensors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Operator kinds of the python and day-of-week sensors.
const (
	PythonKind    = "python_sensor"
	DayOfWeekKind = "day_of_week_sensor"
)

// PokeReturnValueKey marks the dict PokeReturnValue(is_done, xcom_value)
// makes in a DAG file, so that a python_sensor's function can say both
// whether it is done and what to push as its XCom.
const PokeReturnValueKey = "__poke_return_value__"

// PythonSensor calls a Starlark function until it returns a truthy value,
// as Airflow's PythonSensor. The function may also return
// PokeReturnValue(is_done, xcom_value): the sensor is done when is_done
// is, and xcom_value is then its return value.
type PythonSensor struct{ Base }

var (
	_ operators.Operator  = (*PythonSensor)(nil)
	_ operators.Specified = (*PythonSensor)(nil)
)

// Spec describes the arguments of python sensors.
func (*PythonSensor) Spec() operators.Spec {
	return newSpec(PythonKind, "Calls a function until it returns a truthy value (or PokeReturnValue(is_done = True)).", 1,
		operators.Param{Name: "python_callable", Type: operators.ParamFunction, Required: true,
			Doc: "the function poked; a first parameter named ctx receives the task context"},
		operators.Param{Name: "op_args", Type: operators.ParamList, Templated: true,
			Doc: "positional arguments of the function; strings in it are templates"},
		operators.Param{Name: "op_kwargs", Type: operators.ParamDict, Templated: true,
			Doc: "keyword arguments of the function; strings in it are templates"})
}

// Execute pokes the function.
func (s *PythonSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	if c.Functions == nil {
		return nil, operators.Fail(errors.New("python_sensor: no function runner"))
	}
	fn := a.String("python_callable")
	var xcom any
	res, err := s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		v, err := c.Functions.CallFunction(ctx, c, fn, a.List("op_args"), a.Dict("op_kwargs"))
		if err != nil {
			return false, fmt.Errorf("python_sensor: %w", err)
		}
		done := operators.Truthy(v)
		if m, ok := v.(map[string]any); ok && m[PokeReturnValueKey] == true {
			done = operators.Truthy(m["is_done"])
			xcom = m["xcom_value"]
		}
		if !done {
			c.Logf("Poking callable: returned %s: not yet", operators.PyRepr(v))
		}
		return done, nil
	})
	if err == nil && res != nil && res.RescheduleAt.IsZero() && res.State == dags.TaskStateSuccess {
		res.ReturnValue = xcom
	}
	return res, err
}

// DayOfWeekSensor waits until a day of the week, as Airflow's
// DayOfWeekSensor: today's day in UTC, or the run's logical date's with
// use_task_logical_date.
type DayOfWeekSensor struct{ Base }

var (
	_ operators.Operator  = (*DayOfWeekSensor)(nil)
	_ operators.Specified = (*DayOfWeekSensor)(nil)
)

// Spec describes the arguments of day-of-week sensors.
func (*DayOfWeekSensor) Spec() operators.Spec {
	sp := newSpec(DayOfWeekKind, "Waits until a day of the week.", 0,
		operators.Param{Name: "week_day", Type: operators.ParamStringOrList, Required: true,
			Doc: `a day name ("Monday", any case) or a list of them`},
		operators.Param{Name: "use_task_logical_date", Type: operators.ParamBool, Default: false,
			Doc: "check the run's logical date instead of today (UTC); then the sensor is done at once or never"})
	sp.Check = func(config map[string]any) error {
		var names []string
		switch v := config["week_day"].(type) {
		case string:
			names = []string{v}
		case []any:
			for _, e := range v {
				s, _ := e.(string)
				names = append(names, s)
			}
		}
		_, err := ParseWeekDays(names)
		return err
	}
	return sp
}

// weekDays maps Airflow's WeekDay names to Go's weekdays.
var weekDays = map[string]time.Weekday{
	"MONDAY": time.Monday, "TUESDAY": time.Tuesday, "WEDNESDAY": time.Wednesday, "THURSDAY": time.Thursday,
	"FRIDAY": time.Friday, "SATURDAY": time.Saturday, "SUNDAY": time.Sunday,
}

// ParseWeekDays reads week_day: a day name in any case, or a list of
// them. An unknown name is an error naming it, as Airflow's "Invalid Week
// Day passed".
func ParseWeekDays(names []string) (map[time.Weekday]bool, error) {
	if len(names) == 0 {
		return nil, errors.New("week_day is empty")
	}
	out := map[time.Weekday]bool{}
	for _, n := range names {
		d, ok := weekDays[strings.ToUpper(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("invalid week day passed: %q (want Monday ... Sunday)", n)
		}
		out[d] = true
	}
	return out, nil
}

// Execute pokes until the day is one of week_day.
func (s *DayOfWeekSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	days, err := ParseWeekDays(a.Strings("week_day"))
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("day_of_week_sensor: %w", err))
	}
	useLogical := a.Bool("use_task_logical_date")
	return s.Run(ctx, c, a, func(context.Context) (bool, error) {
		day := s.now().UTC().Weekday()
		what := "today"
		if useLogical {
			day, what = c.Run.LogicalDate.UTC().Weekday(), "the logical date"
		}
		c.Logf("Poking until weekday is in %v: %s is %s", a.Strings("week_day"), what, day)
		return days[day], nil
	})
}

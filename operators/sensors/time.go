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

// Operator kinds of the time sensors.
const (
	TimeDeltaKind = "time_delta_sensor"
	DateTimeKind  = "date_time_sensor"
	TimeKind      = "time_sensor"
)

// TimeDeltaSensor waits until delta after the end of the run's data
// interval (its logical date when it has none), as Airflow's
// TimeDeltaSensor.
type TimeDeltaSensor struct{ Base }

// DateTimeSensor waits until target_time, as Airflow's DateTimeSensor.
type DateTimeSensor struct{ Base }

// TimeSensor waits until a time of day, as Airflow's TimeSensor (of the
// standard provider): target_time on the date of the run's
// data_interval_end, both in the DAG's timezone (today's date when the
// run has no data interval).
type TimeSensor struct{ Base }

var (
	_ operators.Operator  = (*TimeSensor)(nil)
	_ operators.Specified = (*TimeSensor)(nil)
	_ operators.Operator  = (*TimeDeltaSensor)(nil)
	_ operators.Specified = (*TimeDeltaSensor)(nil)
	_ operators.Operator  = (*DateTimeSensor)(nil)
	_ operators.Specified = (*DateTimeSensor)(nil)
)

// Spec describes the arguments of time delta sensors.
func (*TimeDeltaSensor) Spec() operators.Spec {
	return newSpec(TimeDeltaKind, "Waits until delta after the end of the run's data interval.", 1,
		operators.Param{Name: "delta", Type: operators.ParamDuration, Required: true,
			Doc: "how long after the end of the data interval to wait"})
}

// Execute pokes until data_interval_end + delta has come.
func (s *TimeDeltaSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	base := c.Run.DataIntervalEnd
	if base.IsZero() {
		base = c.Run.LogicalDate
	}
	return s.waitUntil(ctx, c, a, base.Add(a.Duration("delta")))
}

// Spec describes the arguments of date time sensors.
func (*DateTimeSensor) Spec() operators.Spec {
	return newSpec(DateTimeKind, "Waits until a date and time.", 1,
		operators.Param{Name: "target_time", Type: operators.ParamString, Required: true, Templated: true,
			Doc: `the time to wait for: "2024-01-01", "2024-01-01 06:00" (in the DAG's timezone) or RFC 3339; a template`})
}

// Execute pokes until target_time has come.
func (s *DateTimeSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	raw := strings.TrimSpace(a.String("target_time"))
	if raw == "" {
		return nil, operators.Fail(errors.New("date_time_sensor: target_time is empty"))
	}
	loc := time.UTC
	if c.DAG != nil && c.DAG.Timezone != nil {
		loc = c.DAG.Timezone
	}
	target, err := dags.ParseDate(raw, loc)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("date_time_sensor: target_time: %w", err))
	}
	return s.waitUntil(ctx, c, a, target)
}

// waitUntil pokes until the clock reads target or later.
func (b *Base) waitUntil(ctx context.Context, c *operators.Call, a *operators.Args, target time.Time) (*operators.Result, error) {
	shown := target.UTC().Format(time.RFC3339)
	return b.Run(ctx, c, a, func(context.Context) (bool, error) {
		now := b.now()
		if now.Before(target) {
			c.Logf("Poking for time %s: %s to go", shown, formatDur(target.Sub(now)))
			return false, nil
		}
		c.Logf("Poking for time %s: reached", shown)
		return true, nil
	})
}

// Spec describes the arguments of time sensors.
func (*TimeSensor) Spec() operators.Spec {
	sp := newSpec(TimeKind, "Waits until a time of day on the date of the run's data interval end.", 1,
		operators.Param{Name: "target_time", Type: operators.ParamString, Required: true,
			Doc: `the time of day, "HH:MM" or "HH:MM:SS", in the DAG's timezone`})
	sp.Check = func(config map[string]any) error {
		s, _ := config["target_time"].(string)
		_, err := ParseTimeOfDay(s)
		return err
	}
	return sp
}

// ParseTimeOfDay reads a time of day, "HH:MM" or "HH:MM:SS" (24-hour
// clock), as the offset from midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	for _, layout := range []string{"15:04:05", "15:04"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second, nil
		}
	}
	return 0, fmt.Errorf("target_time %q is not a time of day: want \"HH:MM\" or \"HH:MM:SS\" (24-hour clock)", s)
}

// Execute pokes until target_time has come on the day of the run's
// data_interval_end.
func (s *TimeSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	tod, err := ParseTimeOfDay(a.String("target_time"))
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("time_sensor: %w", err))
	}
	loc := time.UTC
	if c.DAG != nil && c.DAG.Timezone != nil {
		loc = c.DAG.Timezone
	}
	day := c.Run.DataIntervalEnd
	if day.IsZero() {
		day = s.now()
	}
	day = day.In(loc)
	// From the wall-clock fields, not midnight plus tod: on a DST change
	// day the two differ.
	h, m, sec := int(tod/time.Hour), int(tod%time.Hour/time.Minute), int(tod%time.Minute/time.Second)
	target := time.Date(day.Year(), day.Month(), day.Day(), h, m, sec, 0, loc)
	return s.waitUntil(ctx, c, a, target)
}

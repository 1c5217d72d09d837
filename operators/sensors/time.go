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
)

// TimeDeltaSensor waits until delta after the end of the run's data
// interval (its logical date when it has none), as Airflow's
// TimeDeltaSensor.
type TimeDeltaSensor struct{ Base }

// DateTimeSensor waits until target_time, as Airflow's DateTimeSensor.
type DateTimeSensor struct{ Base }

var (
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

package dags

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ScheduleKind is the shape of a DAG's schedule.
type ScheduleKind string

// Schedule kinds.
const (
	ScheduleNone     ScheduleKind = "none"     // manual triggers only
	ScheduleOnce     ScheduleKind = "once"     // one run at start_date
	ScheduleCron     ScheduleKind = "cron"     // a 5-field cron expression or a preset
	ScheduleInterval ScheduleKind = "interval" // a fixed duration such as "15m"
)

// cronPresets maps Airflow's presets to cron expressions.
var cronPresets = map[string]string{
	"@hourly":    "0 * * * *",
	"@daily":     "0 0 * * *",
	"@midnight":  "0 0 * * *",
	"@weekly":    "0 0 * * 0",
	"@monthly":   "0 0 1 * *",
	"@quarterly": "0 0 1 */3 *",
	"@yearly":    "0 0 1 1 *",
	"@annually":  "0 0 1 1 *",
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Schedule is a parsed `schedule=` value. The zero value is ScheduleNone.
type Schedule struct {
	Kind ScheduleKind
	// Expr is what the user wrote ("@daily", "*/5 * * * *", "15m"); empty for None.
	Expr string
	// Every is the period of an interval schedule.
	Every time.Duration
	cron  cron.Schedule
}

// ParseSchedule reads a schedule string: "" or "none" for manual only,
// "@once", a preset ("@hourly", "@daily", "@weekly", "@monthly",
// "@quarterly", "@yearly", "@annually"), a 5-field cron expression, or a
// duration such as "15m".
func ParseSchedule(expr string) (Schedule, error) {
	s := strings.TrimSpace(expr)
	switch strings.ToLower(s) {
	case "", "none":
		return Schedule{Kind: ScheduleNone}, nil
	case "@once":
		return Schedule{Kind: ScheduleOnce, Expr: "@once"}, nil
	}
	if strings.HasPrefix(s, "@") {
		spec, ok := cronPresets[strings.ToLower(s)]
		if !ok {
			return Schedule{}, fmt.Errorf("unknown schedule preset %q (known: @once, @hourly, @daily, @weekly, @monthly, @quarterly, @yearly, @annually)", s)
		}
		c, err := cronParser.Parse(spec)
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: %w", s, err)
		}
		return Schedule{Kind: ScheduleCron, Expr: s, cron: c}, nil
	}
	if fields := strings.Fields(s); len(fields) == 5 {
		c, err := cronParser.Parse(s)
		if err != nil {
			return Schedule{}, fmt.Errorf("bad cron schedule %q: %v", s, err)
		}
		return Schedule{Kind: ScheduleCron, Expr: s, cron: c}, nil
	} else if len(fields) > 1 {
		return Schedule{}, fmt.Errorf("bad schedule %q: a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has %d", s, len(fields))
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Schedule{}, fmt.Errorf("bad schedule %q: not a preset, a 5-field cron expression or a duration", s)
	}
	if d <= 0 {
		return Schedule{}, fmt.Errorf("bad schedule %q: an interval schedule must be longer than zero", s)
	}
	return Schedule{Kind: ScheduleInterval, Expr: s, Every: d}, nil
}

// MustParseSchedule is ParseSchedule for literals known to be valid; it
// panics on error and is meant for tests and tables.
func MustParseSchedule(expr string) Schedule {
	s, err := ParseSchedule(expr)
	if err != nil {
		panic(err)
	}
	return s
}

// String returns what the user wrote, or "None".
func (s Schedule) String() string {
	if s.Kind == ScheduleNone || s.Kind == "" {
		return "None"
	}
	return s.Expr
}

// Periodic reports whether the schedule creates runs by itself over and over.
func (s Schedule) Periodic() bool {
	return s.Kind == ScheduleCron || s.Kind == ScheduleInterval
}

// Next returns the first schedule tick strictly after t, evaluating cron in
// loc (so "0 2 * * *" means 02:00 local time across DST changes). Interval
// schedules tick every Every from t. It returns the zero time for schedules
// without ticks.
func (s Schedule) Next(t time.Time, loc *time.Location) time.Time {
	switch s.Kind {
	case ScheduleCron:
		if loc == nil {
			loc = time.UTC
		}
		return s.cron.Next(t.In(loc)).UTC()
	case ScheduleInterval:
		return t.Add(s.Every).UTC()
	}
	return time.Time{}
}

// Align returns the first tick at or after t: t itself when t is on the
// schedule. Interval schedules are aligned to t.
func (s Schedule) Align(t time.Time, loc *time.Location) time.Time {
	if s.Kind != ScheduleCron {
		return t.UTC()
	}
	return s.Next(t.Add(-time.Nanosecond), loc)
}

// DataInterval returns the data interval of the run whose logical date is
// logical, with Airflow 2's data-interval semantics: [logical, next tick)
// for periodic schedules, and the zero-length [logical, logical] otherwise.
func (s Schedule) DataInterval(logical time.Time, loc *time.Location) (start, end time.Time) {
	if s.Periodic() {
		return logical.UTC(), s.Next(logical, loc)
	}
	return logical.UTC(), logical.UTC()
}

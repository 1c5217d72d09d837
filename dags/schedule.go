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
	// Datasets are the URIs a schedule that depends on datasets names
	// (Cond's); Expr of a ScheduleDatasets schedule is then "Dataset: uri,
	// uri" or "Dataset: uri | uri", as the UI shows it.
	Datasets []string
	// Cond is the condition on dataset updates that makes a
	// dataset-triggered run: set for ScheduleDatasets, and for a periodic
	// schedule that also runs on datasets (DatasetOrTimeSchedule).
	Cond *DatasetCond
	cron cron.Schedule
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
			return Schedule{}, fmt.Errorf("schedule preset %q: %w", s, err)
		}
		return Schedule{Kind: ScheduleCron, Expr: s, cron: c}, nil
	}
	if fields := strings.Fields(s); len(fields) == 5 {
		c, err := cronParser.Parse(s)
		if err != nil {
			return Schedule{}, fmt.Errorf("bad cron schedule %q (fields: minute hour day-of-month month day-of-week): %w", s, err)
		}
		if c.Next(neverRef).IsZero() {
			return Schedule{}, fmt.Errorf("bad cron schedule %q: it never fires (no such day in any month)", s)
		}
		return Schedule{Kind: ScheduleCron, Expr: s, cron: c}, nil
	} else if len(fields) > 1 {
		return Schedule{}, fmt.Errorf("bad schedule %q: a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has %d", s, len(fields))
	}
	d, err := ParseDuration(s)
	if err != nil && s != "" && (isDigit(s[0]) || s[0] == '.' || s[0] == '-') {
		return Schedule{}, fmt.Errorf("bad interval schedule: %w", err)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("bad schedule %q: not None, @once, a preset, a 5-field cron expression or a duration (write e.g. \"@daily\", \"0 2 * * *\", \"15m\")", s)
	}
	if d <= 0 {
		return Schedule{}, fmt.Errorf("bad schedule %q: an interval schedule must be longer than zero", s)
	}
	return Schedule{Kind: ScheduleInterval, Expr: s, Every: d}, nil
}

// neverRef is the instant ParseSchedule searches from to reject cron
// expressions that never fire ("0 0 30 2 *"); robfig/cron gives up after
// five years, and 2000 starts a leap year, so 29 February is found.
var neverRef = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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
	if s.Cond != nil && s.Kind != ScheduleDatasets {
		return DatasetSchedulePrefix + s.Cond.String() + datasetOrTime + s.Expr
	}
	return s.Expr
}

// Periodic reports whether the schedule creates runs by itself over and over.
func (s Schedule) Periodic() bool {
	return s.Kind == ScheduleCron || s.Kind == ScheduleInterval
}

// Next returns the first schedule tick strictly after t, in UTC. Interval
// schedules tick every Every from t; schedules without ticks (None, @once)
// return the zero time, as does a cron expression with no tick within five
// years.
//
// Cron expressions are evaluated on the wall clock of loc (UTC when nil), as
// Airflow does, so "0 2 * * *" means 02:00 local time all year. Across DST
// changes an expression that fires at most every other hour fires exactly
// once per matching wall-clock time: a time skipped when clocks go forward
// moves forward by the gap (02:00 becomes 03:00 new time) and a time
// repeated when clocks go back fires only at its second occurrence. An
// expression whose hour field is "*" instead follows real elapsed time, so
// "0 * * * *" fires every real hour, twice at 02:00 when clocks go back.
//
// robfig/cron's own Next would do otherwise for the former: it skips a
// time that does not exist (no run that day) and fires twice on a repeated
// one (see TestScheduleNextDST).
func (s Schedule) Next(t time.Time, loc *time.Location) time.Time {
	switch s.Kind {
	case ScheduleCron:
		c := s.cronSchedule()
		if c == nil {
			return time.Time{}
		}
		if loc == nil {
			loc = time.UTC
		}
		if spec, ok := c.(*cron.SpecSchedule); ok && spec.Hour&allHours == allHours {
			return c.Next(t.In(loc)).UTC()
		}
		return nextWallClock(c, t, loc)
	case ScheduleInterval:
		return t.Add(s.Every).UTC()
	}
	return time.Time{}
}

// allHours is the hour bit set of a cron field that matches every hour.
const allHours = 1<<24 - 1

// nextWallClock evaluates c on the wall clock of loc: the ticks are the
// matching local readings, each mapped to an instant by wallClock, and the
// result is the earliest such instant after t.
//
// Away from DST changes that is simply the next matching reading. Near one,
// the mapping is not monotonic (a skipped reading lands after later ones; a
// repeated hour maps after t while its reading is before t's), so readings
// from dstWindow before t's up to dstWindow past the best are compared.
func nextWallClock(c cron.Schedule, t time.Time, loc *time.Location) time.Time {
	start := naiveReading(t, loc)
	first := c.Next(start)
	if first.IsZero() {
		return time.Time{}
	}
	at := wallClock(first, loc)
	if at.After(t) && !nearOffsetChange(t, loc) && !nearOffsetChange(at, loc) {
		return at.UTC()
	}
	var best, bestReading time.Time
	r := start.Add(-dstWindow)
	for range 100_000 {
		r = c.Next(r)
		if r.IsZero() || !best.IsZero() && r.After(bestReading.Add(dstWindow)) {
			break
		}
		if at := wallClock(r, loc); at.After(t) && (best.IsZero() || at.Before(best)) {
			best, bestReading = at, r
		}
	}
	return best.UTC()
}

// dstWindow bounds how far a DST change moves a wall-clock reading; real
// zones shift by at most two hours.
const dstWindow = 3 * time.Hour

// naiveReading returns the wall-clock reading of t in loc as a UTC time.
func naiveReading(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// nearOffsetChange reports whether loc changes its UTC offset within 36
// hours of t.
func nearOffsetChange(t time.Time, loc *time.Location) bool {
	_, before := t.Add(-36 * time.Hour).In(loc).Zone()
	_, after := t.Add(36 * time.Hour).In(loc).Zone()
	return before != after
}

// cronSchedule returns the parsed cron expression, parsing Expr again when
// the Schedule was built by hand or decoded rather than made by
// ParseSchedule.
func (s Schedule) cronSchedule() cron.Schedule {
	if s.cron != nil {
		return s.cron
	}
	spec := s.Expr
	if p, ok := cronPresets[strings.ToLower(strings.TrimSpace(spec))]; ok {
		spec = p
	}
	c, err := cronParser.Parse(spec)
	if err != nil {
		return nil
	}
	return c
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

package builtins

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// unpack is starlark.UnpackArgs with two additions: at most maxPositional
// arguments may be passed by position (the rest are keyword-only), and an
// unknown keyword is matched against every parameter for "did you mean".
func unpack(fnName string, args starlark.Tuple, kwargs []starlark.Tuple, maxPositional int, pairs ...any) error {
	if len(args) > maxPositional {
		names := make([]string, 0, maxPositional)
		for i := 0; i < maxPositional && 2*i < len(pairs); i++ {
			names = append(names, paramName(pairs[2*i].(string)))
		}
		if maxPositional == 0 {
			return fmt.Errorf("%s: got %d positional arguments, want keyword arguments only", fnName, len(args))
		}
		return fmt.Errorf("%s: got %d positional arguments, want at most %d (%s); pass the others by keyword", fnName, len(args), maxPositional, strings.Join(names, ", "))
	}
	if len(kwargs) > 0 {
		names := make([]string, 0, len(pairs)/2)
		for i := 0; i < len(pairs); i += 2 {
			names = append(names, paramName(pairs[i].(string)))
		}
		for _, kv := range kwargs {
			name := string(kv[0].(starlark.String))
			if !contains(names, name) {
				return unknownName(fmt.Sprintf("%s: unexpected keyword argument %s", fnName, name), name, names)
			}
		}
	}
	if err := starlark.UnpackArgs(fnName, args, kwargs, pairs...); err != nil {
		// UnpackArgs quotes the names of keyword arguments but not of
		// positional ones; name parameters the same way everywhere.
		msg := err.Error()
		for _, kv := range kwargs {
			name := string(kv[0].(starlark.String))
			msg = strings.Replace(msg, "for parameter "+strconv.Quote(name)+":", "for parameter "+name+":", 1)
		}
		return errors.New(msg)
	}
	return nil
}

// unknownName returns an error with msg and, when one is close, a
// "did you mean" hint; otherwise the known names.
func unknownName(msg, name string, known []string) error {
	if n := nearest(name, known); n != "" {
		return fmt.Errorf("%s (did you mean %s?)", msg, n)
	}
	return fmt.Errorf("%s (known: %s)", msg, strings.Join(known, ", "))
}

func paramName(s string) string { return strings.TrimRight(s, "?") }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// nearest returns the element of candidates closest to x by edit distance,
// if it is close enough to be a plausible typo, or "".
func nearest(x string, candidates []string) string {
	best, bestD := "", len(x)/2+1
	if len(x) >= 5 {
		bestD++
	}
	for _, c := range candidates {
		if d := dags.EditDistance(strings.ToLower(x), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// durationOf reads a duration: a string such as "30s", "5m", "1h30m" or
// "2d", a number of seconds, a timedelta() or a time.duration value.
func durationOf(v starlark.Value) (time.Duration, error) {
	switch v := v.(type) {
	case Duration:
		if v < 0 {
			return 0, fmt.Errorf("negative duration %s", v)
		}
		return time.Duration(v), nil
	case startime.Duration:
		if v < 0 {
			return 0, fmt.Errorf("negative duration %s", v)
		}
		return time.Duration(v), nil
	case starlark.String:
		return dags.ParseDuration(string(v))
	case starlark.Int:
		n, ok := v.Int64()
		if !ok || n < 0 || n > int64(dags.MaxDuration/time.Second) {
			return 0, fmt.Errorf("duration of %s seconds is out of range", v)
		}
		return time.Duration(n) * time.Second, nil
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || f < 0 || f > float64(dags.MaxDuration/time.Second) {
			return 0, fmt.Errorf("duration of %s seconds is out of range", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("got %s, want a duration such as \"30s\", \"5m\", \"1h30m\", a number of seconds or timedelta(...)", v.Type())
}

// DurationArg reads a duration argument as every builtin does: a string
// such as "30s", "5m", "1h30m" or "2d", a number of seconds, a
// timedelta() or a time.duration value.
func DurationArg(v starlark.Value) (time.Duration, error) { return durationOf(v) }

// dateOf reads a date: "2024-01-01", RFC 3339, a time.time value, or a
// datetime.datetime or datetime.date (a naive one is wall-clock time in
// loc, the DAG's timezone, as Airflow reads a naive start_date).
func dateOf(v starlark.Value, loc *time.Location) (time.Time, error) {
	switch v := v.(type) {
	case starlark.String:
		return dags.ParseDate(string(v), loc)
	case startime.Time:
		return time.Time(v), nil
	case DateTime:
		if v.Naive || v.Date {
			t := v.T
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), nil
		}
		return v.T, nil
	}
	return time.Time{}, fmt.Errorf("got %s, want a date such as \"2024-01-01\" or \"2024-01-01T06:00:00Z\"", v.Type())
}

// scheduleOf reads a schedule: None, a preset, a cron expression, a
// duration string, a timedelta, a timetable (CronTriggerTimetable,
// DatasetOrTimeSchedule), or datasets: a list of them (all must be
// updated), one dataset, or a condition such as (a | b) & c.
func scheduleOf(v starlark.Value) (dags.Schedule, error) {
	switch v := v.(type) {
	case *starlark.List, starlark.Tuple:
		elems, _ := asList(v)
		plain := make([]string, 0, len(elems))
		for _, e := range elems {
			if d, ok := e.(Dataset); ok {
				plain = append(plain, d.uri)
			}
		}
		cond, err := datasetCondOf(v)
		if err != nil {
			return dags.Schedule{}, err
		}
		if len(plain) == len(elems) {
			return dags.DatasetSchedule(plain), nil
		}
		return dags.DatasetCondSchedule(cond), nil
	case Dataset:
		return dags.DatasetSchedule([]string{v.uri}), nil
	case DatasetCondition:
		return dags.DatasetCondSchedule(v.cond()), nil
	case Timetable:
		return v.schedule, nil
	case starlark.NoneType:
		return dags.Schedule{Kind: dags.ScheduleNone}, nil
	case starlark.String:
		return dags.ParseSchedule(string(v))
	case Duration, startime.Duration:
		d, err := durationOf(v)
		if err != nil {
			return dags.Schedule{}, err
		}
		if d <= 0 {
			return dags.Schedule{}, fmt.Errorf("an interval schedule must be longer than zero")
		}
		return dags.ParseSchedule(dags.FormatDuration(d))
	}
	return dags.Schedule{}, fmt.Errorf("got %s, want None, a preset such as \"@daily\", a cron expression, a duration or datasets", v.Type())
}

// intOf reads a Starlark int that fits a Go int32 (counts and weights).
func intOf(v starlark.Value) (int, error) {
	i, ok := v.(starlark.Int)
	if !ok {
		return 0, fmt.Errorf("got %s, want int", v.Type())
	}
	n, ok := i.Int64()
	if !ok || n > math.MaxInt32 || n < math.MinInt32 {
		return 0, fmt.Errorf("%s is out of range", i)
	}
	return int(n), nil
}

// stringOf reads a string.
func stringOf(v starlark.Value) (string, error) {
	s, ok := v.(starlark.String)
	if !ok {
		return "", fmt.Errorf("got %s, want string", v.Type())
	}
	return string(s), nil
}

// boolOf reads a bool.
func boolOf(v starlark.Value) (bool, error) {
	b, ok := v.(starlark.Bool)
	if !ok {
		return false, fmt.Errorf("got %s, want bool", v.Type())
	}
	return bool(b), nil
}

package templates

import (
	"fmt"
	"strings"
	"time"

	"github.com/ncruces/go-strftime"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// dateTime is a point in time as templates see Airflow's pendulum
// DateTime: printed in ISO 8601 with a "+00:00" offset, with attributes
// (year, month, ...) and methods (strftime, isoformat, add, ...).
type dateTime struct{ t time.Time }

// String prints the time as Python's isoformat does.
func (d dateTime) String() string { return isoformat(d.t) }

// isoformat formats t as Python's datetime.isoformat(): microseconds only
// when not zero, the offset as "+HH:MM".
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

// Airflow's date strings of a logical date (AIRFLOW.md §6.2).
func formatDS(t time.Time) string       { return t.Format("2006-01-02") }
func formatDSNodash(t time.Time) string { return t.Format("20060102") }
func formatTSNodash(t time.Time) string { return t.Format("20060102T150405") }
func formatTSNodashWithTZ(t time.Time) string {
	return strings.NewReplacer("-", "", ":", "").Replace(isoformat(t))
}

// GetAttribute implements exec.AttributeGetter.
func (d dateTime) GetAttribute(name string) (*exec.Value, bool) {
	t := d.t
	var v any
	switch name {
	case "year":
		v = t.Year()
	case "month":
		v = int(t.Month())
	case "day":
		v = t.Day()
	case "hour":
		v = t.Hour()
	case "minute":
		v = t.Minute()
	case "second":
		v = t.Second()
	case "microsecond":
		v = t.Nanosecond() / 1000
	case "int_timestamp":
		v = t.Unix()
	case "timezone_name":
		v = t.Location().String()
	case "strftime":
		v = func(va *exec.VarArgs) (any, error) {
			a, err := unpack("strftime", va, "format")
			if err != nil {
				return nil, err
			}
			f, err := a.str(0)
			if err != nil {
				return nil, err
			}
			return strftime.Format(f, t), nil
		}
	case "isoformat":
		v = noArgs("isoformat", func() any { return isoformat(t) })
	case "timestamp":
		v = noArgs("timestamp", func() any { return float64(t.UnixNano()) / 1e9 })
	case "date", "to_date_string":
		v = noArgs(name, func() any { return formatDS(t) })
	case "to_datetime_string":
		v = noArgs(name, func() any { return t.Format("2006-01-02 15:04:05") })
	case "weekday":
		v = noArgs(name, func() any { return (int(t.Weekday()) + 6) % 7 })
	case "isoweekday":
		v = noArgs(name, func() any { return (int(t.Weekday())+6)%7 + 1 })
	case "add", "subtract":
		sign := 1
		if name == "subtract" {
			sign = -1
		}
		v = func(va *exec.VarArgs) (any, error) { return shift(name, t, sign, va) }
	case "in_timezone", "in_tz":
		v = func(va *exec.VarArgs) (any, error) {
			a, err := unpack(name, va, "tz")
			if err != nil {
				return nil, err
			}
			zone, err := a.str(0)
			if err != nil {
				return nil, err
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return nil, fmt.Errorf("%s: unknown time zone %q", name, zone)
			}
			return dateTime{t.In(loc)}, nil
		}
	default:
		return exec.AsValue(nil), false
	}
	return exec.AsValue(v), true
}

// shift implements pendulum's add and subtract (years, months, weeks,
// days, hours, minutes, seconds, all keyword-only).
func shift(name string, t time.Time, sign int, va *exec.VarArgs) (any, error) {
	if len(va.Args) > 0 {
		return nil, fmt.Errorf("%s: takes keyword arguments only (years, months, weeks, days, hours, minutes, seconds)", name)
	}
	var years, months, days int
	var d time.Duration
	for k, v := range va.KwArgs {
		if !v.IsInteger() {
			return nil, fmt.Errorf("%s: %s must be an integer, got %s", name, k, v.String())
		}
		n := v.Integer() * sign
		switch k {
		case "years":
			years = n
		case "months":
			months = n
		case "weeks":
			days += 7 * n
		case "days":
			days += n
		case "hours":
			d += time.Duration(n) * time.Hour
		case "minutes":
			d += time.Duration(n) * time.Minute
		case "seconds":
			d += time.Duration(n) * time.Second
		default:
			return nil, fmt.Errorf("%s: unexpected keyword argument %q (known: years, months, weeks, days, hours, minutes, seconds)", name, k)
		}
	}
	return dateTime{t.AddDate(years, months, days).Add(d)}, nil
}

// noArgs wraps a method that takes no arguments.
func noArgs(name string, f func() any) func(*exec.VarArgs) (any, error) {
	return func(va *exec.VarArgs) (any, error) {
		if _, err := unpack(name, va); err != nil {
			return nil, err
		}
		return f(), nil
	}
}

// asTime reads a template value as a point in time: a datetime of the
// context, or a string holding a date ("2024-01-15") or an RFC 3339 time.
func asTime(v *exec.Value) (time.Time, error) {
	switch x := v.Interface().(type) {
	case dateTime:
		return x.t, nil
	case time.Time:
		return x, nil
	}
	if v.IsString() {
		s := v.String()
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or RFC 3339)", s)
	}
	return time.Time{}, fmt.Errorf("%s is not a datetime", v.String())
}

// dateFilter makes one of Airflow's date filters (ds, ts, ...): None
// stays None, a datetime or date string is formatted.
func dateFilter(name string, format func(time.Time) string) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		if len(params.Args) > 0 || len(params.KwArgs) > 0 {
			return exec.AsValue(fmt.Errorf("filter %s takes no arguments", name))
		}
		if isNone(in) {
			return exec.AsValue(None)
		}
		t, err := asTime(in)
		if err != nil {
			return exec.AsValue(fmt.Errorf("filter %s: %w", name, err))
		}
		return exec.AsValue(format(t))
	}
}

// repr prints the time as pendulum's repr does.
func (d dateTime) repr() string {
	t := d.t
	return fmt.Sprintf("DateTime(%d, %d, %d, %d, %d, %d, tzinfo=Timezone('%s'))",
		t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Location())
}

// datetimeClass is macros.datetime: called as datetime(year, month, day,
// hour=0, minute=0, second=0, microsecond=0) it makes a UTC datetime, and
// it has Python's class methods now(), utcnow(), today(),
// fromisoformat(s) and strptime(s, format).
type datetimeClass func(*exec.VarArgs) (any, error)

// String prints the class as Python does.
func (datetimeClass) String() string { return "<class 'datetime.datetime'>" }

// GetAttribute implements exec.AttributeGetter.
func (datetimeClass) GetAttribute(name string) (*exec.Value, bool) {
	var v any
	switch name {
	case "now", "utcnow", "today":
		v = noArgs(name, func() any { return dateTime{time.Now().UTC()} })
	case "fromisoformat":
		v = func(va *exec.VarArgs) (any, error) {
			a, err := unpack(name, va, "date_string")
			if err != nil {
				return nil, err
			}
			s, err := a.str(0)
			if err != nil {
				return nil, err
			}
			t, err := asTime(exec.AsValue(s))
			if err != nil {
				return nil, fmt.Errorf("fromisoformat: %w", err)
			}
			return dateTime{t.UTC()}, nil
		}
	case "strptime":
		v = func(va *exec.VarArgs) (any, error) {
			a, err := unpack(name, va, "date_string", "format")
			if err != nil {
				return nil, err
			}
			s, err := a.str(0)
			if err != nil {
				return nil, err
			}
			f, err := a.str(1)
			if err != nil {
				return nil, err
			}
			t, err := strftime.Parse(f, s)
			if err != nil {
				return nil, fmt.Errorf("strptime: %q does not match format %q: %w", s, f, err)
			}
			return dateTime{t.UTC()}, nil
		}
	default:
		return exec.AsValue(nil), false
	}
	return exec.AsValue(v), true
}

// newDatetime implements calling macros.datetime.
func newDatetime(va *exec.VarArgs) (any, error) {
	names := []string{"year", "month", "day", "hour?", "minute?", "second?", "microsecond?"}
	a, err := unpack("datetime", va, names...)
	if err != nil {
		return nil, err
	}
	var n [7]int
	for i := range names {
		if !a.has(i) {
			continue
		}
		if n[i], err = a.integer(i); err != nil {
			return nil, err
		}
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], n[6]*1000, time.UTC)
	if t.Month() != time.Month(n[1]) || t.Day() != n[2] || n[3] > 23 || n[4] > 59 || n[5] > 59 || n[6] > 999999 || min(n[3], n[4], n[5], n[6]) < 0 {
		return nil, fmt.Errorf("datetime: ValueError: %04d-%02d-%02d %02d:%02d:%02d is not a valid date and time", n[0], n[1], n[2], n[3], n[4], n[5])
	}
	return dateTime{t}, nil
}

package builtins

import (
	"fmt"
	"strings"
	"time"

	"github.com/ncruces/go-strftime"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// DateTime is Python's datetime.datetime (or, with Date set,
// datetime.date) for Starlark: the task context's logical_date and
// data interval, and the values of the datetime module. It has Python's
// attributes and methods (year ... microsecond, strftime, isoformat,
// replace, ...), adds and subtracts timedeltas, subtracts another
// datetime into a timedelta and compares. A Naive one has no time zone,
// like a Python datetime made without tzinfo; mixing naive and aware
// values is a TypeError as in Python. str() is isoformat(), as for
// Airflow's pendulum DateTime.
type DateTime struct {
	T     time.Time
	Naive bool
	Date  bool // a datetime.date: no time of day, always naive
}

var (
	_ starlark.HasBinary  = DateTime{}
	_ starlark.Comparable = DateTime{}
	_ starlark.HasAttrs   = DateTime{}
)

// NewDateTime returns the aware datetime of t (its zone kept).
func NewDateTime(t time.Time) DateTime { return DateTime{T: t} }

// String returns the ISO 8601 form, as isoformat().
func (d DateTime) String() string { return d.isoformat("T") }

// Type returns "datetime" or "date".
func (d DateTime) Type() string {
	if d.Date {
		return "date"
	}
	return "datetime"
}

// Freeze does nothing: a DateTime is immutable.
func (d DateTime) Freeze() {}

// Truth returns True.
func (d DateTime) Truth() starlark.Bool { return true }

// Hash hashes the instant.
func (d DateTime) Hash() (uint32, error) { return starlark.MakeInt64(d.T.UnixNano()).Hash() }

// isoformat formats as Python: microseconds only when not zero, the
// offset as +HH:MM for aware values; a date as YYYY-MM-DD.
func (d DateTime) isoformat(sep string) string {
	t := d.T
	if d.Date {
		return t.Format("2006-01-02")
	}
	s := t.Format("2006-01-02") + sep + t.Format("15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	if !d.Naive {
		s += t.Format("-07:00")
	}
	return s
}

// CompareSameType compares two datetimes (or two dates) by instant.
func (d DateTime) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	e := y.(DateTime)
	if d.Date != e.Date {
		return false, fmt.Errorf("TypeError: can't compare %s to %s", d.Type(), e.Type())
	}
	if d.Naive != e.Naive {
		if op == syntax.EQL || op == syntax.NEQ {
			return op == syntax.NEQ, nil
		}
		return false, fmt.Errorf("TypeError: can't compare offset-naive and offset-aware datetimes")
	}
	c := d.T.Compare(e.T)
	switch op {
	case syntax.EQL:
		return c == 0, nil
	case syntax.NEQ:
		return c != 0, nil
	case syntax.LT:
		return c < 0, nil
	case syntax.LE:
		return c <= 0, nil
	case syntax.GT:
		return c > 0, nil
	case syntax.GE:
		return c >= 0, nil
	}
	return false, fmt.Errorf("unsupported comparison %s", op)
}

// Binary implements datetime ± timedelta, timedelta + datetime and
// datetime - datetime.
func (d DateTime) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch y := y.(type) {
	case Duration:
		switch {
		case op == syntax.PLUS:
			return d.shift(time.Duration(y)), nil
		case op == syntax.MINUS && side == starlark.Left:
			return d.shift(-time.Duration(y)), nil
		}
	case DateTime:
		if op != syntax.MINUS || d.Date != y.Date {
			return nil, nil
		}
		if d.Naive != y.Naive {
			return nil, fmt.Errorf("TypeError: can't subtract offset-naive and offset-aware datetimes")
		}
		a, b := d.T, y.T
		if side == starlark.Right {
			a, b = b, a
		}
		diff := a.Sub(b)
		if diff > dags.MaxDuration || diff < -dags.MaxDuration {
			return nil, fmt.Errorf("timedelta out of range")
		}
		return Duration(diff), nil
	}
	return nil, nil
}

// shift adds a duration; a date moves by whole days, as Python's does.
func (d DateTime) shift(x time.Duration) DateTime {
	if d.Date {
		days := int(x / (24 * time.Hour))
		d.T = d.T.AddDate(0, 0, days)
		return d
	}
	d.T = d.T.Add(x)
	return d
}

// dateTimeAttrs lists the attributes of a datetime.
var dateTimeAttrs = []string{
	"add", "date", "day", "hour", "in_timezone", "isoformat", "isoweekday", "microsecond", "minute",
	"month", "replace", "second", "strftime", "subtract", "timestamp", "to_date_string",
	"to_datetime_string", "tzname", "weekday", "year",
}

// AttrNames lists the attributes.
func (d DateTime) AttrNames() []string { return dateTimeAttrs }

// Attr returns an attribute or a bound method.
func (d DateTime) Attr(name string) (starlark.Value, error) {
	t := d.T
	switch name {
	case "year":
		return starlark.MakeInt(t.Year()), nil
	case "month":
		return starlark.MakeInt(int(t.Month())), nil
	case "day":
		return starlark.MakeInt(t.Day()), nil
	case "hour", "minute", "second", "microsecond":
		if d.Date {
			return nil, nil
		}
		return starlark.MakeInt(map[string]int{
			"hour": t.Hour(), "minute": t.Minute(), "second": t.Second(), "microsecond": t.Nanosecond() / 1000,
		}[name]), nil
	}
	m := d.method(name)
	if m == nil {
		return nil, nil
	}
	return Safe(d.Type()+"."+name, m), nil
}

type builtinFn = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// method returns the method name of d, or nil.
func (d DateTime) method(name string) builtinFn {
	t := d.T
	noArgs := func(f func() starlark.Value) builtinFn {
		return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return f(), nil
		}
	}
	switch name {
	case "strftime":
		return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var format string
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "format", &format); err != nil {
				return nil, err
			}
			return starlark.String(Strftime(format, d)), nil
		}
	case "isoformat":
		return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			sep := "T"
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "sep?", &sep); err != nil {
				return nil, err
			}
			return starlark.String(d.isoformat(sep)), nil
		}
	case "timestamp":
		if d.Date {
			return nil
		}
		return noArgs(func() starlark.Value { return starlark.Float(float64(t.UnixNano()) / 1e9) })
	case "date":
		if d.Date {
			return nil
		}
		return noArgs(func() starlark.Value {
			return DateTime{T: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Naive: true, Date: true}
		})
	case "weekday":
		return noArgs(func() starlark.Value { return starlark.MakeInt((int(t.Weekday()) + 6) % 7) })
	case "isoweekday":
		return noArgs(func() starlark.Value { return starlark.MakeInt((int(t.Weekday())+6)%7 + 1) })
	case "to_date_string":
		return noArgs(func() starlark.Value { return starlark.String(t.Format("2006-01-02")) })
	case "to_datetime_string":
		return noArgs(func() starlark.Value { return starlark.String(t.Format("2006-01-02 15:04:05")) })
	case "tzname":
		return noArgs(func() starlark.Value {
			if d.Naive || d.Date {
				return starlark.None
			}
			return starlark.String(t.Location().String())
		})
	case "replace":
		return d.replace
	case "add", "subtract":
		sign := 1
		if name == "subtract" {
			sign = -1
		}
		return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var years, months, weeks, days, hours, minutes, seconds int
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "years?", &years, "months?", &months, "weeks?", &weeks,
				"days?", &days, "hours?", &hours, "minutes?", &minutes, "seconds?", &seconds); err != nil {
				return nil, err
			}
			out := d
			out.T = t.AddDate(sign*years, sign*months, sign*(days+7*weeks)).
				Add(time.Duration(sign) * (time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second))
			return out, nil
		}
	case "in_timezone":
		if d.Date || d.Naive {
			return nil
		}
		return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var zone string
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tz", &zone); err != nil {
				return nil, err
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return nil, fmt.Errorf("%s: unknown time zone %q", fn.Name(), zone)
			}
			return DateTime{T: t.In(loc)}, nil
		}
	}
	return nil
}

// replace implements d.replace(year=, month=, day=, hour=, minute=,
// second=, microsecond=).
func (d DateTime) replace(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	t := d.T
	y, mo, day := t.Date()
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	m := int(mo)
	pairs := []any{"year?", &y, "month?", &m, "day?", &day}
	if !d.Date {
		pairs = append(pairs, "hour?", &h, "minute?", &mi, "second?", &s, "microsecond?", &us)
	}
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, pairs...); err != nil {
		return nil, err
	}
	out, err := MakeDateTime(y, m, day, h, mi, s, us, t.Location())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	d.T = out
	return d, nil
}

// MakeDateTime returns the time of the given fields, or Python's
// ValueError when a field is out of range (February 30th, hour 24).
func MakeDateTime(year, month, day, hour, minute, second, micro int, loc *time.Location) (time.Time, error) {
	switch {
	case year < 1 || year > 9999:
		return time.Time{}, fmt.Errorf("ValueError: year %d is out of range", year)
	case month < 1 || month > 12:
		return time.Time{}, fmt.Errorf("ValueError: month must be in 1..12")
	case hour < 0 || hour > 23:
		return time.Time{}, fmt.Errorf("ValueError: hour must be in 0..23")
	case minute < 0 || minute > 59:
		return time.Time{}, fmt.Errorf("ValueError: minute must be in 0..59")
	case second < 0 || second > 59:
		return time.Time{}, fmt.Errorf("ValueError: second must be in 0..59")
	case micro < 0 || micro > 999999:
		return time.Time{}, fmt.Errorf("ValueError: microsecond must be in 0..999999")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, loc)
	if day < 1 || t.Day() != day {
		return time.Time{}, fmt.Errorf("ValueError: day is out of range for month")
	}
	return t, nil
}

// Strftime formats d with a C/Python strftime format; %z and %Z are
// empty for a naive value, as in Python.
func Strftime(format string, d DateTime) string {
	if d.Naive && strings.Contains(format, "%") {
		format = strings.NewReplacer("%z", "", "%Z", "").Replace(format)
	}
	return strftime.Format(format, d.T)
}

package pylib

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ncruces/go-strftime"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// class is a Python class of a module (datetime.datetime, ...): calling it
// constructs a value, its attributes are class methods, and isinstance
// recognises its values.
type class struct {
	name       string // "datetime.datetime"
	new        builtinFn
	attrs      starlark.StringDict
	isInstance func(starlark.Value) bool
}

var (
	_ starlark.Callable = (*class)(nil)
	_ starlark.HasAttrs = (*class)(nil)
)

func (c *class) String() string        { return "<class '" + c.name + "'>" }
func (c *class) Type() string          { return "type" }
func (c *class) Freeze()               { c.attrs.Freeze() }
func (c *class) Truth() starlark.Bool  { return true }
func (c *class) Hash() (uint32, error) { return starlark.String(c.name).Hash() }
func (c *class) Name() string          { return c.name }

// CallInternal constructs a value.
func (c *class) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return c.new(thread, starlark.NewBuiltin(c.name, c.new), args, kwargs)
}

// Attr returns a class method or constant.
func (c *class) Attr(name string) (starlark.Value, error) { return c.attrs[name], nil }

// AttrNames lists the class methods and constants.
func (c *class) AttrNames() []string {
	names := make([]string, 0, len(c.attrs))
	for k := range c.attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// timezone is a tzinfo value: datetime.timezone.utc, accepted as tzinfo=
// and tz= wherever a zone name is.
type timezone struct{ name string }

func (z timezone) String() string        { return "datetime.timezone." + strings.ToLower(z.name) }
func (z timezone) Type() string          { return "timezone" }
func (z timezone) Freeze()               {}
func (z timezone) Truth() starlark.Bool  { return true }
func (z timezone) Hash() (uint32, error) { return starlark.String(z.name).Hash() }

// datetimeModule returns the datetime module: datetime, date, timedelta
// and timezone.utc.
func datetimeModule() *starlarkstruct.Module {
	dt := &class{
		name: "datetime.datetime",
		new:  newDatetime,
		attrs: starlark.StringDict{
			"now":           safe("datetime.now", now),
			"utcnow":        safe("datetime.utcnow", utcnow),
			"today":         safe("datetime.today", now),
			"strptime":      safe("datetime.strptime", strptime),
			"fromisoformat": safe("datetime.fromisoformat", fromisoformat),
			"fromtimestamp": safe("datetime.fromtimestamp", fromtimestamp),
		},
		isInstance: func(v starlark.Value) bool { d, ok := v.(builtins.DateTime); return ok && !d.Date },
	}
	date := &class{
		name: "datetime.date",
		new:  newDate,
		attrs: starlark.StringDict{
			"today":         safe("date.today", today),
			"fromisoformat": safe("date.fromisoformat", dateFromISO),
		},
		isInstance: func(v starlark.Value) bool { d, ok := v.(builtins.DateTime); return ok && d.Date },
	}
	td := &class{
		name:       "datetime.timedelta",
		new:        newTimedelta,
		attrs:      starlark.StringDict{},
		isInstance: func(v starlark.Value) bool { _, ok := v.(builtins.Duration); return ok },
	}
	utc := timezone{"UTC"}
	tz := &starlarkstruct.Module{Name: "timezone", Members: starlark.StringDict{"utc": utc}}
	return &starlarkstruct.Module{Name: "datetime", Members: starlark.StringDict{
		"datetime":  dt,
		"date":      date,
		"timedelta": td,
		"timezone":  tz,
		"UTC":       utc,
	}}
}

// location reads a tzinfo= or tz= argument: None (naive), timezone.utc
// or a zone name such as "Europe/Paris".
func location(fn string, v starlark.Value) (*time.Location, bool, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return time.UTC, true, nil
	case starlark.String:
		loc, err := time.LoadLocation(string(v))
		if err != nil {
			return nil, false, fmt.Errorf("%s: unknown time zone %q", fn, string(v))
		}
		return loc, false, nil
	case timezone:
		loc, err := time.LoadLocation(v.name)
		if err != nil {
			return nil, false, fmt.Errorf("%s: unknown time zone %q", fn, v.name)
		}
		return loc, false, nil
	}
	return nil, false, fmt.Errorf("%s: tzinfo must be None, datetime.timezone.utc or a zone name such as \"Europe/Paris\", not %s", fn, v.Type())
}

// newDatetime implements datetime.datetime(year, month, day, hour=0,
// minute=0, second=0, microsecond=0, tzinfo=None).
func newDatetime(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		y, mo, d, h, mi, s, us int
		tz                     starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "year", &y, "month", &mo, "day", &d, "hour?", &h,
		"minute?", &mi, "second?", &s, "microsecond?", &us, "tzinfo?", &tz); err != nil {
		return nil, err
	}
	loc, naive, err := location(fn.Name(), tz)
	if err != nil {
		return nil, err
	}
	t, err := builtins.MakeDateTime(y, mo, d, h, mi, s, us, loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return builtins.DateTime{T: t, Naive: naive}, nil
}

// newDate implements datetime.date(year, month, day).
func newDate(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var y, mo, d int
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "year", &y, "month", &mo, "day", &d); err != nil {
		return nil, err
	}
	t, err := builtins.MakeDateTime(y, mo, d, 0, 0, 0, 0, time.UTC)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return builtins.DateTime{T: t, Naive: true, Date: true}, nil
}

// newTimedelta implements datetime.timedelta(days=0, seconds=0,
// microseconds=0, milliseconds=0, minutes=0, hours=0, weeks=0), Python's
// parameters in Python's order, ints or floats. The value is the same
// timedelta as the predeclared timedelta() makes.
func newTimedelta(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	names := []string{"days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"}
	units := []float64{86400e9, 1e9, 1e3, 1e6, 60e9, 3600e9, 7 * 86400e9}
	vals := make([]starlark.Value, len(names))
	pairs := make([]any, 0, 2*len(names))
	for i, n := range names {
		vals[i] = starlark.MakeInt(0)
		pairs = append(pairs, n+"?", &vals[i])
	}
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, pairs...); err != nil {
		return nil, err
	}
	var total float64
	for i, v := range vals {
		f, ok := starlark.AsFloat(v)
		if !ok {
			return nil, fmt.Errorf("%s: for parameter %s: got %s, want int or float", fn.Name(), names[i], v.Type())
		}
		total += f * units[i]
	}
	if math.IsNaN(total) || math.Abs(total) > float64(dags.MaxDuration) {
		return nil, fmt.Errorf("%s: out of range (at most %s)", fn.Name(), dags.FormatDuration(dags.MaxDuration))
	}
	return builtins.Duration(time.Duration(math.Round(total/1e3) * 1e3)), nil
}

// clock returns the current time, or an error while a DAG file is parsed:
// parsing is hermetic.
func clock(thread *starlark.Thread, fn string) (time.Time, error) {
	if !builtins.IsRuntime(thread) {
		return time.Time{}, fmt.Errorf("%s() is not allowed while a DAG file is parsed (parsing is hermetic); call it inside a task function, or use a template such as {{ logical_date }}", fn)
	}
	return time.Now(), nil
}

// now implements datetime.now(tz=None): naive UTC without tz (the
// workers' clock in UTC, not their local zone), aware with it.
func now(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tz starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "tz?", &tz); err != nil {
		return nil, err
	}
	loc, naive, err := location(fn.Name(), tz)
	if err != nil {
		return nil, err
	}
	t, err := clock(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	return builtins.DateTime{T: t.In(loc).Round(time.Microsecond), Naive: naive}, nil
}

// utcnow implements datetime.utcnow(): naive UTC.
func utcnow(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	t, err := clock(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	return builtins.DateTime{T: t.UTC().Round(time.Microsecond), Naive: true}, nil
}

// today implements date.today() (UTC).
func today(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	t, err := clock(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	y, m, d := t.UTC().Date()
	return builtins.DateTime{T: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Naive: true, Date: true}, nil
}

// strptime implements datetime.strptime(date_string, format): naive
// unless the format has %z.
func strptime(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s, format string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "date_string", &s, "format", &format); err != nil {
		return nil, err
	}
	t, err := strftime.Parse(format, s)
	if err != nil {
		return nil, fmt.Errorf("%s: ValueError: time data %q does not match format %q", fn.Name(), s, format)
	}
	return builtins.DateTime{T: t, Naive: !strings.Contains(format, "%z")}, nil
}

// isoLayouts are the forms fromisoformat reads, aware ones first.
var isoLayouts = []struct {
	layout string
	naive  bool
}{
	{"2006-01-02T15:04:05.999999999Z07:00", false},
	{"2006-01-02 15:04:05.999999999Z07:00", false},
	{"2006-01-02T15:04:05.999999999", true},
	{"2006-01-02 15:04:05.999999999", true},
	{"2006-01-02T15:04", true},
	{"2006-01-02", true},
}

// fromisoformat implements datetime.fromisoformat(date_string).
func fromisoformat(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "date_string", &s); err != nil {
		return nil, err
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return builtins.DateTime{T: t, Naive: l.naive}, nil
		}
	}
	return nil, fmt.Errorf("%s: ValueError: Invalid isoformat string: %q", fn.Name(), s)
}

// dateFromISO implements date.fromisoformat("YYYY-MM-DD").
func dateFromISO(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "date_string", &s); err != nil {
		return nil, err
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, fmt.Errorf("%s: ValueError: Invalid isoformat string: %q", fn.Name(), s)
	}
	return builtins.DateTime{T: t, Naive: true, Date: true}, nil
}

// fromtimestamp implements datetime.fromtimestamp(timestamp, tz=None):
// seconds since the Unix epoch, naive UTC without tz.
func fromtimestamp(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		ts starlark.Value
		tz starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "timestamp", &ts, "tz?", &tz); err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(ts)
	if !ok || math.IsNaN(f) || math.Abs(f) > 253402300799 {
		return nil, fmt.Errorf("%s: timestamp must be a number of seconds between the years 1 and 9999", fn.Name())
	}
	loc, naive, err := location(fn.Name(), tz)
	if err != nil {
		return nil, err
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).In(loc)
	return builtins.DateTime{T: t, Naive: naive}, nil
}

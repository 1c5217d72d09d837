package templates

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// timeDelta is Python's datetime.timedelta as templates see it: made by
// macros.timedelta or by subtracting two datetimes, added to and
// subtracted from datetimes, printed as Python prints it ("1 day,
// 2:00:00"). It is a struct, not a number, so the engine never takes it
// for an int.
type timeDelta struct{ d time.Duration }

// parts splits the delta as Python normalises it: whole days (negative
// for a negative delta), then 0 <= seconds < 86400 and microseconds.
func (td timeDelta) parts() (days, secs, micros int64) {
	us := td.d.Microseconds()
	const day = 86400 * 1e6
	days = us / day
	rest := us % day
	if rest < 0 {
		days--
		rest += day
	}
	return days, rest / 1e6, rest % 1e6
}

// String prints the delta as Python's str(timedelta).
func (td timeDelta) String() string {
	days, secs, micros := td.parts()
	var b strings.Builder
	if days != 0 {
		plural := "s"
		if days == 1 || days == -1 {
			plural = ""
		}
		fmt.Fprintf(&b, "%d day%s, ", days, plural)
	}
	fmt.Fprintf(&b, "%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if micros != 0 {
		fmt.Fprintf(&b, ".%06d", micros)
	}
	return b.String()
}

// repr prints the delta as Python's repr(timedelta).
func (td timeDelta) repr() string {
	days, secs, micros := td.parts()
	var parts []string
	if days != 0 {
		parts = append(parts, fmt.Sprintf("days=%d", days))
	}
	if secs != 0 {
		parts = append(parts, fmt.Sprintf("seconds=%d", secs))
	}
	if micros != 0 {
		parts = append(parts, fmt.Sprintf("microseconds=%d", micros))
	}
	if len(parts) == 0 {
		return "datetime.timedelta(0)"
	}
	return "datetime.timedelta(" + strings.Join(parts, ", ") + ")"
}

// GetAttribute implements exec.AttributeGetter: days, seconds,
// microseconds and total_seconds().
func (td timeDelta) GetAttribute(name string) (*exec.Value, bool) {
	days, secs, micros := td.parts()
	switch name {
	case "days":
		return exec.AsValue(int(days)), true
	case "seconds":
		return exec.AsValue(int(secs)), true
	case "microseconds":
		return exec.AsValue(int(micros)), true
	case "total_seconds":
		return exec.AsValue(noArgs(name, func() any { return td.d.Seconds() })), true
	}
	return exec.AsValue(nil), false
}

// newTimedelta implements macros.timedelta(days=0, seconds=0,
// microseconds=0, milliseconds=0, minutes=0, hours=0, weeks=0), Python's
// parameters in Python's order; each may be an int or a float.
func newTimedelta(va *exec.VarArgs) (any, error) {
	names := []string{"days?", "seconds?", "microseconds?", "milliseconds?", "minutes?", "hours?", "weeks?"}
	units := []float64{86400e9, 1e9, 1e3, 1e6, 60e9, 3600e9, 7 * 86400e9}
	a, err := unpack("timedelta", va, names...)
	if err != nil {
		return nil, err
	}
	var total float64
	for i, unit := range units {
		if !a.has(i) {
			continue
		}
		v := a.vals[i]
		if !isNumber(v) {
			return nil, fmt.Errorf("timedelta: %s must be a number, got %s", a.names[i], describe(v))
		}
		total += v.Float() * unit
	}
	if math.IsNaN(total) || math.Abs(total) > math.MaxInt64 {
		return nil, fmt.Errorf("timedelta: out of range")
	}
	return timeDelta{time.Duration(math.Round(total/1e3) * 1e3)}, nil
}

package dags

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// durationHint ends every duration error with the forms users may write.
const durationHint = `write e.g. "30s", "5m", "1h30m", "2d"`

// MaxDuration is the longest duration ParseDuration accepts: 100 years of
// 24-hour days (36500d), far below time.Duration's limit of about 292
// years, so adding one to any realistic time never overflows.
const MaxDuration = 100 * 365 * 24 * time.Hour

// durationUnits maps the units ParseDuration knows to their length.
var durationUnits = map[string]time.Duration{
	"d":  24 * time.Hour,
	"h":  time.Hour,
	"m":  time.Minute,
	"s":  time.Second,
	"ms": time.Millisecond,
}

// ParseDuration reads a duration as users write it in DAG files: a sequence
// of numbers, each followed by one of the units d, h, m, s, ms ("30s", "5m",
// "1h30m", "2d", "1d12h", "1.5h", "250ms"), units case-insensitive. A bare
// number alone is seconds ("90"). Negative durations, exponents, NaN and
// durations longer than MaxDuration are rejected. Decimal fractions are
// computed exactly to the nanosecond, so FormatDuration round-trips.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration (%s)", durationHint)
	}
	if in[0] == '-' {
		return 0, fmt.Errorf("bad duration %q: negative durations are not allowed", s)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (isDigit(rest[i]) || rest[i] == '.') {
			i++
		}
		if i == 0 {
			if isLetter(rest[0]) {
				return 0, fmt.Errorf("bad duration %q: expected a number before %q (%s)", s, rest, durationHint)
			}
			return 0, fmt.Errorf("bad duration %q: unexpected %q (%s)", s, rest, durationHint)
		}
		num := rest[:i]
		rest = rest[i:]
		j := 0
		for j < len(rest) && isLetter(rest[j]) {
			j++
		}
		unit := strings.ToLower(rest[:j])
		rest = rest[j:]
		scale, ok := durationUnits[unit]
		switch {
		case unit == "" && num == in:
			scale = time.Second // a bare number is seconds
		case unit == "":
			return 0, fmt.Errorf("bad duration %q: missing unit after %q (known: d, h, m, s, ms)", s, num)
		case !ok:
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (known: d, h, m, s, ms)", s, unit)
		}
		part, err := scaleDecimal(num, scale)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: %w", s, err)
		}
		if part > MaxDuration-total {
			return 0, fmt.Errorf("bad duration %q: longer than the maximum of %s", s, FormatDuration(MaxDuration))
		}
		total += part
	}
	return total, nil
}

// errTooLong marks a number that overflows MaxDuration in scaleDecimal.
var errTooLong = fmt.Errorf("longer than the maximum of %s", FormatDuration(MaxDuration))

// scaleDecimal returns num (digits with at most one '.') times unit,
// computed in integers for the whole part so that no precision is lost.
func scaleDecimal(num string, unit time.Duration) (time.Duration, error) {
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") {
		return 0, fmt.Errorf("%q is not a number", num)
	}
	var w int64
	for k := 0; k < len(whole); k++ {
		if w > (int64(MaxDuration)-9)/10 {
			return 0, errTooLong
		}
		w = w*10 + int64(whole[k]-'0')
	}
	if w > int64(MaxDuration/unit) {
		return 0, errTooLong
	}
	d := time.Duration(w) * unit
	if frac != "" {
		// At most 18 digits are significant; more cannot change a
		// nanosecond count below MaxDuration.
		if len(frac) > 18 {
			frac = frac[:18]
		}
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", num)
		}
		d += time.Duration(math.Round(float64(f) * (float64(unit) / math.Pow10(len(frac)))))
	}
	if d > MaxDuration {
		return 0, errTooLong
	}
	return d, nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// FormatDuration writes d the way ParseDuration reads it, with the largest
// units first ("2d", "1d12h", "1h30m", "45s", "1.5s", "250ms", "0s").
// Every non-negative duration up to MaxDuration round-trips exactly;
// negative durations get a leading "-" (which ParseDuration rejects).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u // also right for math.MinInt64
	}
	const (
		second = uint64(time.Second)
		minute = uint64(time.Minute)
		hour   = uint64(time.Hour)
		day    = 24 * hour
	)
	small := u < second
	for _, p := range []struct {
		size uint64
		unit string
	}{{day, "d"}, {hour, "h"}, {minute, "m"}} {
		if n := u / p.size; n > 0 {
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteString(p.unit)
			u -= n * p.size
		}
	}
	switch {
	case u == 0:
	case u%second == 0:
		b.WriteString(strconv.FormatUint(u/second, 10))
		b.WriteByte('s')
	case small && u%uint64(time.Millisecond) == 0:
		b.WriteString(strconv.FormatUint(u/uint64(time.Millisecond), 10))
		b.WriteString("ms")
	default:
		frac := strings.TrimRight(fmt.Sprintf("%09d", u%second), "0")
		fmt.Fprintf(&b, "%d.%ss", u/second, frac)
	}
	return b.String()
}

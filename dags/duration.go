package dags

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as users write it in DAG files: a sequence
// of numbers with the units d, h, m, s, ms ("30s", "5m", "1h30m", "2d",
// "1d12h"). A bare number is seconds. Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration (write e.g. \"30s\", \"5m\", \"1h30m\", \"2d\")")
	}
	if n, err := strconv.ParseFloat(in, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return secondsToDuration(n)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q: expected a number at %q (write e.g. \"30s\", \"5m\", \"1h30m\", \"2d\")", s, rest)
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: %q is not a number", s, rest[:i])
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit := strings.ToLower(rest[:j])
		rest = rest[j:]
		var scale time.Duration
		switch unit {
		case "d":
			scale = 24 * time.Hour
		case "h":
			scale = time.Hour
		case "m":
			scale = time.Minute
		case "s", "":
			scale = time.Second
		case "ms":
			scale = time.Millisecond
		default:
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (known: d, h, m, s, ms)", s, unit)
		}
		part := num * float64(scale)
		if part > float64(maxDuration) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(part)
		if total < 0 || total > maxDuration {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
	}
	return total, nil
}

// maxDuration bounds every duration to about 290 years' less a margin, so
// arithmetic with times never overflows.
const maxDuration = time.Duration(100 * 365 * 24 * time.Hour)

func secondsToDuration(n float64) (time.Duration, error) {
	d := n * float64(time.Second)
	if d > float64(maxDuration) {
		return 0, fmt.Errorf("duration of %g seconds is too long", n)
	}
	return time.Duration(d), nil
}

// FormatDuration writes d the way ParseDuration reads it, with days for
// whole days ("2d", "1h30m", "45s", "0s").
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if d > 0 {
		if d%time.Second == 0 {
			fmt.Fprintf(&b, "%ds", d/time.Second)
		} else {
			fmt.Fprintf(&b, "%gs", d.Seconds())
		}
	}
	return b.String()
}

// ParseDate reads a date as users write it: "2024-01-01", "2024-01-01 10:00",
// "2024-01-01T10:00:00" (all in loc, UTC when nil) or RFC 3339 with an offset.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	in := strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, in); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, in, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q (write \"2024-01-01\" or RFC 3339 such as \"2024-01-01T06:00:00Z\")", s)
}

package dags

import (
	"fmt"
	"strings"
	"time"
)

// localDateLayouts are the forms ParseDate reads as wall-clock times in the
// given location.
var localDateLayouts = []string{
	"2006-01-02",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// ParseDate reads a date as users write it: "2024-01-01", "2024-01-01 10:00",
// "2024-01-01T10:00:00" (wall-clock times in loc, UTC when nil) or RFC 3339
// with an offset ("2024-01-01T06:00:00Z", "2024-01-01 06:00:00+01:00").
//
// A wall-clock time that a DST change makes ambiguous or skips is resolved
// as Airflow resolves it: a repeated time is its second occurrence (after
// the clocks went back) and a skipped time is moved forward by the length
// of the gap ("2024-03-31 02:30" in Europe/Amsterdam is 03:30 CEST).
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	in := strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, in); err == nil {
			return t, nil
		}
	}
	for _, layout := range localDateLayouts {
		if t, err := time.Parse(layout, in); err == nil {
			return wallClock(t, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q (write \"2024-01-01\", \"2024-01-01 06:00\" or RFC 3339 such as \"2024-01-01T06:00:00Z\")", s)
}

// wallClock returns the instant at which clocks in loc show the wall-clock
// reading of naive (whose own location is ignored). Readings that a DST
// change repeats resolve to their second occurrence; readings it skips move
// forward by the length of the gap. time.Date leaves both choices
// unspecified, so they are made here explicitly.
func wallClock(naive time.Time, loc *time.Location) time.Time {
	y, mo, d := naive.Date()
	h, mi, s := naive.Clock()
	ns := naive.Nanosecond()
	t := time.Date(y, mo, d, h, mi, s, ns, loc)
	u := time.Date(y, mo, d, h, mi, s, ns, time.UTC) // the reading as if it were UTC
	// Offsets in force well before and well after the reading; zones never
	// change offset twice within three days.
	_, before := u.Add(-36 * time.Hour).In(loc).Zone()
	_, after := u.Add(36 * time.Hour).In(loc).Zone()
	if before == after {
		return t
	}
	early := u.Add(-time.Duration(before) * time.Second) // the reading under the old offset
	late := u.Add(-time.Duration(after) * time.Second)   // the reading under the new offset
	_, offEarly := early.In(loc).Zone()
	_, offLate := late.In(loc).Zone()
	okEarly, okLate := offEarly == before, offLate == after
	switch {
	case okEarly && okLate: // repeated reading: take the later instant
		if late.After(early) {
			return late.In(loc)
		}
		return early.In(loc)
	case okLate:
		return late.In(loc)
	case okEarly:
		return early.In(loc)
	default: // skipped reading: keep the old offset, which moves it forward
		return early.In(loc)
	}
}

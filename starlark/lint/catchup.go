package lint

import (
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/starflow-dev/starflow/dags"
)

// catchupRuns counts the runs a catchup from d.StartDate to now creates
// with data-interval semantics: one per interval that has ended by now and
// does not start after d.EndDate. Past MaxCatchupCount it stops and reports
// capped.
//
// The count is the one walking the schedule with Schedule.Next gives
// (tickRuns), computed faster: interval schedules by division, cron
// schedules a day at a time (countTicks).
func catchupRuns(d *dags.DAG, now time.Time) (n int, capped bool) {
	switch d.Schedule.Kind {
	case dags.ScheduleInterval:
		return intervalRuns(d.StartDate, d.EndDate, now, d.Schedule.Every)
	case dags.ScheduleCron:
	default:
		return 0, false
	}
	spec := cronSpec(d.Schedule)
	if spec == nil {
		return tickRuns(d, now)
	}
	loc := d.Timezone
	if loc == nil {
		loc = time.UTC
	}
	first := d.Schedule.Align(d.StartDate, loc)
	if first.IsZero() {
		return 0, false
	}
	// Every tick up to now starts a run except the last, whose interval has
	// not ended; an end_date drops the ticks after it.
	const limit = MaxCatchupCount + 2
	n = countTicks(d.Schedule, spec, loc, first, now, limit) - 1
	if !d.EndDate.IsZero() && d.EndDate.Before(now) {
		n = min(n, countTicks(d.Schedule, spec, loc, first, d.EndDate, limit))
	}
	if n > MaxCatchupCount {
		return MaxCatchupCount, true
	}
	return max(n, 0), false
}

// tickRuns is catchupRuns by walking the schedule with Next, a tick at a
// time (about a microsecond each). It is the reference the fast paths are
// tested against, and the fallback for a cron expression cronSpec cannot
// read.
func tickRuns(d *dags.DAG, now time.Time) (n int, capped bool) {
	logical := d.Schedule.Align(d.StartDate, d.Timezone)
	for {
		if !d.EndDate.IsZero() && logical.After(d.EndDate) {
			return n, false
		}
		end := d.Schedule.Next(logical, d.Timezone)
		if end.IsZero() || end.After(now) || !end.After(logical) {
			return n, false
		}
		if n++; n > MaxCatchupCount {
			return MaxCatchupCount, true
		}
		logical = end
	}
}

// intervalRuns counts the k >= 0 with start+(k+1)*every <= now and, when
// end is set, start+k*every <= end.
func intervalRuns(start, end, now time.Time, every time.Duration) (n int, capped bool) {
	if every <= 0 || now.Before(start) {
		return 0, false
	}
	count := int64(now.Sub(start) / every)
	if !end.IsZero() {
		if end.Before(start) {
			return 0, false
		}
		count = min(count, int64(end.Sub(start)/every)+1)
	}
	if count > MaxCatchupCount {
		return MaxCatchupCount, true
	}
	return int(count), false
}

// cronSpec reads the cron expression of s into robfig/cron's bit sets, with
// Airflow's presets expanded as dags.ParseSchedule does, or returns nil.
func cronSpec(s dags.Schedule) *cron.SpecSchedule {
	expr := strings.TrimSpace(s.Expr)
	switch strings.ToLower(expr) {
	case "@hourly":
		expr = "0 * * * *"
	case "@daily", "@midnight":
		expr = "0 0 * * *"
	case "@weekly":
		expr = "0 0 * * 0"
	case "@monthly":
		expr = "0 0 1 * *"
	case "@quarterly":
		expr = "0 0 1 */3 *"
	case "@yearly", "@annually":
		expr = "0 0 1 1 *"
	}
	c, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(expr)
	if err != nil {
		return nil
	}
	spec, _ := c.(*cron.SpecSchedule)
	return spec
}

// dstWindow is how far from a change of UTC offset a day must be for its
// ticks to be exactly its matching wall-clock readings; near a change,
// Schedule.Next may move a tick by up to the size of the change.
const dstWindow = 3 * time.Hour

// countTicks counts the ticks of sched in [from, to], stopping at limit.
// It goes a local day at a time: on a day away from any change of UTC
// offset the ticks are the matching readings of the wall clock, counted
// from spec's bit sets; a day near a change is walked with sched.Next, so
// the count is always the one Next gives. Calm days are handled in Unix
// seconds, as time.Time arithmetic would cost most of the time.
func countTicks(sched dags.Schedule, spec *cron.SpecSchedule, loc *time.Location, from, to time.Time, limit int) int {
	if to.Before(from) {
		return 0
	}
	const daySecs = 24 * 60 * 60
	window := int64(dstWindow / time.Second)
	// Ticks fall on whole seconds: tick >= from is tick >= fromS, and
	// tick <= to is tick <= toS.
	fromS, toS := from.Unix(), to.Unix()
	if from.Nanosecond() > 0 {
		fromS++
	}
	local := from.In(loc)
	y, mo, dd := local.Date()
	wd := local.Weekday()
	day := time.Date(y, mo, dd, 0, 0, 0, 0, loc).Unix()
	fullDay := countMinutes(spec, 0, 24*60-1)
	zoneEnd, zoneKnown := int64(0), false // end of the UTC offset in effect at day-window; 0: none
	n := 0
	for n < limit && day <= toS {
		before := day - window
		if !zoneKnown || zoneEnd != 0 && before >= zoneEnd {
			_, end := time.Unix(before, 0).In(loc).ZoneBounds()
			zoneEnd, zoneKnown = 0, true
			if !end.IsZero() {
				zoneEnd = end.Unix()
			}
		}
		calm := zoneEnd == 0 || zoneEnd > day+daySecs+window
		var next int64
		if calm {
			next = day + daySecs
		} else if next = time.Date(y, mo, dd+1, 0, 0, 0, 0, loc).Unix(); next < day {
			next = day // a day the zone skipped: nothing in it
		}
		switch {
		case calm && dayMatches(spec, mo, dd, wd):
			lo, hi := int64(0), int64(24*60-1)
			if fromS > day {
				lo = (fromS - day + 59) / 60
			}
			if toS < next {
				hi = (toS - day) / 60
			}
			if lo == 0 && hi == 24*60-1 {
				n += fullDay
			} else if lo <= hi {
				n += countMinutes(spec, int(lo), int(hi))
			}
		case !calm:
			start := max(day, fromS)
			end := min(next-1, toS)
			for t := sched.Next(time.Unix(start, 0).Add(-time.Nanosecond), loc); !t.IsZero() && t.Unix() <= end && n < limit; t = sched.Next(t, loc) {
				n++
			}
		}
		day = next
		y, mo, dd, wd = nextDate(y, mo, dd, wd)
	}
	return min(n, limit)
}

// dayMatches applies cron's day rule: when day-of-month or day-of-week is
// "*", both must match; otherwise either may.
func dayMatches(spec *cron.SpecSchedule, mo time.Month, dd int, wd time.Weekday) bool {
	const star = 1 << 63
	if spec.Month&(1<<uint(mo)) == 0 {
		return false
	}
	dom := spec.Dom&(1<<uint(dd)) != 0
	dow := spec.Dow&(1<<uint(wd)) != 0
	if spec.Dom&star != 0 || spec.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// countMinutes counts the minutes of a day, lo to hi inclusive (0 is
// 00:00, 1439 is 23:59), whose hour and minute match spec.
func countMinutes(spec *cron.SpecSchedule, lo, hi int) int {
	n := 0
	for h := lo / 60; h <= hi/60; h++ {
		if spec.Hour&(1<<uint(h)) == 0 {
			continue
		}
		a, b := 0, 59
		if h == lo/60 {
			a = lo % 60
		}
		if h == hi/60 {
			b = hi % 60
		}
		mask := (uint64(1)<<uint(b+1) - 1) &^ (uint64(1)<<uint(a) - 1)
		n += bits.OnesCount64(spec.Minute & mask)
	}
	return n
}

// nextDate returns the calendar day after y-mo-dd, and its weekday.
func nextDate(y int, mo time.Month, dd int, wd time.Weekday) (int, time.Month, int, time.Weekday) {
	wd = (wd + 1) % 7
	if dd < daysIn(y, mo) {
		return y, mo, dd + 1, wd
	}
	if mo == time.December {
		return y + 1, time.January, 1, wd
	}
	return y, mo + 1, 1, wd
}

// daysIn returns the number of days of month mo of year y.
func daysIn(y int, mo time.Month) int {
	switch mo {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

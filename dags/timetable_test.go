package dags

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// at parses "2024-01-01", "2024-01-01T10:00" or "2024-01-01T10:00:05" as UTC.
func at(s string) time.Time {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	panic("bad test time " + s)
}

// zone loads a time zone or fails the test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s (is tzdata installed?): %v", name, err)
	}
	return loc
}

// ttDAG is a DAG with only what a timetable reads; start and end are at()
// strings, "" for unset.
func ttDAG(t testing.TB, schedule, tz, start, end string, catchup bool) *DAG {
	t.Helper()
	s, err := ParseSchedule(schedule)
	if err != nil {
		t.Fatalf("ParseSchedule(%q): %v", schedule, err)
	}
	d := New("tt", Pos{File: "tt.star", Line: 1})
	d.Schedule, d.Catchup = s, catchup
	if tz != "" {
		d.Timezone = zone(t, tz)
	}
	if start != "" {
		d.StartDate = at(start)
	}
	if end != "" {
		d.EndDate = at(end)
	}
	return d
}

// dueRuns does what a scheduler does: it calls NextDagRun, feeding back the
// last interval, while the next run is due at now. It also returns the
// first run not yet due, if any, and checks the invariants every run keeps.
func dueRuns(t testing.TB, d *DAG, now time.Time) (due []DagRunInfo, pending *DagRunInfo) {
	t.Helper()
	var last *DataInterval
	for range 100_000 {
		info, ok := d.NextDagRun(last, now)
		if !ok {
			return due, nil
		}
		checkInfo(t, info)
		if info.RunAfter.After(now) {
			return due, &info
		}
		if last != nil && !info.DataIntervalStart.After(last.Start) {
			t.Fatalf("run %v does not start after the last one %v", info, *last)
		}
		due = append(due, info)
		iv := info.Interval()
		last = &iv
	}
	t.Fatalf("more than 100,000 runs due")
	return nil, nil
}

// checkInfo checks what holds for every run: UTC times, logical date =
// start, RunAfter = end, start <= end.
func checkInfo(t testing.TB, info DagRunInfo) {
	t.Helper()
	for _, tm := range []time.Time{info.LogicalDate, info.DataIntervalStart, info.DataIntervalEnd, info.RunAfter} {
		if tm.Location() != time.UTC {
			t.Fatalf("run %v: time %s is not in UTC", info, tm)
		}
	}
	if !info.LogicalDate.Equal(info.DataIntervalStart) || !info.RunAfter.Equal(info.DataIntervalEnd) || info.DataIntervalEnd.Before(info.DataIntervalStart) {
		t.Fatalf("run %v: want logical = start <= end = run_after", info)
	}
}

func days(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, d := range n {
		out[i] = time.Duration(d) * 24 * time.Hour
	}
	return out
}

func hours(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, h := range n {
		out[i] = time.Duration(h) * time.Hour
	}
	return out
}

func TestNextDagRunIterated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		schedule, tz         string
		start, end           string
		catchup              bool
		now                  string
		logicals             []string        // due runs' logical dates, in order
		lastEnd              string          // end of the last due run
		lengths              []time.Duration // lengths of the due runs' intervals; nil: not checked
		pending, pendingEnds string          // the next run not yet due; "" when there is none
	}{
		{name: "daily with catchup makes one run per complete day (AIRFLOW.md 3.3)",
			schedule: "@daily", start: "2024-01-01", catchup: true, now: "2024-01-11T10:00",
			logicals: []string{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
				"2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09", "2024-01-10"},
			lastEnd: "2024-01-11", pending: "2024-01-11", pendingEnds: "2024-01-12"},
		{name: "daily without catchup makes only the latest complete day (AIRFLOW.md 3.3)",
			schedule: "@daily", start: "2024-01-01", now: "2024-01-11T10:00",
			logicals: []string{"2024-01-10"}, lastEnd: "2024-01-11", pending: "2024-01-11", pendingEnds: "2024-01-12"},
		{name: "without catchup at a tick the interval ending now is due",
			schedule: "@daily", start: "2024-01-01", now: "2024-01-11",
			logicals: []string{"2024-01-10"}, lastEnd: "2024-01-11", pending: "2024-01-11", pendingEnds: "2024-01-12"},
		{name: "hourly",
			schedule: "@hourly", start: "2024-01-01", catchup: true, now: "2024-01-01T05:30",
			logicals: []string{"2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T02:00", "2024-01-01T03:00", "2024-01-01T04:00"},
			lastEnd:  "2024-01-01T05:00", lengths: hours(1, 1, 1, 1, 1), pending: "2024-01-01T05:00", pendingEnds: "2024-01-01T06:00"},
		{name: "weekly runs from Sunday to Sunday, a Wednesday start aligned forward",
			schedule: "@weekly", start: "2024-01-03", catchup: true, now: "2024-02-01",
			logicals: []string{"2024-01-07", "2024-01-14", "2024-01-21"},
			lastEnd:  "2024-01-28", lengths: days(7, 7, 7), pending: "2024-01-28", pendingEnds: "2024-02-04"},
		{name: "monthly intervals are calendar months",
			schedule: "@monthly", start: "2024-01-01", catchup: true, now: "2025-01-01",
			logicals: []string{"2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01",
				"2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01", "2024-11-01", "2024-12-01"},
			lastEnd: "2025-01-01", lengths: days(31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31),
			pending: "2025-01-01", pendingEnds: "2025-02-01"},
		{name: "yearly, a mid-year start aligned to the next new year",
			schedule: "@yearly", start: "2023-06-01", catchup: true, now: "2026-03-01",
			logicals: []string{"2024-01-01", "2025-01-01"}, lastEnd: "2026-01-01", lengths: days(366, 365),
			pending: "2026-01-01", pendingEnds: "2027-01-01"},
		{name: "weekday cron with minutes spans the weekend",
			schedule: "30 6 * * 1-5", start: "2024-01-05", catchup: true, now: "2024-01-10T12:00",
			logicals: []string{"2024-01-05T06:30", "2024-01-08T06:30", "2024-01-09T06:30"},
			lastEnd:  "2024-01-10T06:30", lengths: hours(72, 24, 24), pending: "2024-01-10T06:30", pendingEnds: "2024-01-11T06:30"},
		{name: "start date off the tick is aligned forward",
			schedule: "@daily", start: "2024-01-01T10:00", catchup: true, now: "2024-01-04",
			logicals: []string{"2024-01-02", "2024-01-03"}, lastEnd: "2024-01-04", pending: "2024-01-04", pendingEnds: "2024-01-05"},
		{name: "15m interval keeps the start date's grid",
			schedule: "15m", start: "2024-01-01T00:07", catchup: true, now: "2024-01-01T01:00",
			logicals: []string{"2024-01-01T00:07", "2024-01-01T00:22", "2024-01-01T00:37"},
			lastEnd:  "2024-01-01T00:52", pending: "2024-01-01T00:52", pendingEnds: "2024-01-01T01:07"},
		{name: "1d interval: the run ending exactly now is due",
			schedule: "1d", start: "2024-01-01", catchup: true, now: "2024-01-04",
			logicals: []string{"2024-01-01", "2024-01-02", "2024-01-03"}, lastEnd: "2024-01-04", lengths: days(1, 1, 1),
			pending: "2024-01-04", pendingEnds: "2024-01-05"},
		{name: "1d interval without catchup",
			schedule: "1d", start: "2024-01-01", now: "2024-01-11T10:00",
			logicals: []string{"2024-01-10"}, lastEnd: "2024-01-11", pending: "2024-01-11", pendingEnds: "2024-01-12"},
		{name: "15m interval without catchup skips to Airflow's epoch grid",
			schedule: "15m", start: "2024-01-01T00:07", now: "2024-01-01T10:05",
			logicals: []string{"2024-01-01T09:45"}, lastEnd: "2024-01-01T10:00", pending: "2024-01-01T10:00", pendingEnds: "2024-01-01T10:15"},
		{name: "end date: the run starting on it is the last",
			schedule: "@daily", start: "2024-01-01", end: "2024-01-05", catchup: true, now: "2024-02-01",
			logicals: []string{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"}, lastEnd: "2024-01-06"},
		{name: "end date off the tick",
			schedule: "@daily", start: "2024-01-01", end: "2024-01-03T12:00", catchup: true, now: "2024-02-01",
			logicals: []string{"2024-01-01", "2024-01-02", "2024-01-03"}, lastEnd: "2024-01-04"},
		{name: "end date before the latest complete interval without catchup",
			schedule: "@daily", start: "2024-01-01", end: "2024-01-05", now: "2024-02-01"},
		{name: "start date in the future without catchup waits for it",
			schedule: "@daily", start: "2024-06-01", now: "2024-01-11",
			pending: "2024-06-01", pendingEnds: "2024-06-02"},
		{name: "@once runs once at the start date",
			schedule: "@once", start: "2024-01-01T10:00", now: "2024-02-01",
			logicals: []string{"2024-01-01T10:00"}, lastEnd: "2024-01-01T10:00", lengths: hours(0)},
		{name: "@once ignores catchup",
			schedule: "@once", start: "2024-01-01T10:00", catchup: true, now: "2030-01-01",
			logicals: []string{"2024-01-01T10:00"}, lastEnd: "2024-01-01T10:00"},
		{name: "@once in the future is pending",
			schedule: "@once", start: "2024-03-01", now: "2024-01-01",
			pending: "2024-03-01", pendingEnds: "2024-03-01"},
		{name: "@once after its end date never runs",
			schedule: "@once", start: "2024-03-01", end: "2024-02-01", now: "2025-01-01"},
		{name: "None never runs",
			schedule: "None", start: "2024-01-01", catchup: true, now: "2025-01-01"},
		{name: "periodic without a start date never runs",
			schedule: "@daily", catchup: true, now: "2025-01-01"},
		{name: "@once without a start date never runs",
			schedule: "@once", now: "2025-01-01"},
		{name: "Amsterdam 02:00 when clocks go forward: 03:00 CEST, then a 23-hour interval",
			schedule: "0 2 * * *", tz: "Europe/Amsterdam", start: "2024-03-28T23:00", catchup: true, now: "2024-04-02",
			logicals: []string{"2024-03-29T01:00", "2024-03-30T01:00", "2024-03-31T01:00", "2024-04-01T00:00"},
			lastEnd:  "2024-04-02T00:00", lengths: hours(24, 24, 23, 24), pending: "2024-04-02T00:00", pendingEnds: "2024-04-03T00:00"},
		{name: "Amsterdam 02:00 when clocks go back: the second 02:00, a 25-hour interval",
			schedule: "0 2 * * *", tz: "Europe/Amsterdam", start: "2024-10-25", catchup: true, now: "2024-10-29T02:00",
			logicals: []string{"2024-10-25T00:00", "2024-10-26T00:00", "2024-10-27T01:00", "2024-10-28T01:00"},
			lastEnd:  "2024-10-29T01:00", lengths: hours(24, 25, 24, 24), pending: "2024-10-29T01:00", pendingEnds: "2024-10-30T01:00"},
		{name: "New York 01:30 when clocks go forward",
			schedule: "30 1 * * *", tz: "America/New_York", start: "2024-03-09", catchup: true, now: "2024-03-12T12:00",
			logicals: []string{"2024-03-09T06:30", "2024-03-10T06:30", "2024-03-11T05:30"},
			lastEnd:  "2024-03-12T05:30", lengths: hours(24, 23, 24), pending: "2024-03-12T05:30", pendingEnds: "2024-03-13T05:30"},
		{name: "New York 01:30 when clocks go back",
			schedule: "30 1 * * *", tz: "America/New_York", start: "2024-11-02", catchup: true, now: "2024-11-04T12:00",
			logicals: []string{"2024-11-02T05:30", "2024-11-03T06:30"},
			lastEnd:  "2024-11-04T06:30", lengths: hours(25, 24), pending: "2024-11-04T06:30", pendingEnds: "2024-11-05T06:30"},
		{name: "New York daily without catchup: the latest complete local day",
			schedule: "@daily", tz: "America/New_York", start: "2024-01-01", now: "2024-07-04T03:00",
			logicals: []string{"2024-07-02T04:00"}, lastEnd: "2024-07-03T04:00", pending: "2024-07-03T04:00", pendingEnds: "2024-07-04T04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ttDAG(t, tt.schedule, tt.tz, tt.start, tt.end, tt.catchup)
			due, pending := dueRuns(t, d, at(tt.now))
			var got []string
			for i, r := range due {
				got = append(got, r.LogicalDate.Format("2006-01-02T15:04"))
				if i > 0 && !r.DataIntervalStart.Equal(due[i-1].DataIntervalEnd) {
					t.Errorf("run %d starts at %s, not where run %d ended (%s)", i, r.DataIntervalStart, i-1, due[i-1].DataIntervalEnd)
				}
			}
			var want []string
			for _, l := range tt.logicals {
				want = append(want, at(l).Format("2006-01-02T15:04"))
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("due runs' logical dates:\n got %v\nwant %v", got, want)
			}
			if len(due) > 0 && !due[len(due)-1].DataIntervalEnd.Equal(at(tt.lastEnd)) {
				t.Errorf("last due run ends at %s, want %s", due[len(due)-1].DataIntervalEnd, at(tt.lastEnd))
			}
			if tt.lengths != nil {
				for i, r := range due {
					if l := r.DataIntervalEnd.Sub(r.DataIntervalStart); l != tt.lengths[i] {
						t.Errorf("run %d (%s) lasts %v, want %v", i, r.LogicalDate, l, tt.lengths[i])
					}
				}
			}
			switch {
			case tt.pending == "" && pending != nil:
				t.Errorf("pending run %v, want none", *pending)
			case tt.pending != "" && pending == nil:
				t.Errorf("no pending run, want one at %s", tt.pending)
			case pending != nil && (!pending.LogicalDate.Equal(at(tt.pending)) || !pending.DataIntervalEnd.Equal(at(tt.pendingEnds))):
				t.Errorf("pending run [%s, %s), want [%s, %s)", pending.DataIntervalStart, pending.DataIntervalEnd, tt.pending, tt.pendingEnds)
			}
		})
	}
}

func TestNextDagRunAfterLast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		schedule     string
		catchup      bool
		last         [2]string
		now          string
		start, wantE string // "" start: no run
	}{
		{"catchup resumes where the last run ended", "@hourly", true,
			[2]string{"2024-01-01T05:00", "2024-01-01T06:00"}, "2024-03-05T10:30", "2024-01-01T06:00", "2024-01-01T07:00"},
		{"no catchup after a long pause skips to the latest complete hour", "@hourly", false,
			[2]string{"2024-01-01T05:00", "2024-01-01T06:00"}, "2024-03-05T10:30", "2024-03-05T09:00", "2024-03-05T10:00"},
		{"no catchup right after the last run goes on from it", "@hourly", false,
			[2]string{"2024-03-05T08:00", "2024-03-05T09:00"}, "2024-03-05T09:00:01", "2024-03-05T09:00", "2024-03-05T10:00"},
		{"no catchup with an interval schedule after a pause", "1h", false,
			[2]string{"2024-01-01T05:00", "2024-01-01T06:00"}, "2024-03-05T10:30", "2024-03-05T09:00", "2024-03-05T10:00"},
		{"a changed schedule: the last end is aligned back to a tick", "@daily", true,
			[2]string{"2023-12-30T00:00", "2024-01-02T12:00"}, "2024-02-01", "2024-01-02", "2024-01-03"},
		{"a changed schedule never repeats the last logical date", "@daily", true,
			[2]string{"2024-01-02T00:00", "2024-01-02T12:00"}, "2024-02-01", "2024-01-03", "2024-01-04"},
		{"a run before the start date does not pull runs before it", "@daily", true,
			[2]string{"2023-06-01", "2023-06-02"}, "2024-02-01", "2024-01-01", "2024-01-02"},
		{"@once never runs twice", "@once", true,
			[2]string{"2024-01-01", "2024-01-01"}, "2024-02-01", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ttDAG(t, tt.schedule, "", "2024-01-01", "", tt.catchup)
			info, ok := d.NextDagRun(&DataInterval{Start: at(tt.last[0]), End: at(tt.last[1])}, at(tt.now))
			if tt.start == "" {
				if ok {
					t.Fatalf("NextDagRun = %v, want no run", info)
				}
				return
			}
			if !ok {
				t.Fatalf("NextDagRun: no run, want [%s, %s)", tt.start, tt.wantE)
			}
			checkInfo(t, info)
			if !info.DataIntervalStart.Equal(at(tt.start)) || !info.DataIntervalEnd.Equal(at(tt.wantE)) {
				t.Errorf("NextDagRun = [%s, %s), want [%s, %s)", info.DataIntervalStart, info.DataIntervalEnd, tt.start, tt.wantE)
			}
		})
	}
}

func TestDagRunsBetween(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		schedule             string
		start, end           string
		from, to             string
		want                 []string // logical dates
		wantLastEnd          string
		catchup              bool
		startDateUnsetForRun bool
	}{
		{name: "both ends inclusive, from aligned forward", schedule: "@daily", start: "2024-01-01",
			from: "2024-01-03T05:00", to: "2024-01-06", want: []string{"2024-01-04", "2024-01-05", "2024-01-06"}, wantLastEnd: "2024-01-07"},
		{name: "nothing before the start date", schedule: "@daily", start: "2024-01-01",
			from: "2023-12-01", to: "2024-01-03", want: []string{"2024-01-01", "2024-01-02", "2024-01-03"}, wantLastEnd: "2024-01-04"},
		{name: "nothing after the end date", schedule: "@daily", start: "2024-01-01", end: "2024-01-04",
			from: "2024-01-01", to: "2024-01-10", want: []string{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}, wantLastEnd: "2024-01-05"},
		{name: "catchup=False is ignored", schedule: "@daily", start: "2024-01-01", catchup: false,
			from: "2024-01-01", to: "2024-01-02", want: []string{"2024-01-01", "2024-01-02"}, wantLastEnd: "2024-01-03"},
		{name: "a range without ticks", schedule: "@monthly", start: "2024-01-01",
			from: "2024-01-02", to: "2024-01-31"},
		{name: "a range entirely before the start date", schedule: "@daily", start: "2024-01-01",
			from: "2023-01-01", to: "2023-02-01"},
		{name: "interval on the start date's grid", schedule: "15m", start: "2024-01-01T00:07",
			from: "2024-01-01T00:10", to: "2024-01-01T01:00", want: []string{"2024-01-01T00:22", "2024-01-01T00:37", "2024-01-01T00:52"}, wantLastEnd: "2024-01-01T01:07"},
		{name: "interval from before the start date", schedule: "15m", start: "2024-01-01T00:07",
			from: "2023-12-31", to: "2024-01-01T00:22", want: []string{"2024-01-01T00:07", "2024-01-01T00:22"}, wantLastEnd: "2024-01-01T00:37"},
		{name: "interval without a start date on the range's grid", schedule: "15m",
			from: "2024-01-01T00:10", to: "2024-01-01T00:40", want: []string{"2024-01-01T00:10", "2024-01-01T00:25", "2024-01-01T00:40"}, wantLastEnd: "2024-01-01T00:55"},
		{name: "cron without a start date", schedule: "@daily",
			from: "2024-01-01T10:00", to: "2024-01-03", want: []string{"2024-01-02", "2024-01-03"}, wantLastEnd: "2024-01-04"},
		{name: "@once inside the range", schedule: "@once", start: "2024-01-05T10:00",
			from: "2024-01-01", to: "2024-01-31", want: []string{"2024-01-05T10:00"}, wantLastEnd: "2024-01-05T10:00"},
		{name: "@once outside the range", schedule: "@once", start: "2024-02-05",
			from: "2024-01-01", to: "2024-01-31"},
		{name: "None", schedule: "None", start: "2024-01-01", from: "2024-01-01", to: "2024-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ttDAG(t, tt.schedule, "", tt.start, tt.end, tt.catchup)
			runs, err := d.DagRunsBetween(at(tt.from), at(tt.to), 1000)
			if err != nil {
				t.Fatalf("DagRunsBetween: %v", err)
			}
			var got, want []string
			for i, r := range runs {
				checkInfo(t, r)
				got = append(got, r.LogicalDate.Format("2006-01-02T15:04"))
				if i > 0 && !r.DataIntervalStart.Equal(runs[i-1].DataIntervalEnd) {
					t.Errorf("run %d is not contiguous with run %d", i, i-1)
				}
			}
			for _, w := range tt.want {
				want = append(want, at(w).Format("2006-01-02T15:04"))
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("logical dates:\n got %v\nwant %v", got, want)
			}
			if len(runs) > 0 && !runs[len(runs)-1].DataIntervalEnd.Equal(at(tt.wantLastEnd)) {
				t.Errorf("last run ends at %s, want %s", runs[len(runs)-1].DataIntervalEnd, tt.wantLastEnd)
			}
		})
	}
}

func TestDagRunsBetweenYearOfHours(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"UTC", "Europe/Amsterdam", "America/New_York"} {
		t.Run(tz, func(t *testing.T) {
			t.Parallel()
			d := ttDAG(t, "@hourly", tz, "2023-01-01", "", false)
			runs, err := d.DagRunsBetween(at("2023-01-01"), at("2023-12-31T23:00"), 8760)
			if err != nil {
				t.Fatalf("DagRunsBetween: %v", err)
			}
			if len(runs) != 8760 {
				t.Fatalf("got %d runs, want 8760", len(runs))
			}
			for i, r := range runs {
				if want := at("2023-01-01").Add(time.Duration(i) * time.Hour); !r.LogicalDate.Equal(want) || r.DataIntervalEnd.Sub(r.DataIntervalStart) != time.Hour {
					t.Fatalf("run %d = [%s, %s), want the hour from %s", i, r.DataIntervalStart, r.DataIntervalEnd, want)
				}
			}
			_, err = d.DagRunsBetween(at("2023-01-01"), at("2023-12-31T23:00"), 8759)
			if !errors.Is(err, ErrTooManyRuns) || !strings.Contains(err.Error(), "more than 8759") {
				t.Errorf("with limit 8759: err = %v, want ErrTooManyRuns mentioning the limit", err)
			}
		})
	}
}

func TestDagRunsBetweenErrors(t *testing.T) {
	t.Parallel()
	d := ttDAG(t, "@daily", "", "2024-01-01", "", true)
	tests := []struct {
		name     string
		from, to string
		limit    int
		want     string
	}{
		{"a reversed range", "2024-02-01", "2024-01-01", 10, "start of range 2024-02-01T00:00:00+00:00 is after its end 2024-01-01T00:00:00+00:00"},
		{"a zero limit", "2024-01-01", "2024-02-01", 0, "limit 0 must be positive"},
		{"a runaway range", "2024-01-01", "2124-01-01", 1000, "too many runs (more than 1000); narrow the range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runs, err := d.DagRunsBetween(at(tt.from), at(tt.to), tt.limit)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `DAG "tt"`) {
				t.Fatalf("err = %v, want one containing %q and the DAG id", err, tt.want)
			}
			if runs != nil {
				t.Errorf("runs = %d values, want nil with an error", len(runs))
			}
		})
	}
}

func TestManualDataInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schedule, tz string
		runAfter           time.Time
		start, end         string
	}{
		{"daily at 01:00 covers the previous day", "@daily", "", at("2024-01-25T01:00"), "2024-01-24", "2024-01-25"},
		{"daily exactly at midnight covers the day that just ended", "@daily", "", at("2024-01-25"), "2024-01-24", "2024-01-25"},
		{"hourly", "@hourly", "", at("2024-01-25T10:30"), "2024-01-25T09:00", "2024-01-25T10:00"},
		{"weekday cron on Monday covers Friday to Monday", "30 6 * * 1-5", "", at("2024-01-08T07:00"), "2024-01-05T06:30", "2024-01-08T06:30"},
		{"weekday cron on Sunday covers Thursday to Friday", "30 6 * * 1-5", "", at("2024-01-07T12:00"), "2024-01-04T06:30", "2024-01-05T06:30"},
		{"monthly", "@monthly", "", at("2024-03-15T08:00"), "2024-02-01", "2024-03-01"},
		{"yearly", "@yearly", "", at("2024-06-01"), "2023-01-01", "2024-01-01"},
		{"Amsterdam after clocks went forward", "0 2 * * *", "Europe/Amsterdam", at("2024-04-01T12:00"), "2024-03-31T01:00", "2024-04-01T00:00"},
		{"interval schedules end at the trigger time", "1h", "", at("2024-01-25T10:30:15"), "2024-01-25T09:30:15", "2024-01-25T10:30:15"},
		{"None", "None", "", at("2024-01-25T10:30"), "2024-01-25T10:30", "2024-01-25T10:30"},
		{"@once", "@once", "", at("2024-01-25T10:30"), "2024-01-25T10:30", "2024-01-25T10:30"},
		{"a trigger time in another zone comes back in UTC", "@daily", "", at("2024-01-25T01:00").In(time.FixedZone("X", 5*3600)), "2024-01-24", "2024-01-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ttDAG(t, tt.schedule, tt.tz, "2020-01-01", "", false)
			got := d.ManualDataInterval(tt.runAfter)
			if !got.Start.Equal(at(tt.start)) || !got.End.Equal(at(tt.end)) {
				t.Errorf("ManualDataInterval(%s) = [%s, %s], want [%s, %s]", tt.runAfter, got.Start, got.End, tt.start, tt.end)
			}
			if got.Start.Location() != time.UTC || got.End.Location() != time.UTC {
				t.Errorf("ManualDataInterval(%s) = [%s, %s], want UTC", tt.runAfter, got.Start, got.End)
			}
		})
	}
}

func TestRunID(t *testing.T) {
	t.Parallel()
	ams := zone(t, "Europe/Amsterdam")
	tests := []struct {
		typ     RunType
		logical time.Time
		want    string
	}{
		{RunTypeScheduled, at("2024-01-01"), "scheduled__2024-01-01T00:00:00+00:00"},
		{RunTypeBackfill, at("2024-12-31T23:59:59"), "backfill__2024-12-31T23:59:59+00:00"},
		{RunTypeManual, at("2024-01-01T10:30").Add(123456 * time.Microsecond), "manual__2024-01-01T10:30:00.123456+00:00"},
		{RunTypeManual, at("2024-01-01").Add(5 * time.Microsecond), "manual__2024-01-01T00:00:00.000005+00:00"},
		{RunTypeManual, at("2024-01-01").Add(500 * time.Millisecond), "manual__2024-01-01T00:00:00.500000+00:00"},
		{RunTypeManual, at("2024-01-01").Add(999 * time.Nanosecond), "manual__2024-01-01T00:00:00+00:00"},
		{RunTypeScheduled, time.Date(2024, 7, 1, 2, 0, 0, 0, ams), "scheduled__2024-07-01T00:00:00+00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := RunID(tt.typ, tt.logical); got != tt.want {
				t.Errorf("RunID(%s, %s) = %q, want %q", tt.typ, tt.logical, got, tt.want)
			}
		})
	}
}

// randomCron returns a valid 5-field cron expression made of pieces that
// exercise steps, ranges, lists, sparse days and the day-of-month or
// day-of-week rule.
func randomCron(t *testing.T, r *rand.Rand) Schedule {
	minutes := []string{"0", "30", "*/15", "5,35", "*/7", "59"}
	hrs := []string{"*", "0", "1", "2", "3", "*/6", "9-17", "23", "1,2,3"}
	doms := []string{"*", "*", "1", "15", "31", "1,15", "29"}
	months := []string{"*", "*", "*/3", "2", "1,7", "10-12", "3,11"}
	dows := []string{"*", "*", "0", "1-5", "6"}
	for {
		expr := strings.Join([]string{minutes[r.IntN(len(minutes))], hrs[r.IntN(len(hrs))],
			doms[r.IntN(len(doms))], months[r.IntN(len(months))], dows[r.IntN(len(dows))]}, " ")
		if s, err := ParseSchedule(expr); err == nil {
			return s
		} else if !strings.Contains(err.Error(), "never fires") {
			t.Fatalf("ParseSchedule(%q): %v", expr, err)
		}
	}
}

// TestTimetableProperties checks, for random cron schedules, zones and
// start dates, that catchup runs are contiguous and increasing, start at
// the aligned start date, agree with DagRunsBetween, that a manual run
// triggered at a run's end covers that run's interval, and that without
// catchup the first run is the latest interval complete at now.
func TestTimetableProperties(t *testing.T) {
	t.Parallel()
	zones := []string{"UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		s := randomCron(t, r)
		tz := zones[r.IntN(len(zones))]
		start := at("2000-01-01").Add(time.Duration(r.Int64N(int64(35 * 365 * 24 * time.Hour))))
		start = start.Truncate(time.Duration(1+r.IntN(3)) * 20 * time.Minute)
		pick, frac := r.Float64(), r.Float64() // drawn here: r is not safe for the parallel subtests
		t.Run(fmt.Sprintf("%d %s in %s from %s", i, s.Expr, tz, start.Format(time.RFC3339)), func(t *testing.T) {
			t.Parallel()
			d := New("prop", Pos{})
			d.Schedule, d.Timezone, d.StartDate, d.Catchup = s, zone(t, tz), start, true
			far := at("2100-01-01")
			var runs []DagRunInfo
			var last *DataInterval
			for range 40 {
				info, ok := d.NextDagRun(last, far)
				if !ok && last != nil && last.End.Year() >= 2090 {
					break // robfig/cron looks five years ahead: 29 February in 2096 has no successor
				}
				if !ok {
					t.Fatalf("run %d: no run", len(runs))
				}
				checkInfo(t, info)
				if !info.DataIntervalEnd.After(info.DataIntervalStart) {
					t.Fatalf("run %d: empty interval [%s, %s)", len(runs), info.DataIntervalStart, info.DataIntervalEnd)
				}
				if info.DataIntervalStart.Before(start) {
					t.Fatalf("run %d starts at %s, before the start date %s", len(runs), info.DataIntervalStart, start)
				}
				if len(runs) == 0 && !info.DataIntervalStart.Equal(s.Align(start, d.Timezone)) {
					t.Fatalf("first run starts at %s, want the aligned start date %s", info.DataIntervalStart, s.Align(start, d.Timezone))
				}
				if last != nil && !info.DataIntervalStart.Equal(last.End) {
					t.Fatalf("run %d starts at %s, not where the last ended (%s)", len(runs), info.DataIntervalStart, last.End)
				}
				runs = append(runs, info)
				iv := info.Interval()
				last = &iv
			}
			between, err := d.DagRunsBetween(start, runs[len(runs)-1].LogicalDate, 100)
			if err != nil {
				t.Fatalf("DagRunsBetween: %v", err)
			}
			if len(between) != len(runs) {
				t.Fatalf("DagRunsBetween gives %d runs, NextDagRun %d", len(between), len(runs))
			}
			for j, run := range runs {
				if between[j] != run {
					t.Fatalf("run %d: DagRunsBetween %v, NextDagRun %v", j, between[j], run)
				}
				for _, trigger := range []time.Time{run.DataIntervalEnd, run.DataIntervalEnd.Add(time.Second)} {
					if m := d.ManualDataInterval(trigger); m != run.Interval() {
						t.Fatalf("ManualDataInterval(%s) = [%s, %s), want run %d's [%s, %s)",
							trigger, m.Start, m.End, j, run.DataIntervalStart, run.DataIntervalEnd)
					}
				}
			}
			// Without catchup, at a random instant inside the walked range,
			// the first run is the latest complete interval.
			d.Catchup = false
			k := 1 + int(pick*float64(len(runs)-2))
			now := runs[k].DataIntervalStart.Add(time.Duration(frac * float64(runs[k].DataIntervalEnd.Sub(runs[k].DataIntervalStart))))
			info, ok := d.NextDagRun(nil, now)
			if !ok || info != runs[k-1] {
				t.Fatalf("without catchup at %s: %v %v, want run %d %v", now, info, ok, k-1, runs[k-1])
			}
		})
	}
}

func BenchmarkNextDagRun(b *testing.B) {
	for _, bc := range []struct {
		name, schedule, tz string
		catchup            bool
	}{
		{"daily catchup", "@daily", "", true},
		{"daily no catchup", "@daily", "", false},
		{"cron in Amsterdam catchup", "0 2 * * *", "Europe/Amsterdam", true},
		{"cron in Amsterdam no catchup", "0 2 * * *", "Europe/Amsterdam", false},
		{"interval", "15m", "", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := ttDAG(b, bc.schedule, bc.tz, "2024-01-01", "", bc.catchup)
			last := &DataInterval{Start: at("2024-05-01"), End: at("2024-05-02")}
			now := at("2024-05-02T10:00")
			for b.Loop() {
				if _, ok := d.NextDagRun(last, now); !ok {
					b.Fatal("no run")
				}
			}
		})
	}
}

func BenchmarkDagRunsBetweenYearOfHours(b *testing.B) {
	for _, tz := range []string{"UTC", "Europe/Amsterdam"} {
		b.Run(tz, func(b *testing.B) {
			d := ttDAG(b, "@hourly", tz, "2023-01-01", "", false)
			for b.Loop() {
				runs, err := d.DagRunsBetween(at("2023-01-01"), at("2023-12-31T23:00"), 10_000)
				if err != nil || len(runs) != 8760 {
					b.Fatalf("%d runs, %v", len(runs), err)
				}
			}
		})
	}
}

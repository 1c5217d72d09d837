package dags

import (
	"errors"
	"fmt"
	"time"
)

// This file is the DAG's timetable: which runs its schedule makes, with
// Airflow 2's data-interval semantics (CronDataIntervalTimetable for cron
// expressions and presets, DeltaDataIntervalTimetable for durations,
// OnceTimetable for @once, NullTimetable for None). The run covering
// [start, end) may be created once end has passed; its logical date is start.

// DataInterval is the span of time a run processes, [Start, End), in UTC.
// Runs without a period (@once, manual runs of an unscheduled DAG) have
// Start == End.
type DataInterval struct {
	Start, End time.Time
}

// DagRunInfo is one run a timetable creates. All times are UTC.
type DagRunInfo struct {
	// LogicalDate names the run (ds, run_id); it is DataIntervalStart.
	LogicalDate time.Time
	// DataIntervalStart and DataIntervalEnd bound the data the run covers.
	DataIntervalStart, DataIntervalEnd time.Time
	// RunAfter is the earliest wall-clock instant the run may be created:
	// DataIntervalEnd, as a run starts once its interval is over.
	RunAfter time.Time
}

// Interval returns the run's data interval, the value to pass back to
// NextDagRun as the last automated run.
func (r DagRunInfo) Interval() DataInterval {
	return DataInterval{Start: r.DataIntervalStart, End: r.DataIntervalEnd}
}

// newRunInfo returns the run covering [start, end).
func newRunInfo(start, end time.Time) DagRunInfo {
	start, end = start.UTC(), end.UTC()
	return DagRunInfo{LogicalDate: start, DataIntervalStart: start, DataIntervalEnd: end, RunAfter: end}
}

// ErrTooManyRuns is returned, wrapped, by DagRunsBetween when a range holds
// more runs than the limit it was given.
var ErrTooManyRuns = errors.New("too many runs")

// NextDagRun returns the next run the schedule makes after the last
// automated (scheduled or backfill) run, whose data interval was last (nil
// when there is none), at wall-clock time now. It returns the next run even
// when its RunAfter is still in the future: the caller creates it once
// now >= RunAfter. ok is false when the schedule makes no more runs.
//
// As Airflow 2's data-interval timetables do:
//   - the first run starts at StartDate aligned forward to a tick for cron
//     schedules, at StartDate itself for interval schedules; a later run
//     starts where the last one ended (aligned back to a tick when the
//     schedule has changed since, but never at or before the last run's
//     start), and never before the aligned StartDate;
//   - with Catchup false the start moves forward to the start of the latest
//     interval that is complete at now (CronDataIntervalTimetable and
//     DeltaDataIntervalTimetable._skip_to_latest; for an interval schedule
//     "latest complete" is on Airflow's grid of multiples of Every since the
//     Unix epoch, so a long pause may move the runs onto that grid);
//   - no run starts after EndDate;
//   - @once makes one run, [StartDate, StartDate], whatever Catchup says,
//     and none after it; None never makes a run;
//   - a DAG without a StartDate makes no runs (the linter warns of it).
func (d *DAG) NextDagRun(last *DataInterval, now time.Time) (info DagRunInfo, ok bool) {
	if d.StartDate.IsZero() {
		return DagRunInfo{}, false
	}
	s, loc := d.Schedule, d.loc()
	switch s.Kind {
	case ScheduleOnce:
		if last != nil || d.afterEnd(d.StartDate) {
			return DagRunInfo{}, false
		}
		return newRunInfo(d.StartDate, d.StartDate), true
	case ScheduleCron, ScheduleInterval:
	default:
		return DagRunInfo{}, false
	}
	earliest := s.Align(d.StartDate, loc)
	if !d.Catchup {
		if latest := s.latestCompleteStart(now, loc); latest.After(earliest) {
			earliest = latest
		}
	}
	start := earliest
	if last != nil {
		if prev := s.alignPrev(last.End, loc); prev.After(start) {
			start = prev
		}
		if !start.After(last.Start) {
			// The schedule changed and aligning back lands on the last
			// run's own logical date: go on from the tick after it.
			start = s.Next(last.Start, loc)
		}
	}
	if start.IsZero() || d.afterEnd(start) {
		return DagRunInfo{}, false
	}
	end := s.Next(start, loc)
	if end.IsZero() {
		return DagRunInfo{}, false
	}
	return newRunInfo(start, end), true
}

// DagRunsBetween returns every run the schedule makes whose logical date
// lies in [from, to], both ends included as in Airflow's backfill, in order.
// It ignores Catchup but honours StartDate and EndDate (without a StartDate
// the range alone bounds the runs). Interval schedules keep the grid of
// StartDate plus multiples of Every (of from when there is no StartDate);
// @once gives its one run when StartDate is in the range; None gives none.
// More than limit runs is an error wrapping ErrTooManyRuns, so that a
// mistyped range cannot create millions of runs.
func (d *DAG) DagRunsBetween(from, to time.Time, limit int) ([]DagRunInfo, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("runs of DAG %q between %s and %s: limit %d must be positive", d.ID, isoUTC(from), isoUTC(to), limit)
	}
	if from.After(to) {
		return nil, fmt.Errorf("runs of DAG %q: start of range %s is after its end %s", d.ID, isoUTC(from), isoUTC(to))
	}
	s, loc := d.Schedule, d.loc()
	lo, hi := from, to
	if !d.StartDate.IsZero() && d.StartDate.After(lo) {
		lo = d.StartDate
	}
	if !d.EndDate.IsZero() && d.EndDate.Before(hi) {
		hi = d.EndDate
	}
	if lo.After(hi) {
		return nil, nil
	}
	var first time.Time
	switch s.Kind {
	case ScheduleOnce:
		if d.StartDate.IsZero() || d.StartDate.Before(lo) || d.StartDate.After(hi) {
			return nil, nil
		}
		return []DagRunInfo{newRunInfo(d.StartDate, d.StartDate)}, nil
	case ScheduleCron:
		first = s.Align(lo, loc)
	case ScheduleInterval:
		anchor := from
		if !d.StartDate.IsZero() {
			anchor = d.StartDate
		}
		first = alignToGrid(anchor, lo, s.Every)
	default:
		return nil, nil
	}
	var runs []DagRunInfo
	if s.Kind == ScheduleInterval && !first.After(hi) {
		runs = make([]DagRunInfo, 0, min(int64(limit), int64(hi.Sub(first)/s.Every)+1))
	}
	for start := first; !start.IsZero() && !start.After(hi); {
		end := s.Next(start, loc)
		if end.IsZero() {
			break
		}
		if len(runs) == limit {
			return nil, fmt.Errorf("runs of DAG %q between %s and %s: %w (more than %d); narrow the range",
				d.ID, isoUTC(from), isoUTC(to), ErrTooManyRuns, limit)
		}
		runs = append(runs, newRunInfo(start, end))
		start = end
	}
	return runs, nil
}

// ManualDataInterval returns the data interval of a run triggered by hand
// at runAfter, as Airflow 2's infer_manual_data_interval: for a cron
// schedule the latest interval complete at runAfter (a @daily DAG triggered
// at 01:00 on the 25th covers [24th, 25th)); for an interval schedule
// [runAfter-Every, runAfter]; for None and @once [runAfter, runAfter].
func (d *DAG) ManualDataInterval(runAfter time.Time) DataInterval {
	runAfter = runAfter.UTC()
	s, loc := d.Schedule, d.loc()
	switch s.Kind {
	case ScheduleCron:
		if end := s.alignPrev(runAfter, loc); !end.IsZero() {
			if start := s.prevTick(end, loc); !start.IsZero() {
				return DataInterval{Start: start, End: end}
			}
		}
	case ScheduleInterval:
		return DataInterval{Start: runAfter.Add(-s.Every), End: runAfter}
	}
	return DataInterval{Start: runAfter, End: runAfter}
}

// RunID returns Airflow's id for a run of type t with the given logical
// date: "<type>__<isoformat>", the date in UTC as Python's isoformat writes
// it, with microseconds only when they are not zero:
// "scheduled__2024-01-01T00:00:00+00:00",
// "manual__2024-01-01T10:30:00.123456+00:00". Nanoseconds are dropped, as
// Python datetimes have none.
func RunID(t RunType, logical time.Time) string {
	return string(t) + "__" + isoUTC(logical)
}

// isoUTC formats t in UTC as Python's datetime.isoformat does.
func isoUTC(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

// loc returns the zone cron schedules are evaluated in.
func (d *DAG) loc() *time.Location {
	if d.Timezone == nil {
		return time.UTC
	}
	return d.Timezone
}

// afterEnd reports whether a run starting at t is past the DAG's EndDate.
func (d *DAG) afterEnd(t time.Time) bool {
	return !d.EndDate.IsZero() && t.After(d.EndDate)
}

// isTick reports whether t is a tick of the cron schedule s.
func (s Schedule) isTick(t time.Time, loc *time.Location) bool {
	return s.Next(t.Add(-time.Nanosecond), loc).Equal(t)
}

// alignPrev returns t when it is on the schedule, else the tick before it
// (Airflow's _align_to_prev). Interval schedules are aligned to t.
func (s Schedule) alignPrev(t time.Time, loc *time.Location) time.Time {
	if s.Kind != ScheduleCron || s.isTick(t, loc) {
		return t.UTC()
	}
	return s.prevTick(t, loc)
}

// maxLookback bounds how far back prevTick searches (about eight years),
// beyond the gap between any two ticks of a real schedule.
const maxLookback = 8 * 366 * 24 * time.Hour

// prevTick returns the last tick of the cron schedule s strictly before t,
// or the zero time when there is none within maxLookback. robfig/cron only
// goes forward, so it walks forward from t minus a window that holds a
// tick for a regular schedule (the gap between the next two ticks), and
// quadruples the window until one does.
func (s Schedule) prevTick(t time.Time, loc *time.Location) time.Time {
	w := time.Minute
	if n1 := s.Next(t.Add(-time.Nanosecond), loc); !n1.IsZero() {
		if n2 := s.Next(n1, loc); n2.Sub(n1) > w {
			w = n2.Sub(n1)
		}
	}
	for ; w <= 4*maxLookback; w *= 4 {
		w = min(w, maxLookback)
		var last time.Time
		for tick := s.Next(t.Add(-w-time.Nanosecond), loc); !tick.IsZero() && tick.Before(t); tick = s.Next(tick, loc) {
			last = tick
		}
		if !last.IsZero() || w == maxLookback {
			return last
		}
	}
	return time.Time{}
}

// latestCompleteStart returns the start of the latest interval that is over
// at now (its end <= now), where catchup=False skips to. For cron that is
// the tick before the last tick at or before now; for an interval schedule
// it is now rounded down to a multiple of Every since the Unix epoch, less
// Every, as Airflow's DeltaDataIntervalTimetable does.
func (s Schedule) latestCompleteStart(now time.Time, loc *time.Location) time.Time {
	switch s.Kind {
	case ScheduleCron:
		end := s.alignPrev(now, loc)
		if end.IsZero() {
			return time.Time{}
		}
		return s.prevTick(end, loc)
	case ScheduleInterval:
		return floorEpoch(now, s.Every).Add(-s.Every)
	}
	return time.Time{}
}

// floorEpoch rounds t down to a multiple of every since the Unix epoch.
func floorEpoch(t time.Time, every time.Duration) time.Time {
	if every%time.Second == 0 {
		secs, step := t.Unix(), int64(every/time.Second)
		r := secs % step
		if r < 0 {
			r += step
		}
		return time.Unix(secs-r, 0).UTC()
	}
	ns := t.UnixNano()
	r := ns % int64(every)
	if r < 0 {
		r += int64(every)
	}
	return time.Unix(0, ns-r).UTC()
}

// alignToGrid returns the first instant anchor + k*every (k an integer) at
// or after t.
func alignToGrid(anchor, t time.Time, every time.Duration) time.Time {
	diff := t.Sub(anchor)
	k := diff / every // truncated towards zero: the ceiling when diff < 0
	if diff > 0 && diff%every != 0 {
		k++
	}
	return anchor.Add(k * every).UTC()
}

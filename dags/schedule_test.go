package dags

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	from := utc("2024-01-01T00:00:00Z") // a Monday
	tests := []struct {
		in       string
		kind     ScheduleKind
		str      string
		every    time.Duration
		next     string // Next(from) in UTC; "" for no tick
		periodic bool
	}{
		{"", ScheduleNone, "None", 0, "", false},
		{"None", ScheduleNone, "None", 0, "", false},
		{" none ", ScheduleNone, "None", 0, "", false},
		{"@once", ScheduleOnce, "@once", 0, "", false},
		{"@ONCE", ScheduleOnce, "@once", 0, "", false},
		{"@hourly", ScheduleCron, "@hourly", 0, "2024-01-01T01:00:00Z", true},
		{"@daily", ScheduleCron, "@daily", 0, "2024-01-02T00:00:00Z", true},
		{"@Daily", ScheduleCron, "@Daily", 0, "2024-01-02T00:00:00Z", true},
		{"@midnight", ScheduleCron, "@midnight", 0, "2024-01-02T00:00:00Z", true},
		{"@weekly", ScheduleCron, "@weekly", 0, "2024-01-07T00:00:00Z", true},
		{"@monthly", ScheduleCron, "@monthly", 0, "2024-02-01T00:00:00Z", true},
		{"@quarterly", ScheduleCron, "@quarterly", 0, "2024-04-01T00:00:00Z", true},
		{"@yearly", ScheduleCron, "@yearly", 0, "2025-01-01T00:00:00Z", true},
		{"@annually", ScheduleCron, "@annually", 0, "2025-01-01T00:00:00Z", true},
		{"*/5 * * * *", ScheduleCron, "*/5 * * * *", 0, "2024-01-01T00:05:00Z", true},
		{"  30 6 * * 1-5 ", ScheduleCron, "30 6 * * 1-5", 0, "2024-01-01T06:30:00Z", true},
		{"0 0 * * SAT", ScheduleCron, "0 0 * * SAT", 0, "2024-01-06T00:00:00Z", true},
		{"0 0 29 2 *", ScheduleCron, "0 0 29 2 *", 0, "2024-02-29T00:00:00Z", true},
		{"15m", ScheduleInterval, "15m", 15 * time.Minute, "2024-01-01T00:15:00Z", true},
		{"1d12h", ScheduleInterval, "1d12h", 36 * time.Hour, "2024-01-02T12:00:00Z", true},
		{"90", ScheduleInterval, "90", 90 * time.Second, "2024-01-01T00:01:30Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSchedule(tt.in)
			if err != nil {
				t.Fatalf("ParseSchedule(%q) failed: %v", tt.in, err)
			}
			if s.Kind != tt.kind || s.String() != tt.str || s.Every != tt.every || s.Periodic() != tt.periodic {
				t.Errorf("ParseSchedule(%q) = {kind %s, %q, every %v, periodic %v}, want {kind %s, %q, every %v, periodic %v}",
					tt.in, s.Kind, s.String(), s.Every, s.Periodic(), tt.kind, tt.str, tt.every, tt.periodic)
			}
			next := s.Next(from, nil)
			if tt.next == "" {
				if !next.IsZero() {
					t.Errorf("Next = %s, want no tick", next)
				}
				return
			}
			if !next.Equal(utc(tt.next)) || next.Location() != time.UTC {
				t.Errorf("Next(%s) = %s, want %s in UTC", from, next, tt.next)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"@every 5m", []string{`unknown schedule preset "@every 5m"`, "known: @once, @hourly"}},
		{"@fortnightly", []string{"unknown schedule preset", "@daily"}},
		{"61 * * * *", []string{`bad cron schedule "61 * * * *"`, "minute hour day-of-month month day-of-week", "above maximum (59)"}},
		{"0 24 * * *", []string{"above maximum (23)"}},
		{"0 0 * * 8", []string{"bad cron schedule"}},
		{"a b c d e", []string{"bad cron schedule"}},
		{"0 0 30 2 *", []string{"never fires"}},
		{"0 0 31 4,6,9,11 *", []string{"never fires"}},
		{"0 0 * * * *", []string{"a cron expression has 5 fields", "this has 6"}},
		{"CRON_TZ=UTC 0 0 * * *", []string{"this has 6"}},
		{"0 0 * *", []string{"this has 4"}},
		{"daily", []string{`bad schedule "daily"`, `"@daily"`}},
		{"0s", []string{`bad schedule "0s"`, "longer than zero"}},
		{"0", []string{"longer than zero"}},
		{"5x", []string{"bad interval schedule", `unknown unit "x"`}},
		{"-5m", []string{"bad interval schedule", "negative"}},
		{"99999d", []string{"longer than the maximum"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSchedule(tt.in)
			if err == nil {
				t.Fatalf("ParseSchedule(%q) = %+v, want an error", tt.in, s)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseSchedule(%q) error %q does not mention %q", tt.in, err, w)
				}
			}
		})
	}
}

func TestMustParseSchedulePanicsOnBadInput(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustParseSchedule(\"bogus\") did not panic")
		}
	}()
	MustParseSchedule("bogus")
}

func TestScheduleZeroValueIsNone(t *testing.T) {
	t.Parallel()
	var s Schedule
	if s.String() != "None" || s.Periodic() || !s.Next(utc("2024-01-01T00:00:00Z"), nil).IsZero() {
		t.Errorf("zero Schedule: String %q, Periodic %v, want None and no ticks", s.String(), s.Periodic())
	}
}

// TestScheduleBuiltByHand checks that a Schedule made without
// ParseSchedule (a struct literal, or one decoded from JSON) still ticks.
func TestScheduleBuiltByHand(t *testing.T) {
	t.Parallel()
	from := utc("2024-01-01T00:00:00Z")
	for _, s := range []Schedule{{Kind: ScheduleCron, Expr: "@daily"}, {Kind: ScheduleCron, Expr: "0 0 * * *"}} {
		if got := s.Next(from, nil); !got.Equal(utc("2024-01-02T00:00:00Z")) {
			t.Errorf("%q.Next = %s, want 2024-01-02", s.Expr, got)
		}
	}
	if got := (Schedule{Kind: ScheduleCron, Expr: "garbage"}).Next(from, nil); !got.IsZero() {
		t.Errorf("garbage cron Next = %s, want zero", got)
	}
}

func TestScheduleAlign(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	tests := []struct {
		sched, at string
		loc       *time.Location
		want      string
	}{
		{"@daily", "2024-01-01T00:00:00Z", nil, "2024-01-01T00:00:00Z"},
		{"@daily", "2024-01-01T00:00:00.000000001Z", nil, "2024-01-02T00:00:00Z"},
		{"@daily", "2024-01-01T10:00:00Z", nil, "2024-01-02T00:00:00Z"},
		{"@daily", "2024-01-01T10:00:00+02:00", nil, "2024-01-02T00:00:00Z"},
		{"@daily", "2024-01-01T10:00:00Z", ams, "2024-01-01T23:00:00Z"},
		{"0 2 * * *", "2024-03-31T01:00:00Z", ams, "2024-03-31T01:00:00Z"},
		{"0 2 * * *", "2024-10-27T00:00:00Z", ams, "2024-10-27T01:00:00Z"},
		{"15m", "2024-01-01T10:07:00+01:00", nil, "2024-01-01T09:07:00Z"},
		{"@once", "2024-01-01T10:07:00Z", nil, "2024-01-01T10:07:00Z"},
		{"", "2024-01-01T10:07:00Z", nil, "2024-01-01T10:07:00Z"},
	}
	for _, tt := range tests {
		got := MustParseSchedule(tt.sched).Align(utc(tt.at), tt.loc)
		if !got.Equal(utc(tt.want)) || got.Location() != time.UTC {
			t.Errorf("%q.Align(%s) = %s, want %s in UTC", tt.sched, tt.at, got, tt.want)
		}
	}
}

// TestScheduleDataInterval checks Airflow 2's data-interval semantics: a
// run with logical date L covers [L, next tick after L).
func TestScheduleDataInterval(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	tests := []struct {
		sched, logical string
		loc            *time.Location
		start, end     string
	}{
		{"@daily", "2024-01-01T00:00:00Z", nil, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"},
		{"@hourly", "2024-01-01T05:00:00Z", nil, "2024-01-01T05:00:00Z", "2024-01-01T06:00:00Z"},
		{"@monthly", "2024-02-01T00:00:00Z", nil, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"@weekly", "2023-12-31T00:00:00Z", nil, "2023-12-31T00:00:00Z", "2024-01-07T00:00:00Z"},
		{"15m", "2024-01-01T10:07:00Z", nil, "2024-01-01T10:07:00Z", "2024-01-01T10:22:00Z"},
		{"@once", "2024-01-01T10:07:00Z", nil, "2024-01-01T10:07:00Z", "2024-01-01T10:07:00Z"},
		{"None", "2024-01-01T10:07:00Z", nil, "2024-01-01T10:07:00Z", "2024-01-01T10:07:00Z"},
		// Daily at 02:00 in Amsterdam: the day before each change lasts 24h
		// of real time, the day of the change 23h or 25h.
		{"0 2 * * *", "2024-03-30T01:00:00Z", ams, "2024-03-30T01:00:00Z", "2024-03-31T01:00:00Z"},
		{"0 2 * * *", "2024-03-31T01:00:00Z", ams, "2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z"},
		{"0 2 * * *", "2024-10-26T00:00:00Z", ams, "2024-10-26T00:00:00Z", "2024-10-27T01:00:00Z"},
		{"@daily", "2024-10-26T22:00:00Z", ams, "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
	}
	for _, tt := range tests {
		start, end := MustParseSchedule(tt.sched).DataInterval(utc(tt.logical), tt.loc)
		if !start.Equal(utc(tt.start)) || !end.Equal(utc(tt.end)) {
			t.Errorf("%q.DataInterval(%s) = [%s, %s), want [%s, %s)", tt.sched, tt.logical, start, end, tt.start, tt.end)
		}
	}
}

// TestScheduleNextDST follows "0 2 * * *" in Europe/Amsterdam across both
// 2024 DST changes. Clocks go from 02:00 CET to 03:00 CEST on 31 March
// (01:00 UTC) and from 03:00 CEST back to 02:00 CET on 27 October (01:00
// UTC). As in Airflow, the skipped 02:00 of 31 March runs at 03:00 CEST and
// the repeated 02:00 of 27 October runs once, at its second occurrence.
func TestScheduleNextDST(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	tests := []struct {
		sched, from string
		want        []string
	}{
		{"0 2 * * *", "2024-03-29T12:00:00Z", []string{
			"2024-03-30T01:00:00Z", // 02:00 CET
			"2024-03-31T01:00:00Z", // 02:00 does not exist: 03:00 CEST
			"2024-04-01T00:00:00Z", // 02:00 CEST
			"2024-04-02T00:00:00Z",
		}},
		{"0 2 * * *", "2024-10-25T12:00:00Z", []string{
			"2024-10-26T00:00:00Z", // 02:00 CEST
			"2024-10-27T01:00:00Z", // 02:00 CET, the second 02:00; the first (00:00 UTC) is skipped
			"2024-10-28T01:00:00Z", // 02:00 CET
		}},
		// Starting inside the first 02:00-03:00 of 27 October, the next 02:30
		// is the repeated one an hour later.
		{"30 2 * * *", "2024-10-27T00:40:00Z", []string{"2024-10-27T01:30:00Z", "2024-10-28T01:30:00Z"}},
		{"30 2 * * *", "2024-10-27T01:40:00Z", []string{"2024-10-28T01:30:00Z"}},
		// Several times in the skipped hour map to the same instant once.
		{"0,30 2 * * *", "2024-03-30T23:00:00Z", []string{"2024-03-31T01:00:00Z", "2024-03-31T01:30:00Z", "2024-04-01T00:00:00Z"}},
		{"0 1-3 * * *", "2024-03-30T23:00:00Z", []string{
			"2024-03-31T00:00:00Z", // 01:00 CET
			"2024-03-31T01:00:00Z", // 02:00 and 03:00 are both 03:00 CEST
			"2024-03-31T23:00:00Z", // 01:00 CEST next day
		}},
		// An expression firing every hour follows real time: every hour
		// fires once on 31 March and 02:00 fires twice on 27 October.
		{"0 * * * *", "2024-03-30T23:30:00Z", []string{"2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z"}},
		{"0 * * * *", "2024-10-26T23:30:00Z", []string{"2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z", "2024-10-27T02:00:00Z"}},
		{"*/30 * * * *", "2024-10-27T00:15:00Z", []string{"2024-10-27T00:30:00Z", "2024-10-27T01:00:00Z", "2024-10-27T01:30:00Z"}},
		// Midnight exists on both days, so @daily is unaffected.
		{"@daily", "2024-03-30T12:00:00Z", []string{"2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"}},
	}
	for _, tt := range tests {
		s := MustParseSchedule(tt.sched)
		at := utc(tt.from)
		for _, w := range tt.want {
			at = s.Next(at, ams)
			if !at.Equal(utc(w)) {
				t.Errorf("%q from %s: got %s (%s), want %s", tt.sched, tt.from, at, at.In(ams).Format("15:04 MST"), w)
				break
			}
		}
	}
}

// TestRobfigCronDSTBehaviour records what robfig/cron's own Next does with
// "0 2 * * *" in Europe/Amsterdam, the behaviour Schedule.Next corrects: it
// skips 31 March entirely (02:00 does not exist) and fires twice on 27
// October (02:00 CEST and 02:00 CET). If this test starts failing, the
// library changed and Schedule.Next should be re-examined.
func TestRobfigCronDSTBehaviour(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	c, err := cron.ParseStandard("0 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		from string
		want []string
	}{
		{"2024-03-30T01:00:00Z", []string{"2024-04-01T00:00:00Z"}},
		{"2024-10-25T12:00:00Z", []string{"2024-10-26T00:00:00Z", "2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z", "2024-10-28T01:00:00Z"}},
	} {
		at := utc(tt.from).In(ams)
		for _, w := range tt.want {
			at = c.Next(at)
			if !at.Equal(utc(w)) {
				t.Errorf("robfig from %s: got %s, want %s", tt.from, at.UTC(), w)
				break
			}
		}
	}
}

// TestScheduleNextAllYear walks several expressions through 2024 in zones
// with and without DST and checks that ticks strictly increase, land on the
// expression's wall-clock time (or the shifted time after a gap), and that
// Align of a tick is the tick itself.
func TestScheduleNextAllYear(t *testing.T) {
	t.Parallel()
	zones := []string{"Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "UTC"}
	tests := []struct {
		sched   string
		perYear int // ticks in 2024, in every zone
	}{
		{"0 2 * * *", 366},
		{"30 1 * * *", 366},
		{"15 3 * * 0", 52},
		{"0 0 1 * *", 12},
		{"0 */6 * * *", 366 * 4},
	}
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			s := MustParseSchedule(tt.sched)
			start := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
			end := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
			count := 0
			for at := s.Next(start, loc); at.Before(end); {
				if got := s.Align(at, loc); !got.Equal(at) {
					t.Fatalf("%s %q: Align(%s) = %s", zone, tt.sched, at, got)
				}
				next := s.Next(at, loc)
				if !next.After(at) {
					t.Fatalf("%s %q: Next(%s) = %s, not after", zone, tt.sched, at, next)
				}
				at = next
				count++
			}
			if count != tt.perYear {
				t.Errorf("%s %q: %d ticks in 2024, want %d", zone, tt.sched, count, tt.perYear)
			}
		}
	}
}

// FuzzParseSchedule checks that ParseSchedule never panics, that a parsed
// schedule prints back to an equivalent one, and that its ticks move
// forward.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"@daily", "0 2 * * *", "*/5 1-3 * * MON-FRI", "15m", "None", "@once", "0 0 30 2 *", "61 * * * *", "1 2 3 4 5 6"} {
		f.Add(s)
	}
	ams := amsterdam(f)
	from := []time.Time{utc("2024-03-31T00:30:00Z"), utc("2024-10-27T00:30:00Z"), utc("2024-06-01T12:00:00Z")}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseSchedule(%q): empty error", expr)
			}
			return
		}
		again, err := ParseSchedule(s.String())
		if err != nil || again.Kind != s.Kind || again.Every != s.Every {
			t.Fatalf("ParseSchedule(%q).String() = %q re-parses to %+v, %v", expr, s.String(), again, err)
		}
		for _, at := range from {
			next := s.Next(at, ams)
			if s.Periodic() && !next.IsZero() && !next.After(at) {
				t.Fatalf("%q: Next(%s) = %s, not after", expr, at, next)
			}
			if !s.Periodic() && !next.IsZero() {
				t.Fatalf("%q: Next(%s) = %s for a schedule without ticks", expr, at, next)
			}
		}
	})
}

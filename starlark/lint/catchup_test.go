package lint

import (
	"fmt"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// TestCatchupCountMatchesNext checks the day-at-a-time count of cron
// schedules against walking them with Schedule.Next, across time zones with
// DST changes (at 02:00, at midnight, by half an hour), odd offsets, a day a
// zone skipped, end dates and partial days at both ends.
func TestCatchupCountMatchesNext(t *testing.T) {
	t.Parallel()
	zones := []struct {
		name  string
		start time.Time // near the zone's interesting changes
	}{
		{"UTC", time.Date(2023, 2, 20, 13, 7, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2023, 2, 20, 13, 7, 0, 0, time.UTC)},
		{"Europe/London", time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"Australia/Lord_Howe", time.Date(2023, 3, 20, 0, 0, 0, 0, time.UTC)},
		{"America/Sao_Paulo", time.Date(2018, 10, 20, 0, 0, 0, 0, time.UTC)},
		{"Asia/Kolkata", time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Pacific/Chatham", time.Date(2023, 3, 25, 0, 0, 0, 0, time.UTC)},
		{"Pacific/Apia", time.Date(2011, 12, 20, 0, 0, 0, 0, time.UTC)},
	}
	schedules := []struct {
		expr string
		span time.Duration // how long to count, kept small for the walk
	}{
		{"@daily", 400 * 24 * time.Hour},
		{"@weekly", 400 * 24 * time.Hour},
		{"@monthly", 800 * 24 * time.Hour},
		{"@quarterly", 800 * 24 * time.Hour},
		{"@hourly", 40 * 24 * time.Hour},
		{"*/15 * * * *", 6 * 24 * time.Hour},
		{"30 2 * * *", 250 * 24 * time.Hour},
		{"30 1 * * *", 250 * 24 * time.Hour},
		{"0 0 * * *", 250 * 24 * time.Hour},
		{"0 23 * * *", 250 * 24 * time.Hour},
		{"0 9 * * 1-5", 250 * 24 * time.Hour},
		{"0 0,12 1,15 * 1", 250 * 24 * time.Hour},
		{"0 0 29 2 *", 3 * 366 * 24 * time.Hour},
		{"* * * * *", 24 * time.Hour},
	}
	for _, z := range zones {
		loc, err := time.LoadLocation(z.name)
		if err != nil {
			t.Fatalf("load zone %s: %v", z.name, err)
		}
		for _, s := range schedules {
			t.Run(z.name+" "+s.expr, func(t *testing.T) {
				t.Parallel()
				for _, frac := range []struct{ now, end float64 }{{1, 0}, {0.63, 0}, {1, 0.41}, {1, 2}, {0.001, 0}} {
					d := dags.New("etl", at(1, 1))
					d.Schedule = dags.MustParseSchedule(s.expr)
					d.Timezone = loc
					d.Catchup = true
					d.StartDate = z.start
					now := z.start.Add(time.Duration(float64(s.span)*frac.now) + 17*time.Second)
					if frac.end > 0 {
						d.EndDate = z.start.Add(time.Duration(float64(s.span) * frac.end))
					}
					got, gotCapped := catchupRuns(d, now)
					want, wantCapped := tickRuns(d, now)
					if got != want || gotCapped != wantCapped {
						end := "none"
						if !d.EndDate.IsZero() {
							end = d.EndDate.In(loc).Format(time.RFC3339)
						}
						t.Errorf("now %s, end %s: catchupRuns = %d, %v; walking Next gives %d, %v",
							now.In(loc).Format(time.RFC3339), end, got, gotCapped, want, wantCapped)
					}
				}
			})
		}
	}
}

func TestCatchupCountCaps(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"* * * * *", "*/2 * * * *", "@hourly", "1m", "30s"} {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			d := build(t, spec{tasks: []string{"a"}, schedule: expr, start: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), catchup: true})
			if n, capped := catchupRuns(d, now); n != MaxCatchupCount || !capped {
				t.Fatalf("catchupRuns = %d, %v; want %d, true", n, capped, MaxCatchupCount)
			}
		})
	}
	// Exactly at the cap is not more than it.
	d := build(t, spec{tasks: []string{"a"}, schedule: "* * * * *", start: now.Add(-MaxCatchupCount * time.Minute), catchup: true})
	if n, capped := catchupRuns(d, now); n != MaxCatchupCount || capped {
		t.Fatalf("catchupRuns = %d, %v; want %d, false", n, capped, MaxCatchupCount)
	}
}

func TestCountMinutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr   string
		lo, hi int
		want   int
	}{
		{"* * * * *", 0, 1439, 1440},
		{"* * * * *", 10, 10, 1},
		{"* * * * *", 59, 60, 2},
		{"*/15 * * * *", 0, 1439, 96},
		{"*/15 * * * *", 1, 14, 0},
		{"*/15 * * * *", 1, 15, 1},
		{"0 9-17 * * *", 0, 9 * 60, 1},
		{"0 9-17 * * *", 9*60 + 1, 1439, 8},
		{"59 23 * * *", 1439, 1439, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d-%d", tt.expr, tt.lo, tt.hi), func(t *testing.T) {
			t.Parallel()
			spec := cronSpec(dags.MustParseSchedule(tt.expr))
			if got := countMinutes(spec, tt.lo, tt.hi); got != tt.want {
				t.Fatalf("countMinutes = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCronSpecReadsEveryPreset(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually", "@DAILY"} {
		if cronSpec(dags.MustParseSchedule(p)) == nil {
			t.Errorf("cronSpec(%q) = nil", p)
		}
	}
}

func TestNextDate(t *testing.T) {
	t.Parallel()
	// Walk 2000-01-01 to 2101-01-01 by nextDate and compare with the time
	// package, leap years (2000 yes, 2100 no) included.
	y, mo, dd, wd := 2000, time.January, 1, time.Saturday
	for d := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2101; d = d.AddDate(0, 0, 1) {
		if d.Year() != y || d.Month() != mo || d.Day() != dd || d.Weekday() != wd {
			t.Fatalf("nextDate reached %d-%d-%d (%s), want %s", y, mo, dd, wd, d.Format("2006-01-02 (Monday)"))
		}
		y, mo, dd, wd = nextDate(y, mo, dd, wd)
	}
}

package ui

import (
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TestCalendarDays: a year in Monday-first week columns, a failed run
// colouring its day red over a success, and month heads.
func TestCalendarDays(t *testing.T) {
	today := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) // a Wednesday
	from := today.AddDate(-1, 0, 1)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }
	runs := []store.RunDate{
		{LogicalDate: day(2026, 3, 4), State: dags.DagRunStateSuccess},
		{LogicalDate: day(2026, 3, 3), State: dags.DagRunStateSuccess},
		{LogicalDate: day(2026, 3, 3), State: dags.DagRunStateFailed},
		{LogicalDate: day(2026, 3, 2), State: dags.DagRunStateRunning},
	}
	p := calendarDays(from, today, runs)
	var days, blanks int
	for _, row := range p.Days {
		for _, d := range row {
			if d.Blank {
				blanks++
			} else {
				days++
			}
		}
	}
	if days != 365 {
		t.Errorf("%d days shown, want 365", days)
	}
	if len(p.Heads) != len(p.Days[0]) {
		t.Fatalf("%d heads for %d weeks", len(p.Heads), len(p.Days[0]))
	}
	last := len(p.Heads) - 1
	// Mon 2 Mar, Tue 3 Mar, Wed 4 Mar are the last column's first days.
	for i, want := range []string{"running", "failed", "success"} {
		if got := p.Days[i][last].State; got != want {
			t.Errorf("%s is %q, want %q", p.Days[i][last].Date.Format(time.DateOnly), got, want)
		}
	}
	if got := p.Days[1][last].Label(); got != "Tue 3 Mar 2026: 1 failed, 1 success" {
		t.Errorf("label %q", got)
	}
	if !p.Days[3][last].Blank {
		t.Error("Thu 5 Mar, after today, is not blank")
	}
	// Sun 1 Mar 2026 ends the week before the last: that column is March's.
	if p.Heads[0] != "Mar" || p.Heads[last-1] != "Mar" || p.Heads[last] != "" {
		t.Errorf("heads %q ... %q %q, want Mar ... Mar \"\"", p.Heads[0], p.Heads[last-1], p.Heads[last])
	}
}

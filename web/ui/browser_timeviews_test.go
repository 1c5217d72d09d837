package ui_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTimeViews runs etl twice and reads its time views as a user
// would: the Gantt chart and its table, the task and run duration charts
// and the landing times over both runs, and today's calendar day.
func TestBrowserTimeViews(t *testing.T) {
	_, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	shots := screenshotDir(t)
	b.do("a light system", emulateColorScheme("light"))
	b.login("olivia", "olivia-password")
	for i := range 2 {
		b.trigger("etl")
		b.waitFor(fmt.Sprintf("etl run %d to succeed", i+1), lastRunIs("success"), 90*time.Second)
	}
	// alert_empty is skipped: a bar of no width.
	tasks := []string{"extract", "transform", "check", "alert_empty", "load", "report"}

	t.Log("Gantt: a bar per task, in the order they ran, and a table")
	b.do("open the Gantt tab",
		chromedp.Click(chromedp.CSS(`.tabs a[href$="/gantt"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#gantt-chart[data-ready="true"]`)))
	if n := b.count(`.tabs a.active[href$="/gantt"]`); n != 1 {
		t.Error("the Gantt tab is not highlighted")
	}
	labels := b.eval(`Chart.getChart("gantt-chart").data.labels.join(",")`)
	if labels != strings.Join(tasks, ",") {
		t.Errorf("the Gantt chart's bars are %v, want %v in the order they ran", labels, tasks)
	}
	if got := b.eval(`Chart.getChart("gantt-chart").data.datasets[1].data.filter(function(v){return v&&v[1]>v[0]}).length`); got != float64(5) {
		t.Errorf("%v bars of the Gantt chart have a running span, want 5 (all but the skipped alert_empty)", got)
	}
	if got := b.eval(`(function(){var d=Chart.getChart("gantt-chart").data.datasets[1].data;return d[1][0]>=d[0][1]-0.05})()`); got != true {
		t.Errorf("transform starts before extract ends in the Gantt chart: %v", b.eval(`JSON.stringify(Chart.getChart("gantt-chart").data.datasets[1].data)`))
	}
	if n := b.count("table.gantt-table tbody tr"); n != 6 {
		t.Errorf("the Gantt table lists %d task instances, want 6", n)
	}
	if got := b.text(`table.gantt-table tr[data-task="report"] td:nth-child(2)`); got != "success" {
		t.Errorf("report reads %q in the Gantt table", got)
	}
	gantt := filepath.Join(shots, "gantt.png")
	b.screenshot("main", gantt)
	keepInDocs(t, gantt, "screenshot-gantt.png")
	xy, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`(function(){var c=Chart.getChart("gantt-chart");var m=c.getDatasetMeta(1).data[5];
		var r=c.canvas.getBoundingClientRect();return [r.left+m.x-3,r.top+m.y]})()`))
	if err != nil {
		t.Fatalf("locate the report bar: %v", err)
	}
	b.do("click the report bar", chromedp.MouseClickXY(xy[0], xy[1]), chromedp.WaitVisible(chromedp.CSS("h2.ti-title")))
	if title := b.text("h2.ti-title"); !strings.HasPrefix(title, "report") {
		t.Errorf("the report bar opened %q", title)
	}

	// The scheduler also starts etl's scheduled (@daily) run: count the
	// runs the durations table lists.
	t.Log("Durations: a line per task over every run, a bar per run, landing times")
	b.do("open the Durations tab",
		chromedp.Navigate(url+"/dags/etl/durations"),
		chromedp.WaitVisible(chromedp.CSS(`#landing-chart[data-ready="true"]`)))
	if got := b.eval(`Chart.getChart("task-durations-chart").data.datasets.map(function(d){return d.label}).sort().join(",")`); got != "alert_empty,check,extract,load,report,transform" {
		t.Errorf("the task duration chart has lines %v", got)
	}
	runs := b.count("table.durations-table tbody tr")
	if runs < 2 {
		t.Fatalf("the durations table lists %d runs, want the 2 triggered at least", runs)
	}
	if got := b.eval(fmt.Sprintf(`Chart.getChart("task-durations-chart").data.datasets.filter(function(d){return d.label!=="alert_empty"}).every(function(d){return d.data.length===%d&&d.data.every(function(v){return v>0})})`, runs)); got != true {
		t.Errorf("a task's duration line lacks a positive point for each of the %d runs", runs)
	}
	if got := b.eval(`Chart.getChart("run-durations-chart").data.datasets[0].data.filter(function(v){return v>0}).length`); got != float64(runs) {
		t.Errorf("the run duration chart has %v positive bars, want %d", got, runs)
	}
	if got := b.eval(`Chart.getChart("landing-chart").data.datasets.length`); got != float64(6) {
		t.Errorf("the landing chart has %v lines, want 6", got)
	}
	if got := b.text("table.durations-table tbody tr:last-child .run-duration"); got == "—" {
		t.Error("the last run's duration reads —")
	}
	durations := filepath.Join(shots, "durations.png")
	b.screenshot("main", durations)
	keepInDocs(t, durations, "screenshot-durations.png")

	t.Log("Calendar: today shows two successful runs")
	b.do("open the Calendar tab",
		chromedp.Navigate(url+"/dags/etl/calendar"),
		chromedp.WaitVisible(chromedp.CSS("table.calendar")))
	today := time.Now().UTC().Format("2006-01-02")
	if got := b.eval(fmt.Sprintf(`document.querySelector('td.day[data-date="%s"]').className`, today)); got != "day s-success" {
		t.Errorf("today's calendar day has class %v, want day s-success", got)
	}
	if got := b.eval(fmt.Sprintf(`document.querySelector('td.day[data-date="%s"]').title`, today)); !strings.HasSuffix(fmt.Sprint(got), ": 2 success") {
		t.Errorf("today's calendar day reads %q", got)
	}
	if n := b.count("table.calendar td.day:not(.blank)"); n < 365 || n > 366 {
		t.Errorf("the calendar shows %d days, want a year", n)
	}
	if n := b.count("table.calendar td.day.s-success"); n < 1 || n > 2 {
		t.Errorf("the calendar shows %d successful days, want today's and perhaps the scheduled run's", n)
	}
	if n := b.count("table.calendar td.day.s-failed,table.calendar td.day.s-running"); n != 0 {
		t.Errorf("the calendar shows %d failed or running days, want none", n)
	}
	b.do("the dark theme", emulateColorScheme("dark"))
	cal := filepath.Join(shots, "calendar.png")
	b.screenshot("main", cal)
	keepInDocs(t, cal, "screenshot-calendar.png")
}

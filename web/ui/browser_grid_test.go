package ui_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// location is the tab's current URL.
func (b *browser) location() *url.URL {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("location.href"))
	if err != nil {
		b.t.Fatalf("read the location: %v", err)
	}
	u, err := url.Parse(s)
	if err != nil {
		b.t.Fatalf("parse the location %q: %v", s, err)
	}
	return u
}

// TestBrowserGrid drives the grid as an Airflow user does: trigger (and
// see the flash and the new run's details), bars and dates, the legend,
// the run filters, a run's bar opening that run (and its graph, not the
// latest run's), a cell opened from the keyboard, and marking a whole run.
func TestBrowserGrid(t *testing.T) {
	_, base := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: base}
	shots := screenshotDir(t)
	b.login("olivia", "olivia-password")

	t.Log("trigger etl twice: a flash names the new run and its details open")
	var runs []string
	for range 2 {
		b.trigger("etl")
		b.waitFor("the flash", `!!document.querySelector("#flash")`, 10*time.Second)
		loc := b.location()
		runID := loc.Query().Get("triggered")
		if runID == "" || loc.Query().Get("run_id") != runID {
			t.Fatalf("after a trigger the grid is at %s, want ?triggered=<run>&run_id=<run>", loc)
		}
		if got := b.text("#flash"); !strings.Contains(got, "Triggered etl with new run "+runID) {
			t.Errorf("the flash reads %q", got)
		}
		if got := b.eval(`document.querySelector("#run-details").getAttribute("data-run")`); got != runID {
			t.Errorf("the details panel shows run %v, want the new run %s", got, runID)
		}
		runs = append(runs, runID)
	}
	b.waitFor("both etl runs to succeed", fmt.Sprintf(`document.querySelectorAll('#grid th.run[data-run=%q] a.bar.s-success,#grid th.run[data-run=%q] a.bar.s-success').length===2`, runs[0], runs[1]), 90*time.Second)

	t.Log("bars sized by duration, dates under the columns, a legend")
	// (etl is @daily: the scheduler adds its latest scheduled run.)
	b.waitFor("every etl run to finish", `document.querySelectorAll("#grid th.run a.bar.s-queued,#grid th.run a.bar.s-running").length===0`, 60*time.Second)
	heights := b.eval(`Array.from(document.querySelectorAll("#grid th.run a.bar")).map(function(a){return a.getBoundingClientRect().height})`).([]any)
	longest, distinct := 0.0, map[float64]bool{}
	for _, h := range heights {
		longest = max(longest, h.(float64))
		distinct[h.(float64)] = true
	}
	if len(heights) < 2 || longest != 60 || len(distinct) < 2 {
		t.Errorf("bar heights %v: the longest run's bar should be 60 px, shorter runs' lower", heights)
	}
	if got := b.text("#grid tr.dates"); !strings.Contains(got, time.Now().UTC().Format("01-02")) {
		t.Errorf("the dates under the columns read %q, want today's", got)
	}
	if got := b.text(".grid-legend"); !strings.Contains(got, "upstream_failed") || !strings.Contains(got, "success") {
		t.Errorf("the legend reads %q", got)
	}

	t.Log("a run's bar opens that run, and its graph link the same run")
	b.do("click the first run's bar", chromedp.Click(chromedp.CSS(`#grid th.run[data-run="`+runs[0]+`"] a.bar`)))
	b.waitFor("the first run's details", fmt.Sprintf(`(function(){var d=document.querySelector("#run-details");return !!d&&d.getAttribute("data-run")===%q})()`, runs[0]), 10*time.Second)
	if got := b.location().Query().Get("run_id"); got != runs[0] {
		t.Errorf("the address bar names run %q, want %s", got, runs[0])
	}
	if got := b.text("#run-details .run-state"); got != "success" {
		t.Errorf("the run panel says %q, want success", got)
	}
	mustContainText(t, b.text("#run-details"), "Data interval", "Duration", "Conf", "manual")
	grid := filepath.Join(shots, "grid-run.png")
	b.screenshot(".grid-layout", grid)
	b.do("open the run's graph",
		chromedp.Click(chromedp.CSS("#run-details a.graph-link")),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)),
	)
	if loc := b.location(); loc.Path != "/dags/etl/graph" || loc.Query().Get("run_id") != runs[0] {
		t.Errorf("the graph link opened %s, want /dags/etl/graph?run_id=%s", loc, runs[0])
	}
	if got := b.eval(`document.querySelector("#run-select").value`); got != runs[0] {
		t.Errorf("the graph shows run %v, want the clicked run %s (not the latest)", got, runs[0])
	}

	t.Log("a cell opens from the keyboard")
	b.do("focus a cell and press Enter",
		chromedp.Navigate(b.url+"/dags/etl/grid"),
		chromedp.WaitVisible(chromedp.CSS("#grid")),
		chromedp.Focus(chromedp.CSS(`#grid tr[data-task="extract"] td.c:last-child`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#ti-details[data-task="extract"]`)),
	)
	if got := b.eval(`document.activeElement.matches('#grid tr[data-task="extract"] td.c')`); got != true {
		t.Error("the focused cell lost focus")
	}

	t.Log("filters by run state and run type")
	// SetValue fires the select's change event: the form submits.
	b.do("filter failed runs", chromedp.SetValue(chromedp.CSS("#filter-state"), "failed"))
	b.waitFor("the failed filter", `location.search.indexOf("state=failed")>=0&&!!document.querySelector("#grid")`, 10*time.Second)
	if n := b.count("#grid th.run"); n != 0 {
		t.Errorf("the failed filter leaves %d runs, want 0", n)
	}
	if got := b.text("#grid"); !strings.Contains(got, "No runs match the filters") {
		t.Errorf("the filtered grid reads %q", got)
	}
	b.do("filter manual runs", chromedp.Navigate(b.url+"/dags/etl/grid?run_type=manual"), chromedp.WaitVisible(chromedp.CSS("#grid")))
	if n := b.count("#grid th.run"); n != 2 {
		t.Errorf("the manual filter leaves %d runs, want 2", n)
	}

	t.Log("mark the whole second run failed")
	b.do("open the second run and mark it failed",
		chromedp.Click(chromedp.CSS(`#grid th.run[data-run="`+runs[1]+`"] a.bar`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-details[data-run="`+runs[1]+`"] .run-mark-failed-button`)),
		chromedp.Click(chromedp.CSS(`#run-details .run-mark-failed-button`)),
	)
	b.waitFor("the run to be failed", fmt.Sprintf(`(function(){var d=document.querySelector('#run-details[data-run=%q] .run-state');return !!d&&d.textContent==="failed"})()`, runs[1]), 20*time.Second)
	if n := b.count(`#grid th.run[data-run="` + runs[1] + `"] a.bar.s-failed`); n != 1 {
		t.Error("the marked run's bar is not red")
	}
}

// mustContainText fails for each of wants missing from text.
func mustContainText(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%q lacks %q", text, w)
		}
	}
}

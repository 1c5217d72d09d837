package ui_test

import (
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserEditAndAudit drives the edit forms, the connection Test
// button and the audit log in Chromium as an op.
func TestBrowserEditAndAudit(t *testing.T) {
	_, url := browserServer(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer site.Close()
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	b.login("olivia", "olivia-password")

	t.Log("create a variable through the form, then edit it")
	b.do("create a variable",
		chromedp.Navigate(url+"/variables"),
		chromedp.Click(chromedp.CSS("a.new-button")),
		chromedp.WaitVisible(chromedp.CSS("form.variable-form")),
		chromedp.SendKeys(chromedp.CSS("#f-key"), "region"),
		chromedp.SendKeys(chromedp.CSS("#f-value"), "eu-west-1"),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(`table.variables tr[data-key="region"]`)),
	)
	if got := b.text(`tr[data-key="region"]`); !strings.Contains(got, "eu-west-1") {
		t.Fatalf("the new variable's row reads %q", got)
	}
	b.do("edit the variable",
		chromedp.Click(chromedp.CSS(`tr[data-key="region"] a.edit-button`)),
		chromedp.WaitVisible(chromedp.CSS("#f-value")),
		chromedp.SetValue(chromedp.CSS("#f-value"), "us-east-2"),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(`table.variables tr[data-key="region"]`)),
	)
	if got := b.text(`tr[data-key="region"]`); !strings.Contains(got, "us-east-2") {
		t.Fatalf("the edited variable's row reads %q", got)
	}
	b.do("a pool too small to be a number is refused on the page",
		chromedp.Navigate(url+"/pools/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "db"),
		chromedp.SetValue(chromedp.CSS("#f-slots"), "-1"),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(".flash.error")),
	)

	t.Log("a connection to a live HTTP server passes the Test button")
	b.do("create a connection",
		chromedp.Navigate(url+"/connections/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-conn_id")),
		chromedp.SendKeys(chromedp.CSS("#f-conn_id"), "site"),
		chromedp.SendKeys(chromedp.CSS("#f-conn_type"), "http"),
		chromedp.SendKeys(chromedp.CSS("#f-host"), strings.TrimPrefix(site.URL, "http://")),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-conn="site"] button.test-button`)),
		chromedp.Click(chromedp.CSS(`tr[data-conn="site"] button.test-button`)),
	)
	b.waitFor("the test result", `(document.querySelector('tr[data-conn="site"] .test-result.ok')||{}).textContent !== undefined`, 30*time.Second)

	t.Log("the audit log shows every action with its user")
	b.do("open the audit log", chromedp.Navigate(url+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	got := b.text("table.audit")
	for _, want := range []string{"variable.edit", "key=region", "connection.edit", "conn_id=site", "olivia"} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pool.edit") {
		t.Error("the refused pool was audited")
	}

}

// TestBrowserBulkMark marks a task instance failed from the task instance
// browser as an op, and checks that a viewer sees no edit or bulk
// controls.
func TestBrowserBulkMark(t *testing.T) {
	e, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	b.login("olivia", "olivia-password")
	run := e.trigger(t, "example_bash_operator", day)
	b.do("mark one task instance failed",
		chromedp.Navigate(url+"/taskinstances?dag_id=example_bash_operator&run_id="+neturl.QueryEscape(run.RunID)),
		chromedp.WaitVisible(chromedp.CSS("table.tis")),
		chromedp.Click(chromedp.CSS(`table.tis tr[data-ti="run_after_loop"] input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS("button.bulk-failed")),
		chromedp.WaitVisible(chromedp.CSS(`table.tis tr[data-ti="run_after_loop"] .badge.s-failed`)),
	)
	// The date filters through the form: the run's logical day keeps its
	// failed row, the next day shows none.
	b.do("filter by the logical date",
		chromedp.Navigate(url+"/taskinstances?dag_id=example_bash_operator&state=failed"),
		chromedp.WaitVisible(chromedp.CSS(`table.tis tr[data-ti="run_after_loop"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="logical_date_gte"]`), day.Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`input[name="logical_date_lte"]`), day.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(".tis-filters button[type=submit]")),
	)
	b.waitFor("the filtered page", `location.search.includes("logical_date_lte=`+day.Format(time.DateOnly)+`") && document.readyState == "complete"`, time.Minute)
	if b.count(`table.tis tr[data-ti="run_after_loop"]`) != 1 {
		t.Error("the run's own day does not list its failed task instance")
	}
	if got := b.location().Query().Get("logical_date_lte"); got != day.Format(time.DateOnly) {
		t.Errorf("the filter form sent logical_date_lte=%q", got)
	}
	next := day.AddDate(0, 0, 1).Format(time.DateOnly)
	b.do("filter by the next day",
		chromedp.SetValue(chromedp.CSS(`input[name="logical_date_gte"]`), next),
		chromedp.SetValue(chromedp.CSS(`input[name="logical_date_lte"]`), next),
		chromedp.Click(chromedp.CSS(".tis-filters button[type=submit]")),
	)
	b.waitFor("the next day's page", `location.search.includes("logical_date_gte=`+next+`") && document.querySelector("p.empty") != null`, time.Minute)
	b.do("open the audit log", chromedp.Navigate(url+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if got := b.text("table.audit"); !strings.Contains(got, "mark_failed") || !strings.Contains(got, "run_after_loop") {
		t.Errorf("the audit log lacks the mark:\n%s", got)
	}

	t.Log("a viewer sees no edit buttons")
	v := &browser{t: t, ctx: newBrowser(t), url: url}
	v.login("victor", "victor-password")
	v.do("open variables", chromedp.Navigate(url+"/variables"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if n := v.count("a.new-button, a.edit-button, button.delete-button"); n != 0 {
		t.Errorf("a viewer sees %d edit controls", n)
	}
	v.do("open task instances", chromedp.Navigate(url+"/taskinstances"), chromedp.WaitVisible(chromedp.CSS("table.tis")))
	if n := v.count("table.tis input[type=checkbox], .bulk-bar"); n != 0 {
		t.Errorf("a viewer sees %d bulk controls", n)
	}
}

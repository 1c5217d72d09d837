package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TestBrowserXComsAndImportErrors browses XComs with the key filter and
// follows the DAG list's import error banner to its page.
func TestBrowserXComsAndImportErrors(t *testing.T) {
	e, url := browserServer(t)
	ctx := context.Background()
	run := e.trigger(t, "etl", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	e.setState(t, run, "extract", dags.TaskStateSuccess, 1)
	for key, v := range map[string]any{"return_value": []any{"a", "b"}, "row_count": 42} {
		if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "extract",
			MapIndex: store.NoMapIndex}, Key: key, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.ImportErrorsReplace(ctx, &store.ImportErrorsReplaceParams{File: "broken.star",
		Errors: []store.ImportErrorEntry{{Pos: dags.Pos{Line: 2, Col: 5}, Message: "undefined: tasks"}}}); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	b.login("victor", "victor-password")
	b.do("open XComs", chromedp.Click(chromedp.CSS(`header nav a[href="/xcoms"]`)), chromedp.WaitVisible(chromedp.CSS("table.xcoms")))
	// The examples' scheduled runs write XComs too: look for ours.
	if n := b.count(`table.xcoms tr[data-xcom="extract/row_count"], table.xcoms tr[data-xcom="extract/return_value"]`); n < 2 {
		t.Errorf("XComs lists %d of the two XComs", n)
	}
	b.do("filter by key",
		chromedp.SendKeys(chromedp.CSS(`.xcoms-filters input[name="key"]`), "row_count"),
		chromedp.Click(chromedp.CSS(".xcoms-filters button")),
	)
	// The filtered page, not the one before it, which has the row too.
	b.waitFor("the filtered page", `location.search.includes("key=row_count")&&!!document.querySelector('table.xcoms tr[data-xcom="extract/row_count"]')`, 30*time.Second)
	if n := b.count(`table.xcoms tbody tr:not([data-xcom$="/row_count"])`); n != 0 {
		t.Errorf("after the key filter: %d rows of other keys", n)
	}
	if got := b.text(`tr[data-xcom="extract/row_count"]`); !strings.Contains(got, "42") || !strings.Contains(got, run.RunID) {
		t.Errorf("the row reads %q", got)
	}
	b.do("follow the import errors banner", chromedp.Navigate(url+"/dags"),
		chromedp.Click(chromedp.CSS(`#import-errors a[href="/import-errors"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.import-errors-list")))
	if got := b.text(`tr[data-file="broken.star"]`); !strings.Contains(got, "broken.star:2:5") || !strings.Contains(got, "undefined: tasks") {
		t.Errorf("the import error reads %q", got)
	}
}

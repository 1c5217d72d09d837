package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TestBrowserLogs: a failed task's "Go to the error" opens its log at the
// failing line; the log shows levels, downloads, wraps; a running try's
// log follows new lines until the user stops following.
func TestBrowserLogs(t *testing.T) {
	e, base := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: base}
	ctx := context.Background()
	b.login("olivia", "olivia-password")

	t.Log("a failed task links straight to its failing line")
	b.trigger("example_trigger_rules")
	b.waitFor("the run to finish", `document.querySelectorAll("#grid th.run a.bar.s-queued,#grid th.run a.bar.s-running").length===0`, 90*time.Second)
	b.do("open broken's error",
		chromedp.Click(chromedp.CSS(`#grid tr[data-task="broken"] td.c:last-child`)),
		chromedp.WaitVisible(chromedp.CSS(`#ti-details[data-task="broken"] a.error-link`)),
		chromedp.Click(chromedp.CSS(`#ti-details a.error-link`)),
		chromedp.WaitVisible(chromedp.CSS("#log")),
	)
	if loc := b.location(); !strings.HasSuffix(loc.Path, "/tasks/broken") || loc.Fragment != "first-error" {
		t.Errorf("the error link opened %s, want broken's page at #first-error", loc)
	}
	target := `document.querySelector("#first-error").parentElement`
	if got := b.eval(target + `.classList.contains("l-error")`); got != true {
		t.Errorf("the line at #first-error is not an error line: %v", b.eval(target+`.className`))
	}
	// The failing line is scrolled into the log's view.
	inView := `(function(){var l=document.querySelector("#log").getBoundingClientRect(),r=` + target + `.getBoundingClientRect();return r.top>=l.top-1&&r.bottom<=l.bottom+1})()`
	if got := b.eval(inView); got != true {
		t.Error("the failing line is not in view")
	}
	if got := b.text("#jump-error"); !strings.HasPrefix(got, "Jump to first error (line ") {
		t.Errorf("the jump link reads %q", got)
	}
	if b.count("#log .ln.l-error") == 0 {
		t.Error("no line of broken's log is marked as an error")
	}
	// Download: the link serves the whole log as a file.
	href := b.eval(`document.querySelector("#log-download").getAttribute("href")`).(string)
	got := b.eval(fmt.Sprintf(`(function(){var x=new XMLHttpRequest();x.open("GET",%q,false);x.send();return x.getResponseHeader("Content-Disposition")+"\n"+x.responseText})()`, href))
	if s, _ := got.(string); !strings.Contains(s, "attachment;") || !strings.Contains(s, "disk full") {
		t.Errorf("the download answers %q", got)
	}
	b.do("unwrap lines", chromedp.Evaluate[chromedp.Void](`document.querySelector("#log-wrap").click()`))
	if b.count("#log.nowrap") != 1 {
		t.Error("unticking Wrap lines does not unwrap the log")
	}
	if got := b.eval(`document.querySelector("#log-follow").disabled`); got != true {
		t.Error("Follow is offered for a finished try")
	}

	t.Log("a running try's log follows new lines")
	if err := e.store.DAGSetPaused(ctx, "etl", true); err != nil { // the scheduler leaves the run alone
		t.Fatal(err)
	}
	run := e.trigger(t, "etl", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	key := store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "load", MapIndex: store.NoMapIndex}
	// A running try with heartbeats, as a worker keeps it (the scheduler
	// fails a silent one).
	beat := func() {
		if err := e.store.TaskInstanceHeartbeat(ctx, &store.TaskInstanceHeartbeatParams{Key: key, TryNumber: 1, At: time.Now()}); err != nil {
			t.Errorf("heartbeat: %v", err)
		}
	}
	// Started now, as a worker starts it: a start date in 2024 with no
	// heartbeat yet would be a zombie to a scheduler tick that came
	// between the two writes.
	if _, err := e.store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key, To: dags.TaskStateRunning, TryNumber: 1, StartDate: time.Now()}); err != nil {
		t.Fatal(err)
	}
	beat()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				beat()
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	w, err := e.logs.Create(ctx, key, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	write := func(from, n int) {
		t.Helper()
		var sb strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&sb, "[2024-05-01T00:00:%02d.000Z] INFO - line %d\n", i%60, i)
		}
		if _, err := w.Write([]byte(sb.String())); err != nil {
			t.Fatal(err)
		}
	}
	write(1, 5)
	b.do("open the running try", chromedp.Navigate(b.url+"/dags/etl/runs/"+url.PathEscape(run.RunID)+"/tasks/load"), chromedp.WaitVisible(chromedp.CSS("#log")))
	if got := b.eval(`document.querySelector("#log-follow").checked`); got != true {
		t.Fatalf("Follow is not on for a running try: %v", b.eval(`document.querySelector(".ti-state").textContent+" "+document.querySelector(".try-number").textContent+" "+document.querySelector(".log-tools").outerHTML`))
	}
	write(6, 300)
	b.waitFor("the new lines", `!!document.querySelector("#L305")`, 15*time.Second)
	atBottom := `(function(){var l=document.querySelector("#log");return l.scrollHeight-l.scrollTop-l.clientHeight<4})()`
	b.waitFor("the log to follow to its end", atBottom, 5*time.Second)
	if got := b.text("#L305 time"); got != "2024-05-01T00:00:05.000Z" {
		t.Errorf("line 305's time reads %q", got)
	}
	b.do("stop following", chromedp.Click(chromedp.CSS("#log-follow")), chromedp.Evaluate[chromedp.Void](`document.querySelector("#log").scrollTop=0`))
	write(306, 300)
	b.waitFor("more lines", `!!document.querySelector("#L605")`, 15*time.Second)
	if got := b.eval(`document.querySelector("#log").scrollTop`); got != 0.0 {
		t.Errorf("the log scrolled to %v though Follow is off", got)
	}
}

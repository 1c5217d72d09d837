package ui_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web"
	"github.com/starflow-dev/starflow/web/auth"
)

// findChromium returns Debian's Chromium (or another Chrome). A missing
// browser fails the test: `make test` installs it (scripts/services.sh).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: the browser tests need it. Install it with `apt-get install -y chromium` " +
		"(`make test` does, through scripts/services.sh)")
	return ""
}

// browserServer runs the real webserver (web.Server: login, the UI behind
// the session check, the API) on a loopback port, with the scheduler and a
// worker running in-process on the same store.
func browserServer(t *testing.T) (*env, string) {
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	for name, role := range map[string]auth.Role{"ada": auth.RoleAdmin, "olivia": auth.RoleOp, "victor": auth.RoleViewer} {
		hash, err := auth.HashPassword(name + "-password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.UserCreate(ctx, &store.UserCreateParams{Username: name, PasswordHash: hash, Role: string(role)}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := web.New(web.Options{Store: e.store, Scheduler: e.sched, DAGs: e.versions, Queue: e.queue, Notifier: e.notifier, Logger: e.logger, Logs: e.logs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	worker := e.newWorker()
	serve := func(ctx context.Context) error { return srv.Serve(ctx, ln) }
	for _, run := range []func(context.Context) error{e.sched.Run, worker.Run, serve} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("engine stopped: %v", err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return e, "http://" + ln.Addr().String()
}

// newBrowser starts headless Chromium with a throw-away profile, for at
// most eight minutes (TestBrowser took 5.6 on a 2-core machine at load 50).
func newBrowser(t *testing.T) context.Context { return newBrowserFor(t, 8*time.Minute) }

// newBrowserFor starts headless Chromium for at most d.
func newBrowserFor(t *testing.T, d time.Duration) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1500, 950),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// browser wraps a tab with failing helpers.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) eval(js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *browser) count(selector string) int {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", selector)))
	if err != nil {
		b.t.Fatalf("count %s: %v", selector, err)
	}
	return v
}

func (b *browser) text(selector string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", selector, err)
	}
	return s
}

// waitFor polls a JavaScript condition until it holds.
func (b *browser) waitFor(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			b.t.Fatalf("waited %s for %s (last error %v); page:\n%s", timeout, what, err, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (b *browser) screenshot(selector, path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", selector, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) login(user, password string) {
	b.t.Helper()
	b.do("log in as "+user,
		chromedp.Navigate(b.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("table.dags")),
	)
}

// trigger submits a DAG's trigger form and waits for its grid.
func (b *browser) trigger(dagID string) {
	b.t.Helper()
	b.do("trigger "+dagID,
		chromedp.Navigate(b.url+"/dags/"+dagID+"/grid"),
		chromedp.Click(chromedp.CSS(".tabs .trigger-button")),
		chromedp.WaitVisible(chromedp.CSS("#trigger-form")),
		chromedp.Click(chromedp.CSS("#trigger-submit")),
		chromedp.WaitVisible(chromedp.CSS("#grid th.run")),
	)
}

// lastRunIs is JavaScript that holds when the grid's newest run has the
// state.
func lastRunIs(state string) string {
	return fmt.Sprintf(`(function(){var h=document.querySelectorAll("#grid th.run a.bar");return h.length>0&&h[h.length-1].classList.contains("s-%s")})()`, state)
}

// screenshotDir is where the screenshots go: $STARFLOW_SCREENSHOT_DIR, or
// a temp folder of the test.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("STARFLOW_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// keepInDocs copies a screenshot to docs/ when it is missing there or
// STARFLOW_UPDATE_SCREENSHOTS=1, so test runs do not churn the committed
// images.
func keepInDocs(t *testing.T, src, name string) {
	_, file, _, _ := runtime.Caller(0)
	dst := filepath.Join(filepath.Dir(file), "..", "..", "docs", name)
	if _, err := os.Stat(dst); err == nil && os.Getenv("STARFLOW_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", dst)
}

// TestBrowser drives the UI in Chromium against a running Starflow: log
// in, trigger the ETL example and watch its grid turn green without a
// reload, open the failed task of example_trigger_rules, read its log,
// clear it and see it run again, screenshot the grid and graph, and check
// that a viewer gets no trigger button.
func TestBrowser(t *testing.T) {
	_, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)

	b.login("olivia", "olivia-password")
	if got := b.text("table.dags"); !strings.Contains(got, "etl") || !strings.Contains(got, "example_trigger_rules") {
		t.Fatalf("the DAG list lacks the examples:\n%s", got)
	}

	t.Log("trigger etl and watch the grid turn green")
	b.trigger("etl")
	b.eval("window.__noReload = true")
	b.waitFor("the etl run to succeed", lastRunIs("success"), 90*time.Second)
	if b.eval("window.__noReload === true") != true {
		t.Error("the grid reloaded the page instead of updating in place")
	}
	for _, task := range []string{"extract", "transform", "check", "report"} {
		if n := b.count(fmt.Sprintf(`#grid tr[data-task="%s"] td.c:last-child.s-success`, task)); n != 1 {
			t.Errorf("task %s is not green in the grid", task)
		}
	}
	b.screenshot(".grid-layout", filepath.Join(shots, "etl-grid.png"))
	b.do("open the etl graph", chromedp.Navigate(b.url+"/dags/etl/graph"), chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)))
	b.screenshot("#graph", filepath.Join(shots, "etl-graph.png"))

	t.Log("trigger example_trigger_rules, open the failed task's log")
	for range 3 { // a few runs, for a grid worth a screenshot
		b.trigger("example_trigger_rules")
	}
	b.waitFor("the example_trigger_rules runs to finish",
		`document.querySelectorAll("#grid th.run a.bar").length===3&&document.querySelectorAll("#grid th.run a.bar.s-queued,#grid th.run a.bar.s-running").length===0`,
		90*time.Second)
	b.do("open the details of broken",
		chromedp.Click(chromedp.CSS(`#grid tr[data-task="broken"] td.c:last-child`)),
		chromedp.WaitVisible(chromedp.CSS(`#ti-details[data-task="broken"]`)),
	)
	if s := b.text("#ti-details .ti-state"); s != "failed" {
		t.Fatalf("broken is %q in the details panel, want failed", s)
	}
	if b.count("#ti-details .clear-button") != 1 || b.count("#ti-details .mark-success-button") != 1 {
		t.Error("an op sees no Clear or Mark buttons")
	}
	grid := filepath.Join(shots, "grid.png")
	b.screenshot(".grid-layout", grid)
	keepInDocs(t, grid, "screenshot-grid.png")

	b.do("open the log", chromedp.Click(chromedp.CSS("#ti-details a.log-link")), chromedp.WaitVisible(chromedp.CSS("#log")))
	if log := b.text("#log"); !strings.Contains(log, "disk full") {
		t.Fatalf("the log of broken lacks its stderr:\n%s", log)
	}

	t.Log("clear broken and see it run again")
	b.do("clear broken", chromedp.Click(chromedp.CSS(".ti-top .clear-button")))
	b.waitFor("broken to fail on its second try",
		`(function(){var n=document.querySelector(".try-number"),s=document.querySelector(".ti-state");return !!n&&!!s&&n.textContent.trim().indexOf("2")===0&&s.textContent==="failed"})()`,
		60*time.Second)
	if b.count(".tries a") != 2 {
		t.Errorf("the task instance page lists %d tries, want 2", b.count(".tries a"))
	}
	b.waitFor("the second try's log", `document.querySelector("#log").textContent.indexOf("disk full")>=0`, 10*time.Second)

	b.do("open the graph",
		chromedp.Navigate(b.url+"/dags/example_trigger_rules/graph"),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)),
	)
	if n := b.count("#graph svg g.node"); n != 9 {
		t.Errorf("the graph has %d nodes, want 9", n)
	}
	if n := b.count("#graph svg path.edge"); n != 15 {
		t.Errorf("the graph has %d edges, want 15", n)
	}
	if b.count(`#graph svg g.node.s-failed[data-task="broken"]`) != 1 || b.count(`#graph svg g.node.s-skipped[data-task="skipped"]`) != 1 {
		t.Error("the graph does not colour broken failed and skipped skipped")
	}
	graph := filepath.Join(shots, "graph.png")
	b.screenshot("#graph", graph)
	keepInDocs(t, graph, "screenshot-graph.png")

	b.do("open a graph with labelled edges",
		chromedp.Navigate(b.url+"/dags/example_branch_labels/graph"),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)),
	)
	if n := b.count("#graph svg g.edge-label"); n != 2 {
		t.Errorf("the graph draws %d edge labels, want 2", n)
	}
	// SVG text has no innerText: read its textContent.
	if got := b.eval(`document.querySelector('#graph svg g.edge-label[data-from="check_integrity"][data-to="save"] text').textContent`); got != "No errors" {
		t.Errorf("the label of check_integrity >> save reads %q, want No errors", got)
	}

	t.Log("run the mapping example: a mapped task's cell, details and graph node")
	b.trigger("example_dynamic_task_mapping")
	b.waitFor("the mapping run to finish", `document.querySelectorAll("#grid th.run a.bar.s-queued,#grid th.run a.bar.s-running").length===0`, 90*time.Second)
	if got := b.text(`#grid tr[data-task="add_one"] td.c.mapped:last-child.s-success`); got != "[3]" {
		t.Errorf("the add_one cell reads %q, want [3]", got)
	}
	b.do("open the details of add_one",
		chromedp.Click(chromedp.CSS(`#grid tr[data-task="add_one"] td.c:last-child`)),
		chromedp.WaitVisible(chromedp.CSS(`#ti-details[data-task="add_one"][data-mapped="3"]`)),
	)
	if n := b.count(`#ti-details table.mapped-list tr[data-map-index]`); n != 3 {
		t.Errorf("the details panel lists %d map indexes, want 3", n)
	}
	mappedShot := filepath.Join(shots, "mapping-grid.png")
	b.screenshot(".grid-layout", mappedShot)
	keepInDocs(t, mappedShot, "screenshot-mapped.png")
	b.do("open add_one [1]", chromedp.Click(chromedp.CSS(`#ti-details tr[data-map-index="1"] a`)), chromedp.WaitVisible(chromedp.CSS("#log")))
	if title := b.text("h2.ti-title"); !strings.HasPrefix(title, "add_one [1]") {
		t.Errorf("the task instance page is titled %q", title)
	}
	b.do("open the mapping graph",
		chromedp.Navigate(b.url+"/dags/example_dynamic_task_mapping/graph"),
		chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)),
	)
	// SVG text has no innerText: read its textContent.
	if got := b.eval(`(function(){var t=document.querySelector('#graph svg g.node.s-success[data-task="add_one"] text.label');return t?t.textContent:null})()`); got != "add_one [3]" {
		t.Errorf("the add_one node reads %q, want add_one [3]", got)
	}

	t.Log("a viewer sees no trigger button")
	b.do("log out", chromedp.Click(chromedp.CSS("header .who button")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.login("victor", "victor-password")
	if n := b.count(".trigger-button"); n != 0 {
		t.Errorf("a viewer sees %d trigger buttons on the DAG list", n)
	}
	if n := b.count(`form[action$="/pause"]`); n != 0 {
		t.Errorf("a viewer sees %d pause forms", n)
	}
	b.do("open the grid as a viewer",
		chromedp.Navigate(b.url+"/dags/example_trigger_rules/grid"),
		chromedp.WaitVisible(chromedp.CSS("#grid")),
		chromedp.Click(chromedp.CSS(`#grid tr[data-task="broken"] td.c:last-child`)),
		chromedp.WaitVisible(chromedp.CSS(`#ti-details[data-task="broken"]`)),
	)
	if n := b.count(".trigger-button") + b.count(".clear-button") + b.count(".mark-success-button"); n != 0 {
		t.Errorf("a viewer sees %d trigger, clear or mark buttons on the grid", n)
	}
	b.do("open the datasets page as a viewer", chromedp.Click(chromedp.CSS(`header nav a[href="/datasets"]`)), chromedp.WaitVisible(chromedp.CSS("table.datasets")))
	if n := b.count(`header nav a.active[href="/datasets"]`); n != 1 {
		t.Error("the Datasets page does not highlight its navigation link")
	}
	if n := b.count(`table.datasets tr[data-dataset]`); n < 2 {
		t.Errorf("the Datasets page lists %d datasets, want the 2 examples/datasets.star schedules orders_report on", n)
	}
	datasetsShot := filepath.Join(shots, "datasets.png")
	b.screenshot("main", datasetsShot)
	keepInDocs(t, datasetsShot, "screenshot-datasets.png")
}

package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// runTook sets a run's state with start and end dates d apart.
func runTook(t *testing.T, e *env, run *store.DagRun, state dags.DagRunState, d time.Duration) {
	t.Helper()
	start := run.LogicalDate.Add(time.Hour)
	if _, err := e.store.RunSetState(context.Background(), &store.RunSetStateParams{DagID: run.DagID, RunID: run.RunID, To: state,
		StartDate: start, EndDate: start.Add(d)}); err != nil {
		t.Fatal(err)
	}
}

func TestGridBarsDatesLegendAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	short := e.trigger(t, "etl", day)
	long := e.trigger(t, "etl", day.Add(24*time.Hour))
	runTook(t, e, short, dags.DagRunStateSuccess, 10*time.Second)
	runTook(t, e, long, dags.DagRunStateFailed, 40*time.Second)
	sched, err := e.store.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "scheduled__2024-03-03T00:00:00+00:00", RunType: dags.RunTypeScheduled,
		State: dags.DagRunStateQueued, LogicalDate: day.Add(48 * time.Hour), QueuedAt: day.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	code, body := get(t, e.as(auth.RoleViewer), "/dags/etl/grid")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	body = html.UnescapeString(body)
	heights := map[string]string{}
	for _, m := range regexp.MustCompile(`data-run="([^"]+)" title="[^"]*"><a class="bar [^"]*" href="[^"]*" style="height:(\d+)px"`).FindAllStringSubmatch(body, -1) {
		heights[m[1]] = m[2]
	}
	// The longest run gets the full 60 px, one a quarter as long 6+54/4,
	// a run not started the minimum.
	if heights[long.RunID] != "60" || heights[short.RunID] != "19" || heights[sched.RunID] != "6" {
		t.Errorf("bar heights %v, want %s 60, %s 19, %s 6", heights, long.RunID, short.RunID, sched.RunID)
	}
	// One date per day under the columns, and the state legend.
	for _, d := range []string{"03-01 00:00", "03-02 00:00", "03-03 00:00"} {
		if !strings.Contains(body, `<span>`+d+`</span>`) {
			t.Errorf("the grid lacks the date %s under its columns", d)
		}
	}
	mustContain(t, body, `class="legend grid-legend"`, `<span class="swatch s-upstream_failed"></span>upstream_failed`, `<span class="swatch s-success"></span>success`)

	cols := func(target string) []string {
		t.Helper()
		code, body := get(t, e.as(auth.RoleViewer), target)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", target, code, body)
		}
		var out []string
		for _, m := range regexp.MustCompile(`<th class="run[^"]*" data-run="([^"]+)"`).FindAllStringSubmatch(html.UnescapeString(body), -1) {
			out = append(out, m[1])
		}
		return out
	}
	tests := []struct {
		name, target string
		want         []string
	}{
		{"the state filter keeps the failed run", "/dags/etl/grid?state=failed", []string{long.RunID}},
		{"the run type filter keeps the scheduled run", "/dags/etl/grid?run_type=scheduled", []string{sched.RunID}},
		{"both filters keep the manual successful run", "/dags/etl/grid?run_type=manual&state=success", []string{short.RunID}},
		{"the polled table keeps the filters", "/dags/etl/grid/_table?run_type=manual", []string{short.RunID, long.RunID}},
		{"a filter nothing matches leaves no column", "/dags/etl/grid?state=running", nil},
	}
	for _, tc := range tests {
		if got := cols(tc.target); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: columns %v, want %v", tc.name, got, tc.want)
		}
	}
	_, body = get(t, e.as(auth.RoleViewer), "/dags/etl/grid?run_type=scheduled&runs=50")
	mustContain(t, body, `<option value="scheduled" selected>scheduled</option>`, `id="filter-reset"`,
		`hx-get="/dags/etl/grid/_table?run_type=scheduled&amp;runs=50"`)
	for _, bad := range []string{"state=up_for_retry", "run_type=nightly"} {
		if code, body := get(t, e.as(auth.RoleViewer), "/dags/etl/grid?"+bad); code != http.StatusBadRequest || !strings.Contains(body, "must be one of") {
			t.Errorf("%s: status %d, want 400 with the choices", bad, code)
		}
	}
}

func TestGridRunLinksOpenTheClickedRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	old := e.trigger(t, "etl", day)
	e.trigger(t, "etl", day.Add(24*time.Hour)) // the latest run

	_, body := get(t, e.as(auth.RoleViewer), "/dags/etl/grid")
	wantBar := `href="/dags/etl/grid?run_id=` + url.QueryEscape(old.RunID) + `&amp;runs=25"`
	mustContain(t, body, wantBar)
	mustNotContain(t, body, "%3d", "%3D")

	_, panel := get(t, e.as(auth.RoleViewer), "/dags/etl/grid/_run?"+url.Values{"run_id": {old.RunID}}.Encode())
	graphURL := "/dags/etl/graph?run_id=" + url.QueryEscape(old.RunID)
	mustContain(t, panel, `id="run-details" data-run="`+old.RunID+`"`, `href="`+graphURL+`"`)
	mustNotContain(t, panel, "%3d", "%3D")

	// The link opens that run's graph, not the latest run's.
	_, graph := get(t, e.as(auth.RoleViewer), graphURL)
	mustContain(t, graph, `<option value="`+old.RunID+`" selected>`)
	// The task instance page links its own run's graph too.
	_, ti := get(t, e.as(auth.RoleViewer), "/dags/etl/runs/"+url.PathEscape(old.RunID)+"/tasks/extract")
	mustContain(t, ti, `class="run-graph-link" href="`+graphURL+`"`)
	mustNotContain(t, ti, "graph?run_id%3d")
}

func TestGridRunPanel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	run, err := e.store.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: "manual__conf", RunType: dags.RunTypeManual,
		State: dags.DagRunStateQueued, LogicalDate: day, DataIntervalStart: day, DataIntervalEnd: day.Add(24 * time.Hour),
		Conf: map[string]any{"table": "orders"}, QueuedAt: day})
	if err != nil {
		t.Fatal(err)
	}
	runTook(t, e, run, dags.DagRunStateFailed, 90*time.Second)

	target := "/dags/etl/grid/_run?run_id=manual__conf"
	buttons := []string{"run-clear-button", "run-mark-success-button", "run-mark-failed-button"}
	for _, tc := range []struct {
		role    auth.Role
		buttons bool
	}{{auth.RoleOp, true}, {auth.RoleViewer, false}} {
		code, body := get(t, e.as(tc.role), target)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.role, code, body)
		}
		mustContain(t, body, `<span class="badge s-failed run-state">failed</span>`, `<dd class="run-type">manual</dd>`,
			`<dd class="data-interval">2024-03-01 00:00:00 – 2024-03-02 00:00:00</dd>`, `<dd class="run-duration">1m30s</dd>`,
			`"table": "orders"`)
		if tc.buttons {
			mustContain(t, body, buttons...)
			mustContain(t, body, `action="/dags/etl/runs/manual__conf/clear"`)
		} else {
			mustNotContain(t, body, buttons...)
		}
	}
	// The whole page with ?run_id= opens the panel, and after a trigger
	// says so.
	_, body := get(t, e.as(auth.RoleOp), "/dags/etl/grid?run_id=manual__conf&triggered=manual__conf")
	mustContain(t, body, `id="run-details" data-run="manual__conf"`, `id="flash"`, "Triggered etl with new run manual__conf")
	if code, _ := get(t, e.as(auth.RoleOp), "/dags/etl/grid/_run?run_id=nope"); code != http.StatusNotFound {
		t.Errorf("unknown run: status %d, want 404", code)
	}
}

func TestRunClearAndMark(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	run := triggerRulesRun(t, e)
	base := "/dags/example_trigger_rules/runs/" + url.PathEscape(run.RunID)
	states := func() map[dags.TaskState]int {
		t.Helper()
		tis, err := e.store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
		if err != nil {
			t.Fatal(err)
		}
		out := map[dags.TaskState]int{}
		for _, ti := range tis {
			out[ti.State]++
		}
		return out
	}
	runState := func() dags.DagRunState {
		t.Helper()
		r, err := e.store.RunGet(ctx, run.DagID, run.RunID)
		if err != nil {
			t.Fatal(err)
		}
		return r.State
	}

	for _, path := range []string{"/clear", "/mark"} {
		if rec := post(t, e.as(auth.RoleViewer), base+path, url.Values{"state": {"success"}}); rec.Code != http.StatusForbidden {
			t.Errorf("viewer %s: status %d, want 403", path, rec.Code)
		}
	}

	rec := post(t, e.as(auth.RoleOp), base+"/clear", url.Values{"only_failed": {"true"}, "return": {"/dags/example_trigger_rules/grid?run_id=x"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dags/example_trigger_rules/grid?run_id=x" {
		t.Fatalf("clear: status %d location %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := states(); got[dags.TaskStateFailed] != 0 || got[dags.TaskStateUpstreamFailed] != 0 || got[dags.TaskStateSuccess] != 1 {
		t.Fatalf("after clearing the failed ones: %v, want ok still success and no failed", got)
	}

	if rec := post(t, e.as(auth.RoleOp), base+"/mark", url.Values{"state": {"success"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("mark success: status %d: %s", rec.Code, rec.Body)
	}
	if got := states(); got[dags.TaskStateSuccess] != 9 {
		t.Fatalf("after marking the run success: %v, want all 9 success", got)
	}
	if got := runState(); got != dags.DagRunStateSuccess {
		t.Fatalf("after marking the run success it is %s", got)
	}

	if rec := post(t, e.as(auth.RoleOp), base+"/mark", url.Values{"state": {"failed"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("mark failed: status %d: %s", rec.Code, rec.Body)
	}
	if got := runState(); got != dags.DagRunStateFailed {
		t.Fatalf("after marking the run failed it is %s", got)
	}

	if rec := post(t, e.as(auth.RoleOp), base+"/clear", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("clear all: status %d: %s", rec.Code, rec.Body)
	}
	if got := states(); got[dags.TaskStateNone] != 9 {
		t.Fatalf("after clearing the run: %v, want all 9 none", got)
	}
	if got := runState(); got != dags.DagRunStateQueued {
		t.Errorf("a cleared run is %s, want queued", got)
	}
	if rec := post(t, e.as(auth.RoleOp), base+"/mark", url.Values{"state": {"running"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("mark running: status %d, want 400", rec.Code)
	}
}

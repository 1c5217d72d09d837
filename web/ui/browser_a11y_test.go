package ui_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeViolation is one serious or critical axe-core finding.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck injects axe-core (web/ui/testdata/axe, not served by the UI)
// into the page and returns its serious and critical WCAG 2.1 A/AA
// violations.
func (b *browser) axeCheck(script string) []axeViolation {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](script)); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(function (r) {
		return JSON.stringify(r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; }).map(function (v) {
			return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(" ") + ": " + (n.failureSummary || "").split("\n").slice(1, 2).join(""); })};
		}));
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe-core's answer %q: %v", out, err)
	}
	return vs
}

// TestBrowserAccessibility runs axe-core over every main page in the light
// and the dark theme and fails on any serious or critical violation; it
// also draws the DAG dependencies graph and reaches its nodes with the
// keyboard.
func TestBrowserAccessibility(t *testing.T) {
	axeJS, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowserFor(t, 9*time.Minute), url: url}
	shots := screenshotDir(t)
	b.do("a light system", emulateColorScheme("light"))
	b.login("ada", "ada-password") // an admin sees every page and button
	b.trigger("etl")
	b.waitFor("the etl run to succeed", lastRunIs("success"), 90*time.Second)
	runID := b.eval(`document.querySelector("#grid th.run:last-of-type").getAttribute("data-run")`).(string)

	t.Log("DAG dependencies: datasets and trigger_dag links, nodes reached by Tab")
	b.do("open Dependencies", chromedp.Click(chromedp.CSS(`header nav a[href="/dag-dependencies"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#deps-graph[data-ready="true"] svg`)))
	for _, sel := range []string{
		`#deps-graph a.node.dep-dag[data-id="dag:orders_etl"]`,
		`#deps-graph a.node.dep-dataset[data-id="dataset:s3://warehouse/orders"]`,
		`#deps-graph path.edge.dep-dataset[data-from="dataset:s3://warehouse/orders"][data-to="dag:orders_report"]`,
		`#deps-graph path.edge.dep-trigger[data-from="dag:orders_report"][data-to="dag:notify_team"]`,
		`#deps-graph path.edge.dep-trigger[data-from="dag:example_trigger_controller_dag"][data-to="dag:example_trigger_target_dag"]`,
	} {
		if b.count(sel) != 1 {
			t.Errorf("the dependencies graph lacks %s", sel)
		}
	}
	// Tab from the last element before the graph lands on a node.
	b.do("focus the graph's first node", chromedp.Evaluate[chromedp.Void](`document.querySelector("#deps-graph a.node").focus()`))
	if got := b.eval(`document.activeElement.matches("#deps-graph a.node")`); got != true {
		t.Error("a dependencies node cannot take the keyboard focus")
	}
	first := b.eval(`document.activeElement.getAttribute("data-id")`)
	b.do("press Enter on it", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.eval(`location.pathname + location.search`); got == "/dag-dependencies" {
		t.Errorf("Enter on node %v did not open it", first)
	}
	b.do("back to Dependencies", chromedp.Navigate(url+"/dag-dependencies"), chromedp.WaitVisible(chromedp.CSS(`#deps-graph[data-ready="true"] svg`)))
	deps := filepath.Join(shots, "dependencies.png")
	b.screenshot("main", deps)
	keepInDocs(t, deps, "screenshot-dependencies.png")

	pages := []struct{ path, ready string }{
		{"/dags", "table.dags"},
		{"/dags/etl/grid", "#grid th.run"},
		{"/dags/etl/graph", `#graph[data-ready="true"] svg`},
		{"/dags/etl/runs/" + runID + "/tasks/extract", "#log"},
		{"/dags/etl/gantt", `#gantt-chart[data-ready="true"]`},
		{"/dags/etl/durations", `#landing-chart[data-ready="true"]`},
		{"/dags/etl/calendar", "table.calendar"},
		{"/dag-dependencies", `#deps-graph[data-ready="true"] svg`},
		{"/datasets", "table.datasets"},
		{"/variables", "main h1"},
		{"/connections", "main h1"},
		{"/pools", "main h1"},
		{"/taskinstances", "main h1"},
		{"/xcoms", "main h1"},
		{"/import-errors", "main h1"},
		{"/users", "table.users"},
		{"/users/new", "form.user-form"},
	}
	var failures []string
	for _, theme := range []string{"light", "dark"} {
		b.do(theme+" system", emulateColorScheme(theme))
		for _, p := range pages {
			b.do("open "+p.path, chromedp.Navigate(url+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			if got := b.eval(`document.documentElement.dataset.theme`); got != theme {
				t.Fatalf("%s is in the %v theme, want %s", p.path, got, theme)
			}
			start := time.Now()
			vs := b.axeCheck(string(axeJS))
			t.Logf("%s (%s): axe-core in %v, %d serious or critical", p.path, theme, time.Since(start).Round(time.Millisecond), len(vs))
			for _, v := range vs {
				failures = append(failures, fmt.Sprintf("%s (%s): %s %s: %s\n    %s", p.path, theme, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n    ")))
			}
		}
	}
	if len(failures) > 0 {
		t.Errorf("axe-core finds %d serious or critical violations:\n%s", len(failures), strings.Join(failures, "\n"))
	}
}

package ui_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// edgesThroughNodes is JavaScript that lists the edges of the drawn
// graph passing through a node other than their own ends: points every
// 2 px along each path, against every node's box.
const edgesThroughNodes = `(function(){
  var boxes=[];
  document.querySelectorAll("#graph svg g.node").forEach(function(g){
    var m=/translate\(([-\d.e]+),([-\d.e]+)\)/.exec(g.getAttribute("transform")),r=g.querySelector("rect");
    boxes.push({id:g.getAttribute("data-task")||("group:"+g.getAttribute("data-group")),x:+m[1],y:+m[2],w:+r.getAttribute("width"),h:+r.getAttribute("height")});
  });
  var bad=[];
  document.querySelectorAll("#graph svg path.edge").forEach(function(p){
    var from=p.getAttribute("data-from"),to=p.getAttribute("data-to"),len=p.getTotalLength();
    for(var d=0;d<=len;d+=2){
      var pt=p.getPointAtLength(d);
      boxes.forEach(function(b){
        if(b.id===from||b.id===to)return;
        if(pt.x>b.x+1&&pt.x<b.x+b.w-1&&pt.y>b.y+1&&pt.y<b.y+b.h-1)bad.push(from+">"+to+" through "+b.id);
      });
    }
  });
  return bad.filter(function(v,i,a){return a.indexOf(v)===i});
})()`

// TestBrowserGraph: task groups start collapsed (coloured by their
// tasks), expand and collapse by mouse and keyboard; the view zooms,
// fits and pans; no edge crosses a node; a task node opens from the
// keyboard.
func TestBrowserGraph(t *testing.T) {
	_, base := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: base}
	shots := screenshotDir(t)
	b.login("olivia", "olivia-password")
	b.trigger("example_task_group")
	b.waitFor("the run to finish", `document.querySelectorAll("#grid th.run a.bar.s-queued,#grid th.run a.bar.s-running").length===0`, 90*time.Second)
	b.do("open the graph", chromedp.Navigate(b.url+"/dags/example_task_group/graph"), chromedp.WaitVisible(chromedp.CSS(`#graph[data-ready="true"] svg`)))

	t.Log("groups start collapsed, coloured by their tasks")
	if n, g := b.count("#graph svg g.node"), b.count("#graph svg g.node.group-node"); n != 4 || g != 2 {
		t.Fatalf("collapsed: %d nodes (%d groups), want start, end and 2 groups", n, g)
	}
	if b.count(`#graph svg g.group-node.s-success[data-group="section_1"]`) != 1 {
		t.Error("the collapsed section_1 is not green")
	}
	if got := b.eval(`document.querySelector('#graph svg g.group-node[data-group="section_2"] text.op').textContent`); got != "4 tasks" {
		t.Errorf("section_2 reads %v, want 4 tasks", got)
	}
	if bad := b.eval(edgesThroughNodes).([]any); len(bad) != 0 {
		t.Errorf("edges through nodes: %v", bad)
	}

	t.Log("expand section_2 by a click, its inner group from the keyboard")
	b.do("expand section_2", chromedp.Click(chromedp.CSS(`#graph svg g.group-node[data-group="section_2"]`)))
	b.waitFor("section_2 expanded", `!!document.querySelector('#graph svg g.group-box[data-group="section_2"]')`, 5*time.Second)
	if b.count(`#graph svg g.node[data-task="section_2.task_1"]`) != 1 || b.count(`#graph svg g.group-node[data-group="section_2.inner_section_2"]`) != 1 {
		t.Fatal("expanded section_2 does not show task_1 and the collapsed inner_section_2")
	}
	b.do("expand inner_section_2 with Enter",
		chromedp.Focus(chromedp.CSS(`#graph svg g.group-node[data-group="section_2.inner_section_2"]`)),
		chromedp.KeyEvent(kb.Enter))
	b.waitFor("inner_section_2 expanded", `document.querySelectorAll('#graph svg g.node[data-task^="section_2.inner_section_2."]').length===3`, 5*time.Second)
	b.do("expand all", chromedp.Click(chromedp.CSS("#graph-expand")))
	if n := b.count("#graph svg g.node"); n != 9 {
		t.Errorf("expanded: %d nodes, want the 9 tasks", n)
	}
	if n := b.count("#graph svg path.edge"); n < 8 {
		t.Errorf("expanded: %d edges", n)
	}
	// (Expanded nested groups are left out: dagre may route an edge that
	// enters a nested cluster across a node of that cluster.)
	shot := filepath.Join(shots, "graph-groups.png")
	b.screenshot("#graph", shot)
	b.do("collapse section_1 from its header with Enter",
		chromedp.Focus(chromedp.CSS(`#graph svg g.group-box[data-group="section_1"] g.group-head`)),
		chromedp.KeyEvent(kb.Enter))
	b.waitFor("section_1 collapsed", `!!document.querySelector('#graph svg g.group-node[data-group="section_1"]')`, 5*time.Second)

	t.Log("zoom, fit and pan")
	zoom := func() float64 {
		t.Helper()
		v, _ := b.eval(`+document.querySelector("#graph").getAttribute("data-zoom")`).(float64)
		return v
	}
	fitted := zoom()
	b.do("zoom in twice", chromedp.Click(chromedp.CSS("#graph-zoom-in")), chromedp.Click(chromedp.CSS("#graph-zoom-in")))
	if z := zoom(); z < fitted*1.5 || z > fitted*1.6 {
		t.Errorf("two zoom-ins took the zoom from %.3f to %.3f, want ×1.5625", fitted, z)
	}
	b.do("zoom out", chromedp.Click(chromedp.CSS("#graph-zoom-out")))
	if z := zoom(); z < fitted*1.2 || z > fitted*1.3 {
		t.Errorf("zoom out: %.3f, want ×1.25 of %.3f", z, fitted)
	}
	before := b.eval(`document.querySelector("#graph svg").getAttribute("viewBox")`)
	b.do("drag the background", chromedp.Evaluate[chromedp.Void](`(function(){
		var s=document.querySelector("#graph svg"),r=s.getBoundingClientRect(),x=r.left+5,y=r.top+5;
		s.dispatchEvent(new PointerEvent("pointerdown",{bubbles:true,clientX:x,clientY:y,button:0,pointerId:1}));
		s.dispatchEvent(new PointerEvent("pointermove",{bubbles:true,clientX:x+80,clientY:y+30,pointerId:1}));
		s.dispatchEvent(new PointerEvent("pointerup",{bubbles:true,clientX:x+80,clientY:y+30,pointerId:1}));
	})()`))
	if after := b.eval(`document.querySelector("#graph svg").getAttribute("viewBox")`); after == before {
		t.Errorf("dragging did not pan: viewBox still %v", after)
	}
	b.do("fit", chromedp.Click(chromedp.CSS("#graph-fit")))
	if z := zoom(); z < fitted*0.99 || z > fitted*1.01 {
		t.Errorf("fit: zoom %.3f, want the fitted %.3f", z, fitted)
	}
	// The whole drawing is inside the view after Fit.
	inside := `(function(){var s=document.querySelector("#graph svg").getBoundingClientRect(),ok=true;
		document.querySelectorAll("#graph svg g.node").forEach(function(n){var r=n.getBoundingClientRect();
		if(r.left<s.left-1||r.right>s.right+1||r.top<s.top-1||r.bottom>s.bottom+1)ok=false});return ok})()`
	if b.eval(inside) != true {
		t.Error("after Fit some nodes are outside the view")
	}

	t.Log("a task node opens from the keyboard")
	if b.count(`#graph svg g.node[data-task="start"][tabindex="0"][role="link"]`) != 1 {
		t.Error("the start node is not a focusable link")
	}
	b.do("open start with Enter", chromedp.Evaluate[chromedp.Void](`(function(){var n=document.querySelector('#graph svg g.node[data-task="start"]');n.focus();
		n.dispatchEvent(new KeyboardEvent("keydown",{key:"Enter",bubbles:true}))})()`))
	b.waitFor("start's page", `location.pathname.endsWith("/tasks/start")&&!!document.querySelector("h2.ti-title")`, 30*time.Second)
	keepInDocs(t, shot, "screenshot-graph.png")
}

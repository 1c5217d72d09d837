// Graph view: lays the DAG out left to right with dagre (vendored) and
// draws it as SVG; nodes take the state colours of the chosen run (CSS
// classes from states.css) and are refreshed while the run is going.
// Task groups are drawn as boxes that collapse into one node (collapsed
// at first, as in Airflow); the drawing zooms (buttons, Ctrl+wheel), pans
// (drag) and fits the box. Nodes are links: focusable, Enter opens them.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var box = document.getElementById("graph");
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  if (!box || !data) return;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Text widths from a canvas, so dagre sizes every node to its label.
  var ctx = document.createElement("canvas").getContext("2d");
  function width(text, font) { ctx.font = font; return ctx.measureText(text).width; }
  var labelFont = "12.5px system-ui,sans-serif", opFont = "10.5px system-ui,sans-serif", edgeFont = "11px system-ui,sans-serif";

  // A mapped task's label carries its map index count: "add_one [3]"
  // ("add_one [ ]" until it is expanded), as Airflow's graph does.
  // A task with a task_display_name is drawn under that name.
  function label(id, mapped, count) {
    if (byID[id] && byID[id].name) id = byID[id].name;
    if (count) return id + " [" + count + "]";
    return mapped ? id + " [ ]" : id;
  }
  // Setup and teardown tasks carry Airflow's arrows under their id.
  function opLine(n) {
    if (n.setup) return "\u2191 setup \u00b7 " + n.operator;
    if (n.teardown) return "\u2193 teardown \u00b7 " + n.operator;
    return n.operator;
  }

  var byID = {};
  data.nodes.forEach(function (n) { byID[n.id] = n; });
  var edgeLabels = {};
  (data.edge_labels || []).forEach(function (e) { edgeLabels[e[0] + "\n" + e[1]] = e[2]; });

  // Groups: every prefix of a task's group path ("a", "a.b" for "a.b").
  var groups = {}; // id -> {id, parent, tasks: [ids]}
  data.nodes.forEach(function (n) {
    if (!n.group) return;
    var parts = n.group.split("."), path = "";
    parts.forEach(function (p, i) {
      var parent = path;
      path = path ? path + "." + p : p;
      if (!groups[path]) groups[path] = { id: path, parent: parent, tasks: [] };
      groups[path].tasks.push(n.id);
    });
  });
  var collapsed = {};
  Object.keys(groups).forEach(function (g) { collapsed[g] = true; });

  // shownAs is the node a task is drawn as: itself, or its outermost
  // collapsed group.
  function shownAs(id) {
    var n = byID[id];
    if (!n || !n.group) return id;
    var parts = n.group.split("."), path = "";
    for (var i = 0; i < parts.length; i++) {
      path = path ? path + "." + parts[i] : parts[i];
      if (collapsed[path]) return "group:" + path;
    }
    return id;
  }
  // A group's state is its tasks' most telling one (Airflow's priority).
  var priority = ["failed", "upstream_failed", "up_for_retry", "up_for_reschedule", "running", "restarting", "deferred",
    "queued", "scheduled", "success", "skipped", "removed", "none"];
  function groupState(g, states) {
    var best = priority.length - 1;
    groups[g].tasks.forEach(function (id) {
      var i = priority.indexOf(states[id] || "none");
      if (i >= 0 && i < best) best = i;
    });
    return priority[best];
  }
  var current = {}; // task id -> state
  data.nodes.forEach(function (n) { current[n.id] = n.state || "none"; });

  box.textContent = "";
  var tools = document.createElement("div");
  tools.className = "graph-tools";
  tools.setAttribute("role", "toolbar");
  tools.setAttribute("aria-label", "Graph view");
  function button(id, text, title, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.id = id; b.className = "button small"; b.textContent = text; b.title = title;
    b.addEventListener("click", onClick);
    tools.appendChild(b);
    return b;
  }
  var svg = el("svg", { role: "group", "aria-label": box.getAttribute("aria-label") || "DAG graph", "class": "graph-svg" });
  box.appendChild(tools);
  box.appendChild(svg);
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  var view = el("g", { "class": "viewport" }, svg);

  // The view: a viewBox over the drawing's bounds; zoom 1 is 1:1 pixels.
  var bounds = { x: 0, y: 0, w: 10, h: 10 }, vb = { x: 0, y: 0, w: 10, h: 10 };
  function boxSize() { return { w: Math.max(svg.clientWidth, 50), h: Math.max(svg.clientHeight, 50) }; }
  function apply() {
    svg.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h);
    var z = boxSize().w / vb.w;
    box.setAttribute("data-zoom", z.toFixed(3));
  }
  function fit() {
    var s = boxSize();
    var scale = Math.min(s.w / bounds.w, s.h / bounds.h, 1.5);
    vb.w = s.w / scale; vb.h = s.h / scale;
    vb.x = bounds.x + bounds.w / 2 - vb.w / 2; vb.y = bounds.y + bounds.h / 2 - vb.h / 2;
    apply();
  }
  function zoom(f, cx, cy) {
    var s = boxSize(), z = s.w / vb.w;
    var nz = Math.min(Math.max(z * f, 0.1), 4);
    if (cx === undefined) { cx = vb.x + vb.w / 2; cy = vb.y + vb.h / 2; }
    var nw = s.w / nz, nh = s.h / nz;
    vb.x = cx - (cx - vb.x) * nw / vb.w; vb.y = cy - (cy - vb.y) * nh / vb.h;
    vb.w = nw; vb.h = nh;
    apply();
  }
  button("graph-zoom-in", "+", "Zoom in", function () { zoom(1.25); });
  button("graph-zoom-out", "\u2212", "Zoom out", function () { zoom(0.8); });
  button("graph-fit", "Fit", "Fit the graph to the view", fit);
  if (Object.keys(groups).length) {
    button("graph-expand", "Expand all", "Expand every task group", function () { setAll(false); });
    button("graph-collapse", "Collapse all", "Collapse every task group", function () { setAll(true); });
  }
  function setAll(v) { Object.keys(groups).forEach(function (g) { collapsed[g] = v; }); draw(); fit(); }

  // Ctrl+wheel zooms around the pointer; dragging the background pans.
  svg.addEventListener("wheel", function (e) {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, vb.x + (e.clientX - r.left) * vb.w / r.width, vb.y + (e.clientY - r.top) * vb.h / r.height);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || e.target.closest(".node,.group-head")) return;
    drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y };
    svg.setPointerCapture(e.pointerId);
    svg.classList.add("panning");
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var r = svg.getBoundingClientRect();
    vb.x = drag.vx - (e.clientX - drag.x) * vb.w / r.width;
    vb.y = drag.vy - (e.clientY - drag.y) * vb.h / r.height;
    apply();
  });
  function endDrag() { drag = null; svg.classList.remove("panning"); }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  // Edges along dagre's points, which route them around the nodes: a
  // polyline with its bends rounded off (a radius that stays inside the
  // corner, so the edge never leaves dagre's route by more than that).
  function curve(pts) {
    var d = "M" + pts[0].x + "," + pts[0].y;
    for (var i = 1; i < pts.length - 1; i++) {
      var a = pts[i - 1], p = pts[i], c = pts[i + 1];
      var l1 = Math.hypot(p.x - a.x, p.y - a.y), l2 = Math.hypot(c.x - p.x, c.y - p.y);
      var r = Math.min(6, l1 / 2, l2 / 2);
      if (r < 0.5) { d += " L" + p.x + "," + p.y; continue; }
      d += " L" + (p.x - (p.x - a.x) * r / l1) + "," + (p.y - (p.y - a.y) * r / l1) +
        " Q" + p.x + "," + p.y + " " + (p.x + (c.x - p.x) * r / l2) + "," + (p.y + (c.y - p.y) * r / l2);
    }
    var last = pts[pts.length - 1];
    return d + " L" + last.x + "," + last.y;
  }

  var nodes = {}; // drawn node id -> {g, title, text, mapped, group}
  function openTask(id) {
    if (data.task_url) window.location.href = data.task_url.replace("{task}", encodeURIComponent(id));
  }
  function toggle(gid) { collapsed[gid] = !collapsed[gid]; draw(); fit(); }
  function activate(g, fn) {
    g.addEventListener("click", fn);
    g.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fn(); }
    });
  }

  function draw() {
    var g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 60, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(function () { return {}; });
    // Expanded groups are clusters; a collapsed one is a node.
    Object.keys(groups).forEach(function (gid) {
      for (var p = groups[gid].parent; p; p = groups[p].parent) {
        if (collapsed[p]) return; // inside a collapsed group
      }
      if (collapsed[gid]) {
        var name = gid.split(".").pop(), sub = groups[gid].tasks.length + " tasks";
        var w = Math.max(width(name, labelFont) + 26, width(sub, opFont));
        g.setNode("group:" + gid, { width: Math.ceil(w) + 24, height: 40, group: gid, label: name, sub: sub });
      } else {
        g.setNode("cluster:" + gid, { cluster: gid, label: gid.split(".").pop(), paddingTop: 26, paddingLeft: 10, paddingRight: 10, paddingBottom: 10 });
      }
      var parent = groups[gid].parent;
      if (parent && !collapsed[parent]) g.setParent(collapsed[gid] ? "group:" + gid : "cluster:" + gid, "cluster:" + parent);
    });
    data.nodes.forEach(function (n) {
      if (shownAs(n.id) !== n.id) return;
      var w = Math.max(width(label(n.id, n.mapped, n.map_count || 99999), labelFont), width(opLine(n), opFont));
      g.setNode(n.id, { width: Math.ceil(w) + 24, height: 40, node: n });
      if (n.group) g.setParent(n.id, "cluster:" + n.group);
    });
    var seen = {};
    (data.edges || []).forEach(function (e) {
      var v = shownAs(e[0]), w = shownAs(e[1]);
      if (v === w || seen[v + "\n" + w]) return;
      seen[v + "\n" + w] = true;
      var text = v === e[0] && w === e[1] ? edgeLabels[e[0] + "\n" + e[1]] : "";
      var attrs = { from: e[0], to: e[1] };
      if (text) { attrs.label = text; attrs.width = Math.ceil(width(text, edgeFont)) + 8; attrs.height = 16; attrs.labelpos = "c"; }
      g.setEdge(v, w, attrs);
    });
    dagre.layout(g);

    view.textContent = "";
    nodes = {};
    // The drawing's bounds: nodes, clusters and edge points alike.
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    function grow(x, y) { minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y); }
    g.nodes().forEach(function (id) { var n = g.node(id); grow(n.x - n.width / 2, n.y - n.height / 2); grow(n.x + n.width / 2, n.y + n.height / 2); });
    g.edges().forEach(function (e) { g.edge(e).points.forEach(function (p) { grow(p.x, p.y); }); });
    if (minX === Infinity) { minX = minY = 0; maxX = maxY = 10; }
    var pad = 12;
    bounds = { x: minX - pad, y: minY - pad, w: maxX - minX + 2 * pad, h: maxY - minY + 2 * pad };

    // Clusters first (outer before inner), behind everything.
    g.nodes().filter(function (id) { return g.node(id).cluster; })
      .sort(function (a, b) { return a.split(".").length - b.split(".").length; })
      .forEach(function (id) {
        var n = g.node(id), gid = n.cluster;
        var cg = el("g", { "class": "group-box", "data-group": gid, transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, view);
        el("rect", { width: n.width, height: n.height, rx: 6, ry: 6 }, cg);
        var head = el("g", { "class": "group-head", tabindex: 0, role: "button", "aria-expanded": "true", "aria-label": "Collapse group " + gid }, cg);
        el("rect", { x: 0, y: 0, width: n.width, height: 22, rx: 6, ry: 6, "class": "head" }, head);
        var t = el("text", { x: 8, y: 15 }, head); t.textContent = "\u25be " + n.label;
        activate(head, function () { toggle(gid); });
      });
    g.edges().forEach(function (e) {
      var ed = g.edge(e);
      // A setup's edge to its teardown is dashed, as in Airflow's graph.
      var st = byID[e.v] && byID[e.v].setup && byID[e.w] && byID[e.w].teardown;
      var attrs = { "class": "edge", d: curve(ed.points), "marker-end": "url(#arrow)", "data-from": e.v, "data-to": e.w };
      if (st) attrs["stroke-dasharray"] = "5,4";
      el("path", attrs, view);
    });
    // Edge labels on top of the edges, at the place dagre kept for them.
    g.edges().forEach(function (e) {
      var ed = g.edge(e);
      if (!ed.label) return;
      var lg = el("g", { "class": "edge-label", "data-from": e.v, "data-to": e.w,
        transform: "translate(" + (ed.x - ed.width / 2) + "," + (ed.y - ed.height / 2) + ")" }, view);
      el("rect", { width: ed.width, height: ed.height, rx: 3, ry: 3 }, lg);
      var lt = el("text", { x: ed.width / 2, y: 12, "text-anchor": "middle" }, lg);
      lt.textContent = ed.label;
    });
    g.nodes().forEach(function (id) {
      var n = g.node(id);
      if (n.cluster) return;
      var x = n.x - n.width / 2, y = n.y - n.height / 2;
      if (n.group) {
        var st = groupState(n.group, current);
        var gg = el("g", { "class": "node group-node s-" + st, "data-group": n.group, tabindex: 0, role: "button",
          "aria-expanded": "false", "aria-label": "Expand group " + n.group + " (" + n.sub + ", " + st + ")",
          transform: "translate(" + x + "," + y + ")" }, view);
        var gt = el("title", {}, gg); gt.textContent = n.group + " · " + n.sub + " · " + st;
        el("rect", { width: n.width, height: n.height, rx: 5, ry: 5 }, gg);
        el("rect", { x: 3, y: 3, width: n.width - 6, height: n.height - 6, rx: 4, ry: 4, "class": "inner" }, gg);
        var l = el("text", { x: 12, y: 17, "class": "label" }, gg); l.textContent = "\u25b8 " + n.label;
        var o = el("text", { x: 12, y: 32, "class": "op" }, gg); o.textContent = n.sub;
        activate(gg, function () { toggle(n.group); });
        nodes[id] = { g: gg, title: gt, group: n.group, sub: n.sub };
        return;
      }
      var task = n.node, s = current[id] || "none";
      var grp = el("g", { "class": "node s-" + s, "data-task": id, tabindex: 0, role: "link", transform: "translate(" + x + "," + y + ")" }, view);
      // The node's accessible name is its <title> (SVG's name source, kept
      // current by paint): the task id and its state, no aria-label that
      // could drift from the visible text.
      var title = el("title", {}, grp);
      title.textContent = label(id) + " · " + (task.title || s);
      el("rect", { width: n.width, height: n.height, rx: 5, ry: 5 }, grp);
      var t = el("text", { x: 12, y: 17, "class": "label" }, grp); t.textContent = label(id, task.mapped, task.map_count);
      var o = el("text", { x: 12, y: 32, "class": "op" }, grp); o.textContent = opLine(task);
      activate(grp, function () { openTask(id); });
      nodes[id] = { g: grp, title: title, text: t, mapped: task.mapped };
    });
    box.setAttribute("data-ready", "true");
  }

  draw();
  fit();
  window.addEventListener("resize", fit);

  function paint(st) {
    var states = st.states || {}, counts = st.counts || {}, titles = st.titles || {};
    data.nodes.forEach(function (n) { current[n.id] = states[n.id] || "none"; });
    Object.keys(nodes).forEach(function (id) {
      var d = nodes[id];
      if (d.group) {
        var gs = groupState(d.group, current);
        d.g.setAttribute("class", "node group-node s-" + gs);
        d.title.textContent = d.group + " · " + d.sub + " · " + gs;
        return;
      }
      var s = current[id];
      d.g.setAttribute("class", "node s-" + s);
      d.title.textContent = label(id) + " · " + (titles[id] || s);
      d.text.textContent = label(id, d.mapped, counts[id]);
    });
  }
  function poll() {
    fetch(data.states_url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (st) { paint(st); if (st.live) setTimeout(poll, 2000); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (data.live && data.states_url) setTimeout(poll, 2000);
})();

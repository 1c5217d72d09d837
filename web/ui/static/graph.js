// Graph view: lays the DAG out left to right with dagre (vendored) and
// draws it as SVG; nodes take the state colours of the chosen run (CSS
// classes from states.css) and are refreshed while the run is going.
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

  var g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 60 });
  g.setDefaultEdgeLabel(function () { return {}; });
  // A mapped task's label carries its map index count: "add_one [3]"
  // ("add_one [ ]" until it is expanded), as Airflow's graph does.
  function label(id, mapped, count) {
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
  data.nodes.forEach(function (n) {
    var w = Math.max(width(label(n.id, n.mapped, n.map_count || 99999), "12.5px system-ui,sans-serif"), width(opLine(n), "10.5px system-ui,sans-serif"));
    g.setNode(n.id, { width: Math.ceil(w) + 24, height: 40, node: n });
  });
  // Labelled edges (Label("...")) get room for their text in the layout.
  var edgeLabels = {};
  (data.edge_labels || []).forEach(function (e) { edgeLabels[e[0] + "\n" + e[1]] = e[2]; });
  var labelFont = "11px system-ui,sans-serif";
  (data.edges || []).forEach(function (e) {
    var text = edgeLabels[e[0] + "\n" + e[1]];
    if (text) g.setEdge(e[0], e[1], { label: text, width: Math.ceil(width(text, labelFont)) + 8, height: 16, labelpos: "c" });
    else g.setEdge(e[0], e[1]);
  });
  dagre.layout(g);

  // The drawing's bounds: dagre's graph size leaves out edge bends that
  // stick out, so measure nodes and edge points alike.
  var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  function grow(x, y) { minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y); }
  g.nodes().forEach(function (id) { var n = g.node(id); grow(n.x - n.width / 2, n.y - n.height / 2); grow(n.x + n.width / 2, n.y + n.height / 2); });
  g.edges().forEach(function (e) { g.edge(e).points.forEach(function (p) { grow(p.x, p.y); }); });
  if (minX === Infinity) { minX = minY = 0; maxX = maxY = 10; }
  var pad = 12, w = maxX - minX + 2 * pad, h = maxY - minY + 2 * pad;
  box.textContent = "";
  var svg = el("svg", { width: w, height: h, viewBox: (minX - pad) + " " + (minY - pad) + " " + w + " " + h, role: "img", "aria-label": box.getAttribute("aria-label") || "DAG graph" }, box);
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);

  // Edges through dagre's points, smoothed: a quadratic curve through the
  // midpoints between bends.
  function curve(pts) {
    var d = "M" + pts[0].x + "," + pts[0].y;
    if (pts.length === 2) return d + " L" + pts[1].x + "," + pts[1].y;
    for (var i = 1; i < pts.length - 1; i++) {
      var mx = (pts[i].x + pts[i + 1].x) / 2, my = (pts[i].y + pts[i + 1].y) / 2;
      if (i === pts.length - 2) { mx = pts[i + 1].x; my = pts[i + 1].y; }
      d += " Q" + pts[i].x + "," + pts[i].y + " " + mx + "," + my;
    }
    return d;
  }
  g.edges().forEach(function (e) {
    // A setup's edge to its teardown is dashed, as in Airflow's graph.
    var st = byID[e.v] && byID[e.v].setup && byID[e.w] && byID[e.w].teardown;
    var attrs = { "class": "edge", d: curve(g.edge(e).points), "marker-end": "url(#arrow)", "data-from": e.v, "data-to": e.w };
    if (st) attrs["stroke-dasharray"] = "5,4";
    el("path", attrs, svg);
  });
  // Edge labels on top of the edges, at the place dagre kept for them.
  g.edges().forEach(function (e) {
    var ed = g.edge(e);
    if (!ed.label) return;
    var lg = el("g", { "class": "edge-label", "data-from": e.v, "data-to": e.w,
      transform: "translate(" + (ed.x - ed.width / 2) + "," + (ed.y - ed.height / 2) + ")" }, svg);
    el("rect", { width: ed.width, height: ed.height, rx: 3, ry: 3 }, lg);
    var lt = el("text", { x: ed.width / 2, y: 12, "text-anchor": "middle" }, lg);
    lt.textContent = ed.label;
  });

  var nodes = {};
  g.nodes().forEach(function (id) {
    var n = g.node(id);
    var grp = el("g", { "class": "node s-" + (n.node.state || "none"), "data-task": id,
      transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, svg);
    var title = el("title", {}, grp);
    title.textContent = id + " · " + (n.node.title || n.node.state || "none");
    el("rect", { width: n.width, height: n.height, rx: 5, ry: 5 }, grp);
    var t = el("text", { x: 12, y: 17, "class": "label" }, grp); t.textContent = label(id, n.node.mapped, n.node.map_count);
    var o = el("text", { x: 12, y: 32, "class": "op" }, grp); o.textContent = opLine(n.node);
    if (data.task_url) {
      grp.addEventListener("click", function () {
        window.location.href = data.task_url.replace("{task}", encodeURIComponent(id));
      });
    }
    nodes[id] = { g: grp, title: title, text: t, mapped: n.node.mapped };
  });
  box.setAttribute("data-ready", "true");

  function paint(st) {
    var states = st.states || {}, counts = st.counts || {}, titles = st.titles || {};
    Object.keys(nodes).forEach(function (id) {
      var s = states[id] || "none";
      nodes[id].g.setAttribute("class", "node s-" + s);
      nodes[id].title.textContent = id + " · " + (titles[id] || s);
      nodes[id].text.textContent = label(id, nodes[id].mapped, counts[id]);
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

// DAG dependencies: lays the DAGs and datasets out left to right with
// dagre and draws them as SVG. Nodes are links (keyboard-reachable) to
// the DAG's grid or the dataset's page; edges are solid for datasets,
// dashed for trigger_dag and dotted for external task sensors.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var box = document.getElementById("deps-graph");
  var src = document.getElementById("deps-data");
  if (!box || !src || !window.dagre) return;
  var data = JSON.parse(src.textContent);

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  var ctx = document.createElement("canvas").getContext("2d");
  ctx.font = "12.5px system-ui,sans-serif";

  var g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 16, ranksep: 70 });
  g.setDefaultEdgeLabel(function () { return {}; });
  var byID = {};
  data.nodes.forEach(function (n) {
    byID[n.id] = n;
    g.setNode(n.id, { width: Math.ceil(ctx.measureText(n.label).width) + 28, height: 30, node: n });
  });
  data.edges.forEach(function (e, i) { g.setEdge(e.from, e.to, { edge: e }, "e" + i); });
  dagre.layout(g);

  var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  function grow(x, y) { minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y); }
  g.nodes().forEach(function (id) { var n = g.node(id); grow(n.x - n.width / 2, n.y - n.height / 2); grow(n.x + n.width / 2, n.y + n.height / 2); });
  g.edges().forEach(function (e) { g.edge(e).points.forEach(function (p) { grow(p.x, p.y); }); });
  var pad = 12, w = maxX - minX + 2 * pad, h = maxY - minY + 2 * pad;
  box.textContent = "";
  var svg = el("svg", { width: w, height: h, viewBox: (minX - pad) + " " + (minY - pad) + " " + w + " " + h,
    role: "group", "aria-label": box.getAttribute("aria-label") }, box);
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "deps-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);

  function curve(pts) {
    var d = "M" + pts[0].x + "," + pts[0].y;
    for (var i = 1; i < pts.length; i++) d += " L" + pts[i].x + "," + pts[i].y;
    return d;
  }
  g.edges().forEach(function (e) {
    var ed = g.edge(e);
    var p = el("path", { "class": "edge dep-" + ed.edge.kind, d: curve(ed.points), "marker-end": "url(#deps-arrow)",
      "data-from": e.v, "data-to": e.w, "data-kind": ed.edge.kind }, svg);
    var t = el("title", {}, p);
    t.textContent = byID[e.v].label + " → " + byID[e.w].label + " (" + ed.edge.kind + (ed.edge.via ? ", task " + ed.edge.via : "") + ")";
  });
  g.nodes().forEach(function (id) {
    var n = g.node(id);
    var a = el("a", { href: n.node.url, "class": "node dep-" + n.node.kind, "data-id": id,
      "aria-label": n.node.kind + " " + n.node.label,
      transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, svg);
    el("rect", { width: n.width, height: n.height, rx: n.node.kind === "dataset" ? 14 : 5, ry: n.node.kind === "dataset" ? 14 : 5 }, a);
    var t = el("text", { x: 14, y: 19 }, a);
    t.textContent = n.node.label;
  });
  box.setAttribute("data-ready", "true");
})();

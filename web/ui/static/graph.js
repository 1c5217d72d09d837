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
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(function () { return {}; });
  data.nodes.forEach(function (n) {
    var w = Math.max(width(n.id, "12.5px system-ui,sans-serif"), width(n.operator, "10.5px system-ui,sans-serif"));
    g.setNode(n.id, { width: Math.ceil(w) + 24, height: 40, node: n });
  });
  (data.edges || []).forEach(function (e) { g.setEdge(e[0], e[1]); });
  dagre.layout(g);

  var size = g.graph();
  box.textContent = "";
  var svg = el("svg", { width: size.width, height: size.height, viewBox: "0 0 " + size.width + " " + size.height, role: "img" }, box);
  var defs = el("defs", {}, svg);
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);

  g.edges().forEach(function (e) {
    var pts = g.edge(e).points;
    var d = "M" + pts[0].x + "," + pts[0].y;
    for (var i = 1; i < pts.length; i++) d += " L" + pts[i].x + "," + pts[i].y;
    el("path", { "class": "edge", d: d, "marker-end": "url(#arrow)", "data-from": e.v, "data-to": e.w }, svg);
  });

  var nodes = {};
  g.nodes().forEach(function (id) {
    var n = g.node(id);
    var grp = el("g", { "class": "node s-" + (n.node.state || "none"), "data-task": id,
      transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, svg);
    var title = el("title", {}, grp);
    title.textContent = id + " · " + (n.node.state || "none");
    el("rect", { width: n.width, height: n.height, rx: 5, ry: 5 }, grp);
    var t = el("text", { x: 12, y: 17 }, grp); t.textContent = id;
    var o = el("text", { x: 12, y: 32, "class": "op" }, grp); o.textContent = n.node.operator;
    if (data.task_url) {
      grp.addEventListener("click", function () {
        window.location.href = data.task_url.replace("{task}", encodeURIComponent(id));
      });
    }
    nodes[id] = { g: grp, title: title };
  });
  box.setAttribute("data-ready", "true");

  function paint(states) {
    Object.keys(nodes).forEach(function (id) {
      var s = states[id] || "none";
      nodes[id].g.setAttribute("class", "node s-" + s);
      nodes[id].title.textContent = id + " · " + s;
    });
  }
  function poll() {
    fetch(data.states_url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (st) { paint(st.states || {}); if (st.live) setTimeout(poll, 2000); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (data.live && data.states_url) setTimeout(poll, 2000);
})();

// Starflow time views: draws the Gantt chart, the duration charts and the
// landing times with Chart.js from the JSON the page inlines
// (#gantt-data; #durations-data, by column: runs.label[i] is the i-th
// run's, tasks[j].durations[i] its task j's). Colours follow the theme's CSS
// variables and are redrawn when the theme changes.
(function () {
  "use strict";
  if (!window.Chart) return;
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function themeColors() {
    Chart.defaults.color = css("--muted");
    Chart.defaults.borderColor = css("--border-soft");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  }
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  // fmtSeconds formats seconds as 1h2m, 3m4s, 5.2s.
  function fmtSeconds(s) {
    if (s === null || s === undefined) return "—";
    var neg = s < 0; s = Math.abs(s);
    var out;
    if (s < 60) out = (Math.round(s * 10) / 10) + "s";
    else if (s < 3600) out = Math.floor(s / 60) + "m" + Math.round(s % 60) + "s";
    else out = Math.floor(s / 3600) + "h" + Math.round((s % 3600) / 60) + "m";
    return neg ? "-" + out : out;
  }
  // A palette for one line per task, readable in both themes.
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function gantt() {
    var d = data("gantt-data");
    var canvas = document.getElementById("gantt-chart");
    if (!d || !canvas || !d.bars.length) return;
    var origin = Infinity;
    d.bars.forEach(function (b) {
      [b.queued, b.start].forEach(function (t) { if (t && t < origin) origin = t; });
    });
    function sec(t) { return (t - origin) / 1000; }
    var queued = [], running = [], colors = [];
    d.bars.forEach(function (b) {
      var start = b.start || d.now;
      queued.push(b.queued ? [sec(b.queued), sec(Math.max(b.queued, start))] : null);
      running.push(b.start ? [sec(b.start), sec(b.end || d.now)] : null);
      colors.push(d.colors[b.state] || css("--faint"));
    });
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: d.bars.map(function (b) { return b.label + (b.try > 1 ? " (try " + b.try + ")" : ""); }),
        datasets: [
          { label: "queued", data: queued, backgroundColor: colors.map(function (c) { return c + "55"; }), borderColor: colors, borderWidth: 1, grouped: false, barPercentage: 0.7 },
          { label: "running", data: running, backgroundColor: colors, borderColor: colors, borderWidth: 1, grouped: false, barPercentage: 0.7 }
        ]
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        scales: { x: { type: "linear", min: 0, title: { display: true, text: "seconds since the first task was queued" }, ticks: { callback: fmtSeconds } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (ctx) {
            var v = ctx.raw; if (!v) return "";
            return ctx.dataset.label + ": " + fmtSeconds(v[1] - v[0]) + " (from +" + fmtSeconds(v[0]) + ")";
          } } }
        },
        onClick: function (e, els) {
          if (els.length) window.location.href = d.bars[els[0].index].url;
        }
      }
    });
    canvas.setAttribute("data-ready", "true");
    charts.push(chart);
  }

  function lineChart(id, d, pick, title) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    var chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: d.runs.label,
        datasets: d.tasks.map(function (t, i) {
          var c = palette[i % palette.length];
          return { label: t.task_id, data: t[pick], borderColor: c, backgroundColor: c, spanGaps: true, tension: 0.2 };
        })
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { y: { title: { display: true, text: title }, ticks: { callback: fmtSeconds } } },
        plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + fmtSeconds(ctx.raw); } } } }
      }
    });
    canvas.setAttribute("data-ready", "true");
    charts.push(chart);
  }

  function durations() {
    var d = data("durations-data");
    if (!d) return;
    lineChart("task-durations-chart", d, "durations", "duration");
    lineChart("landing-chart", d, "landing", "after the data interval's end");
    var canvas = document.getElementById("run-durations-chart");
    if (!canvas) return;
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: d.runs.label,
        datasets: [{ label: "run duration", data: d.runs.duration,
          backgroundColor: d.runs.state.map(function (s) { return d.colors[s] || css("--faint"); }) }]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { y: { title: { display: true, text: "duration" }, ticks: { callback: fmtSeconds } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          title: function (items) { return d.runs.run_id[items[0].dataIndex]; },
          label: function (ctx) { return d.runs.state[ctx.dataIndex] + ": " + fmtSeconds(ctx.raw); } } } }
      }
    });
    canvas.setAttribute("data-ready", "true");
    charts.push(chart);
  }

  function draw() {
    themeColors();
    gantt();
    durations();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();

  // Follow theme changes (theme.js sets data-theme on <html>).
  new MutationObserver(function () {
    themeColors();
    charts.forEach(function (c) {
      Object.keys(c.options.scales || {}).forEach(function (k) {
        var s = c.options.scales[k];
        s.ticks = s.ticks || {}; s.ticks.color = Chart.defaults.color;
        s.grid = s.grid || {}; s.grid.color = Chart.defaults.borderColor;
        s.title = s.title || {}; s.title.color = Chart.defaults.color;
      });
      if (c.options.plugins && c.options.plugins.legend) {
        c.options.plugins.legend.labels = c.options.plugins.legend.labels || {};
        c.options.plugins.legend.labels.color = Chart.defaults.color;
      }
      c.update();
    });
  }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
})();

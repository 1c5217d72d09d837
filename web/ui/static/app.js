// Starflow UI glue: the CSRF header on every htmx request, selects that
// submit their form, and clicks on grid cells opening the details panel. Loaded on every page after htmx.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";
  document.addEventListener("htmx:configRequest", function (e) {
    if (token) e.detail.headers["X-CSRF-Token"] = token;
  });

  // A <select data-autosubmit> submits its form when changed (instead of
  // an inline onchange handler, which the Content-Security-Policy forbids).
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.form) t.form.submit();
  });

  // Grid: one listener for every cell. A cell's task is its row's
  // data-task, its run the data-run of the header cell in its column.
  var selected = null; // {task, run} of the open panel, kept across refreshes
  function mark(grid) {
    if (!selected || !grid) return;
    var row = grid.querySelector('tr[data-task="' + CSS.escape(selected.task) + '"]');
    var heads = grid.querySelectorAll("thead th.run");
    if (!row) return;
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute("data-run") === selected.run) {
        var cell = row.querySelectorAll("td.c")[i];
        if (cell) cell.classList.add("selected");
      }
    }
  }
  // Grid: a run's bar opens the run's details in the panel (its href,
  // the grid with ?run_id=, works without JavaScript and is kept in the
  // address bar so a reload shows the same run).
  document.addEventListener("click", function (e) {
    var bar = e.target.closest ? e.target.closest("table.grid th.run a.bar") : null;
    if (!bar || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    var grid = bar.closest("#grid"), head = bar.parentElement;
    if (!grid || !grid.getAttribute("data-run-details")) return;
    e.preventDefault();
    selected = null;
    grid.querySelectorAll("td.c.selected,th.run.selected").forEach(function (c) { c.classList.remove("selected"); });
    head.classList.add("selected");
    history.replaceState(null, "", bar.getAttribute("href"));
    htmx.ajax("GET", grid.getAttribute("data-run-details") + "?run_id=" + encodeURIComponent(head.getAttribute("data-run")),
      { target: "#details", swap: "innerHTML" });
  });
  // Keyboard: Enter or Space on a focused grid cell opens it as a click.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" && e.key !== " ") return;
    var cell = e.target.closest ? e.target.closest("table.grid td.c") : null;
    if (!cell) return;
    e.preventDefault();
    cell.click();
  });
  document.addEventListener("click", function (e) {
    var cell = e.target.closest ? e.target.closest("table.grid td.c") : null;
    if (!cell || cell.classList.contains("missing")) return;
    var grid = cell.closest("#grid");
    var row = cell.parentElement;
    var index = Array.prototype.indexOf.call(row.querySelectorAll("td.c"), cell);
    var head = grid.querySelectorAll("thead th.run")[index];
    if (!head) return;
    selected = { task: row.getAttribute("data-task"), run: head.getAttribute("data-run") };
    grid.querySelectorAll("td.c.selected,th.run.selected").forEach(function (c) { c.classList.remove("selected"); });
    cell.classList.add("selected");
    var url = grid.getAttribute("data-details") + "?run_id=" + encodeURIComponent(selected.run) +
      "&task_id=" + encodeURIComponent(selected.task);
    htmx.ajax("GET", url, { target: "#details", swap: "innerHTML" });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "grid") mark(e.detail.target);
    var grid = document.getElementById("grid");
    if (grid && e.detail.target === grid.parentNode) mark(grid);
  });
  // A refreshed grid replaces #grid itself (outerHTML): mark the cell again.
  document.addEventListener("htmx:load", function (e) {
    if (e.detail.elt && e.detail.elt.id === "grid") mark(e.detail.elt);
  });
})();

// Delete forms (form[data-confirm]) ask first. Without JavaScript the
// server answers the unconfirmed POST with a confirmation page instead.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || !f.matches || !f.matches("form[data-confirm]")) return;
    if (!window.confirm(f.getAttribute("data-confirm"))) {
      e.preventDefault();
      return;
    }
    if (!f.querySelector('input[name="confirm"]')) {
      var c = document.createElement("input");
      c.type = "hidden";
      c.name = "confirm";
      c.value = "1";
      f.appendChild(c);
    }
  });
})();

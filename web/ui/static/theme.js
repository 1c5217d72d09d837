// Starflow theme and menu: loaded in <head> on every page (the login page
// too) so the theme is set before the page is drawn. The theme is the one
// stored in localStorage ("starflow-theme": "light" or "dark") or else the
// system's (prefers-color-scheme), followed live while nothing is stored.
// The header's theme button stores the other theme; its menu button shows
// the navigation on narrow screens.
(function () {
  "use strict";
  var KEY = "starflow-theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function current() {
    var s = stored();
    if (s === "dark" || s === "light") return s;
    return media && media.matches ? "dark" : "light";
  }
  function label() {
    var b = document.getElementById("theme-toggle");
    if (!b) return;
    var dark = root.getAttribute("data-theme") === "dark";
    b.setAttribute("aria-pressed", dark ? "true" : "false");
    b.setAttribute("title", dark ? "Switch to the light theme" : "Switch to the dark theme");
    b.textContent = dark ? "☀ Light" : "☾ Dark";
  }
  function apply() {
    root.setAttribute("data-theme", current());
    label();
  }
  apply();
  if (media && media.addEventListener) media.addEventListener("change", apply);

  document.addEventListener("DOMContentLoaded", label);
  document.addEventListener("click", function (e) {
    var t = e.target && e.target.closest ? e.target : null;
    if (!t) return;
    if (t.closest("#theme-toggle")) {
      var next = current() === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, next); } catch (err) { /* private mode: this page only */ }
      root.setAttribute("data-theme", next);
      label();
      return;
    }
    var menu = t.closest("#menu-button");
    if (menu) {
      var header = menu.closest("header");
      var open = header.classList.toggle("open");
      menu.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });
})();

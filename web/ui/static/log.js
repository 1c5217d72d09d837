// Task log view: follow (keep the newest lines in view while the try
// runs), line wrapping, and the jump to the first error for lines that
// arrive while the page is open.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log) return;
  var follow = document.getElementById("log-follow");
  var wrap = document.getElementById("log-wrap");
  var jump = document.getElementById("jump-error");

  function toBottom() { log.scrollTop = log.scrollHeight; }
  if (wrap) {
    wrap.addEventListener("change", function () { log.classList.toggle("nowrap", !wrap.checked); });
  }
  if (follow) {
    follow.addEventListener("change", function () { if (follow.checked) toBottom(); });
    // Scrolling up to read stops following; back at the bottom, it resumes.
    log.addEventListener("wheel", function (e) { if (e.deltaY < 0 && follow.checked) follow.checked = false; });
    if (follow.checked && !location.hash) toBottom();
  }
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target !== log) return;
    // Only the first error line keeps the anchor.
    var marks = log.querySelectorAll("#first-error");
    for (var i = 1; i < marks.length; i++) marks[i].remove();
    if (jump && marks.length && jump.hidden) {
      var line = marks[0].parentElement;
      jump.hidden = false;
      jump.textContent = "Jump to first error (line " + line.getAttribute("data-n") + ")";
    }
    if (follow && follow.checked) toBottom();
  });
  // The poller is gone once the try has finished: nothing left to follow.
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (follow && !document.getElementById("log-poller")) follow.disabled = true;
  });
})();

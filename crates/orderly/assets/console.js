// Progressive enhancement for the Orderly console. Every page works without this file;
// it only adds keyboard shortcuts and conveniences.
(function () {
  "use strict";
  // "/" focuses the search box, as in most tools people already know.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing) return;
    var q = document.getElementById("q");
    if (q) { e.preventDefault(); q.focus(); q.select(); }
  });
  // A scan field keeps the focus after each scan, so a barcode scanner's keystrokes
  // (ending in Enter) always land in it.
  var scan = document.querySelector("[data-scan-field]");
  if (scan) { scan.focus(); }
  // Print buttons.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function (e) { e.preventDefault(); window.print(); });
  });
  // Forms that ask for confirmation first (a cancellation, a refund).
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
})();

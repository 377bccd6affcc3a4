// Import and export pages: behaviours attached by data attributes (no inline handlers).
(function () {
  "use strict";

  // <form data-submit-once>: disable its submit buttons once sent (big uploads take a moment).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-submit-once]");
    if (!form || event.defaultPrevented) {
      return;
    }
    window.setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  });

  // The progress bar's width comes from data-width (the CSP forbids inline style attributes).
  function sizeBars(root) {
    root.querySelectorAll(".progress-bar[data-width]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
  document.addEventListener("htmx:afterSwap", function () { sizeBars(document); });
})();

// Small behaviours attached by data attributes; no inline handlers (the CSP forbids them).
(function () {
  "use strict";

  // <form data-autosubmit> submits when one of its fields changes (filter bars).
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form) {
      if (window.htmx && form.hasAttribute("hx-get")) {
        window.htmx.trigger(form, "submit");
      } else {
        form.requestSubmit();
      }
    }
  });

  // <button data-confirm="Question?"> asks before submitting its form.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // <input type="checkbox" data-select-all="NAME"> ticks every checkbox named NAME in its table.
  document.addEventListener("change", function (event) {
    var master = event.target.closest("[data-select-all]");
    if (!master) {
      return;
    }
    var scope = master.closest("table") || document;
    var name = master.getAttribute("data-select-all");
    scope.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = master.checked;
    });
  });

  // htmx: show server errors instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (box) {
      box.classList.remove("d-none");
    }
  });
})();

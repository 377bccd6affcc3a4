// The segment rule builder: small behaviours on top of htmx (no inline handlers: the CSP).
(function () {
  "use strict";

  // htmx copies "style" from old to new elements of the same id when it settles, which the CSP
  // (style-src 'self') blocks and reports; the builder uses no inline styles, so don't.
  if (window.htmx) {
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
  }

  // The rules only apply to rule-based segments: hide them while "Static list" is chosen.
  function syncKind() {
    var section = document.querySelector("[data-rules-section]");
    var checked = document.querySelector('input[name="kind"]:checked');
    if (section && checked && !checked.disabled) {
      section.hidden = checked.value === "static";
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches('input[name="kind"]')) {
      syncKind();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncKind();
    var builder = document.getElementById("rule-builder");
    if (builder) {
      builder.setAttribute("data-builder-ready", "");
    }
  });

  // After "Add rule" / "Add group", move the focus to the new row's field.
  var added = null;
  function isBuilder(event) {
    return event.detail.target && event.detail.target.id === "rule-builder";
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isBuilder(event)) {  // other requests (the preview) leave it alone
      var button = event.detail.elt;
      added = button && button.hasAttribute("data-builder-add") ? button.value : null;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!isBuilder(event)) {
      return;
    }
    // New rows answer htmx only from now on (htmx wires them when they settle).
    var builder = document.getElementById("rule-builder");
    if (builder) {
      builder.setAttribute("data-builder-ready", "");
    }
    // The rows changed: refresh the preview from the new rows.
    var preview = document.getElementById("segment-preview");
    if (preview && window.htmx) {
      window.htmx.trigger(preview, "segments:changed");
    }
    if (!added) {
      return;
    }
    var path = added.split(":")[1];
    added = null;
    var group = builder && builder.querySelector('[data-group-path="' + path + '"]');
    var fields = group ? group.querySelectorAll("[data-rule-field]") : [];
    if (fields.length) {
      fields[fields.length - 1].focus();
    }
  });
})();

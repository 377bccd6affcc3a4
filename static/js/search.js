// Global search in the navbar: Ctrl/Cmd-K focuses the box, the arrow keys move through the
// dropdown (htmx fills it), Escape or a click elsewhere closes it. No inline handlers (CSP).
(function () {
  "use strict";

  function box() {
    return document.querySelector("[data-global-search]");
  }

  function parts() {
    var form = box();
    if (!form) {
      return null;
    }
    return {
      form: form,
      input: form.querySelector('input[name="q"]'),
      menu: document.getElementById("global-search-dropdown"),
    };
  }

  function items(p) {
    return Array.prototype.slice.call(p.menu.querySelectorAll("[data-search-item]"));
  }

  function isOpen(p) {
    return !p.menu.classList.contains("d-none") && p.menu.children.length > 0;
  }

  function open(p) {
    p.menu.classList.remove("d-none");
    p.input.setAttribute("aria-expanded", isOpen(p) ? "true" : "false");
  }

  function close(p) {
    p.menu.classList.add("d-none");
    p.input.setAttribute("aria-expanded", "false");
  }

  function focusBox(p) {
    // On a narrow screen the box sits in the collapsed menu: open the menu first.
    var collapse = p.form.closest(".navbar-collapse");
    if (collapse && !collapse.classList.contains("show") && p.input.offsetParent === null &&
        window.bootstrap) {
      window.bootstrap.Collapse.getOrCreateInstance(collapse, { toggle: false }).show();
      collapse.addEventListener("shown.bs.collapse", function () {
        p.input.focus();
        p.input.select();
      }, { once: true });
      return;
    }
    p.input.focus();
    p.input.select();
  }

  document.addEventListener("keydown", function (event) {
    var p = parts();
    if (!p) {
      return;
    }
    var key = event.key;
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (key === "k" || key === "K")) {
      event.preventDefault();
      focusBox(p);
      open(p);
      return;
    }
    if (!p.form.contains(event.target)) {
      return;
    }
    if (key === "Escape") {
      if (isOpen(p)) {
        event.preventDefault();
        close(p);
      }
      p.input.focus();
      return;
    }
    if (key !== "ArrowDown" && key !== "ArrowUp") {
      return;
    }
    var list = items(p);
    if (!list.length) {
      return;
    }
    event.preventDefault();
    open(p);
    var index = list.indexOf(document.activeElement);
    if (key === "ArrowDown") {
      index = index < list.length - 1 ? index + 1 : 0;
      list[index].focus();
    } else if (index <= 0) {
      p.input.focus();
    } else {
      list[index - 1].focus();
    }
  });

  // htmx filled the dropdown: show it (it may have been closed with Escape).
  document.addEventListener("htmx:afterSwap", function (event) {
    var p = parts();
    if (p && event.target === p.menu) {
      open(p);
    }
  });

  // Back in the box: show the last results again.
  document.addEventListener("focusin", function (event) {
    var p = parts();
    if (p && event.target === p.input && p.input.value.trim().length >= 2) {
      open(p);
    }
  });

  // A click outside the search box closes the dropdown.
  document.addEventListener("click", function (event) {
    var p = parts();
    if (p && !p.form.contains(event.target)) {
      close(p);
    }
  });
})();

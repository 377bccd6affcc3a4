// Autocomplete for <select data-autocomplete-url>: the server renders only the chosen option(s);
// this turns the select into a combobox (input + listbox, ARIA 1.2 pattern). Arrow keys move,
// Enter picks, Escape closes. The select stays in the form (hidden) and carries the value.
(function () {
  "use strict";

  var counter = 0;

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  function labelFor(select) {
    return select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
  }

  function enhance(select) {
    if (select.dataset.autocompleteReady) {
      return;
    }
    select.dataset.autocompleteReady = "1";
    var multiple = select.multiple;
    var id = "ac-" + (++counter);
    var wrap = document.createElement("div");
    wrap.className = "autocomplete position-relative";
    var chips = document.createElement("div");
    chips.className = "autocomplete-chips d-flex flex-wrap gap-1";
    var input = document.createElement("input");
    input.type = "text";
    input.className = select.classList.contains("form-select-sm")
      ? "form-control form-control-sm" : "form-control";
    input.id = id + "-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    input.setAttribute("autocomplete", "off");
    input.placeholder = select.dataset.placeholder || "";
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "autocomplete-list list-group position-absolute w-100 shadow-sm z-3 d-none";
    list.setAttribute("role", "listbox");
    var label = labelFor(select);
    if (label) {
      label.setAttribute("for", input.id);
      label.id = label.id || id + "-label";
      list.setAttribute("aria-labelledby", label.id);
    }
    select.classList.add("d-none");
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(select);
    if (multiple) {
      wrap.appendChild(chips);
    }
    wrap.appendChild(input);
    wrap.appendChild(list);

    var active = -1;
    var results = [];

    function chosen() {
      return Array.prototype.filter.call(select.options, function (o) {
        return o.selected && o.value;
      });
    }

    function renderChosen() {
      if (!multiple) {
        var current = chosen()[0];
        input.value = current ? current.textContent : "";
        return;
      }
      chips.textContent = "";
      chosen().forEach(function (option) {
        var chip = document.createElement("span");
        chip.className = "badge text-bg-light border d-inline-flex align-items-center gap-1";
        chip.textContent = option.textContent;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-close btn-close-sm";
        remove.setAttribute("aria-label", (select.dataset.removeLabel || "Remove") + " " + option.textContent);
        remove.addEventListener("click", function () {
          option.remove();
          renderChosen();
          select.dispatchEvent(new Event("change", { bubbles: true }));
          input.focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function close() {
      list.classList.add("d-none");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      if (!items.length) {
        return;
      }
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        var on = i === active;
        item.classList.toggle("active", on);
        item.setAttribute("aria-selected", on ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(index) {
      var result = results[index];
      if (!result) {
        return;
      }
      var existing = Array.prototype.find.call(select.options, function (o) {
        return o.value === result.id;
      });
      if (!multiple) {
        Array.prototype.forEach.call(select.options, function (o) { o.selected = false; });
      }
      if (!existing) {
        existing = new Option(result.text, result.id, true, true);
        select.appendChild(existing);
      }
      existing.selected = true;
      renderChosen();
      if (multiple) {
        input.value = "";
      }
      close();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(data) {
      results = data.results || [];
      list.textContent = "";
      if (!results.length) {
        var empty = document.createElement("li");
        empty.className = "list-group-item small text-body-secondary";
        empty.textContent = select.dataset.emptyText || "—";
        list.appendChild(empty);
      }
      results.forEach(function (result, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = result.text;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
          pick(i);
        });
        list.appendChild(item);
      });
      list.classList.remove("d-none");
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    var search = debounce(function () {
      var url = select.dataset.autocompleteUrl;
      url += (url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(input.value.trim());
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(show)
        .catch(function () { close(); });
    }, 200);

    input.addEventListener("input", function () {
      if (!multiple && !input.value.trim() && !select.required) {
        Array.prototype.forEach.call(select.options, function (o) { o.selected = !o.value; });
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      search();
    });
    input.addEventListener("focus", function () {
      if (multiple || !input.value) {
        search();
      }
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.classList.contains("d-none");
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { search(); return; }
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) { highlight(active - 1); }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          pick(active);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
          renderChosen();
        }
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () {
        close();
        if (!multiple) { renderChosen(); }
      }, 100);
    });
    renderChosen();
  }

  function init(root) {
    root.querySelectorAll("select[data-autocomplete-url]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
